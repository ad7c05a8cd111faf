import pytest

from core import refcache
from core.geo import coordinates_for_postal_code
from tests.factories import LocationFactory, ShippingMethodFactory

# Real places: three warehouses, from near New York to far from it.
NEWARK = {"postal_code": "07102", "city": "Newark", "region": "NJ"}
DALLAS = {"postal_code": "75201", "city": "Dallas", "region": "TX"}
RENO = {"postal_code": "89502", "city": "Reno", "region": "NV"}


@pytest.fixture(autouse=True)
def _fresh_cache():
    # The estimate reads the active locations through the reference cache.
    refcache.clear()
    yield
    refcache.clear()


def make_location(code, place, **kwargs):
    lat, lng = coordinates_for_postal_code("US", place["postal_code"])
    return LocationFactory(
        code=code, latitude=lat, longitude=lng, line1="1 Dock Rd", country="US", **place, **kwargs
    )


@pytest.fixture
def network(db):
    """Three warehouses: Newark (near New York), Dallas, Reno (far)."""
    return {
        "NWK": make_location("NWK", NEWARK),
        "DAL": make_location("DAL", DALLAS),
        "RNO": make_location("RNO", RENO),
    }


@pytest.fixture
def method(db):
    return ShippingMethodFactory()
