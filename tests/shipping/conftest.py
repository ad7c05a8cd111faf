import pytest

from tests.factories import ShippingMethodFactory
from tests.places import make_location

# The places, make_location and the network fixture: tests/places.py.
__all__ = ["make_location"]


@pytest.fixture(autouse=True)
def _fresh_cache(fresh_reference_cache):
    # The estimate reads the active locations through the reference cache.
    return fresh_reference_cache


@pytest.fixture
def method(db):
    return ShippingMethodFactory()
