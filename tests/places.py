"""Real places and the three-warehouse network that routing, promise and billing tests
share: the customer is in Manhattan; Newark is near, Dallas farther, Reno far."""

import pytest

from core import refcache
from core.geo import coordinates_for_postal_code
from tests.factories import LocationFactory

NEW_YORK = {"postal_code": "10001", "city": "New York", "region": "NY"}
NEWARK = {"postal_code": "07102", "city": "Newark", "region": "NJ"}
DALLAS = {"postal_code": "75201", "city": "Dallas", "region": "TX"}
RENO = {"postal_code": "89502", "city": "Reno", "region": "NV"}


def make_location(code, place, **kwargs):
    """A location at ``place`` (one of the dicts above), with its real coordinates."""
    lat, lng = coordinates_for_postal_code("US", place["postal_code"])
    return LocationFactory(
        code=code, latitude=lat, longitude=lng, line1="1 Dock Rd", country="US", **place, **kwargs
    )


@pytest.fixture
def fresh_reference_cache():
    """Locations and methods are read through the reference cache: start and end empty."""
    refcache.clear()
    yield
    refcache.clear()


@pytest.fixture
def network(db):
    """Three warehouses: Newark (near New York), Dallas, Reno (far)."""
    return {
        "NWK": make_location("NWK", NEWARK),
        "DAL": make_location("DAL", DALLAS),
        "RNO": make_location("RNO", RENO),
    }
