import pytest
from django.core.cache import caches

from core.api import throttling
from tests.fulfillment.conftest import (
    SYSTEM,
    _fresh_cache,
    method,
    place,
    products,
    receive,
    routed,
    sim,
)

__all__ = ["_fresh_cache", "method", "place", "products", "receive", "routed", "sim"]


@pytest.fixture(autouse=True)
def _no_lookups_counted():
    """Each test starts with no lookup counted for any address."""
    caches["throttle"].clear()
    throttling.reset_fallback()
    yield
    caches["throttle"].clear()


SYSTEM_ACTOR = SYSTEM
