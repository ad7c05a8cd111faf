"""Request limits are counted in a cache every process shares (Redis), so the
configured rate is the real one whatever the number of workers; without Redis the API
keeps serving and counts in local memory."""

import os
import uuid

import pytest
import redis
from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from django.test import override_settings
from rest_framework.test import APIClient

from core.api import throttling
from core.api.throttling import Rate, SlidingWindow
from customers.api_keys import create_api_key
from tests.factories import CompanyFactory, CustomerFactory

REDIS_URL = os.environ.get("REDIS_TEST_URL", "redis://127.0.0.1:6379/15")
DEAD_REDIS = "redis://127.0.0.1:6390/0"  # nothing listens there
ORDERS_URL = "/api/v1/orders/"


def redis_cache(prefix: str, url: str = REDIS_URL) -> dict:
    return {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": url,
        "KEY_PREFIX": prefix,
        "OPTIONS": {"socket_connect_timeout": 0.25, "socket_timeout": 0.25},
    }


@pytest.fixture
def prefix():
    """A key prefix of its own in the test Redis, its keys deleted afterwards."""
    name = f"test-throttle-{uuid.uuid4().hex[:12]}"
    yield name
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=f"{name}:*"))
    if keys:
        client.delete(*keys)


@pytest.fixture(autouse=True)
def _fresh_counters():
    throttling.reset_fallback()
    yield
    throttling.reset_fallback()


@pytest.fixture
def api(db):
    company = CompanyFactory()
    CustomerFactory(company=company, company_role="buyer")
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION=f"Bearer {create_api_key(company=company, name='erp').raw_key}"
    )
    return client


def test_two_processes_share_one_count(prefix):
    # Given two processes, each with its own connection to Redis
    rate = Rate.parse("6/min")
    first, second = (
        SlidingWindow(
            scope="api_key", rate=rate, cache=RedisCache(REDIS_URL, {"KEY_PREFIX": prefix})
        )
        for _ in range(2)
    )

    # When a client sends ten requests, alternately to one and the other
    verdicts = [(first if n % 2 else second).hit("key-1") for n in range(10)]

    # Then six pass in all, not six in each
    assert [v.allowed for v in verdicts] == [True] * 6 + [False] * 4
    assert all(v.wait >= 1 for v in verdicts[6:])
    # and another key has its own count
    assert first.hit("key-2").allowed


def test_refused_requests_are_not_counted(prefix):
    cache = RedisCache(REDIS_URL, {"KEY_PREFIX": prefix})
    window = SlidingWindow(scope="api_key", rate=Rate.parse("2/min"), cache=cache)
    now = 60 * 20_000.0  # at the start of a window

    assert [window.hit("k", now=now + n).allowed for n in range(5)] == [True, True] + [False] * 3

    # Half a minute into the next window, half of the last one still counts: one more fits.
    assert window.hit("k", now=now + 90).allowed
    assert not window.hit("k", now=now + 91).allowed


def test_the_rate_slides_over_a_window_boundary():
    cache = LocMemCache("test-sliding-window", {"TIMEOUT": None})
    cache.clear()
    window = SlidingWindow(scope="s", rate=Rate.parse("10/min"), cache=cache)
    start = 6_000_000.0 + 59  # a second before a window ends

    burst = [window.hit("k", now=start).allowed for _ in range(10)]
    after_boundary = window.hit("k", now=start + 2)

    assert all(burst)
    assert not after_boundary.allowed  # two fixed windows would have let 10 more through
    # 10 x (1 - (1 + t) / 60) <= 9 once t >= 5 s
    assert after_boundary.wait == 5


def test_the_api_limit_holds_across_processes(api, prefix):
    # Given the API counting in Redis at 3 requests a minute
    with override_settings(
        CACHES={**caches.settings, "throttle": redis_cache(prefix)}, OMS_API_THROTTLE_RATE="3/min"
    ):
        assert [api.get(ORDERS_URL).status_code for _ in range(3)] == [200] * 3

        # When the next request reaches a process that has counted nothing itself
        for cache in caches.all():
            if not isinstance(cache, RedisCache):
                cache.clear()
        throttling.reset_fallback()
        caches.close_all()
        response = api.get(ORDERS_URL)

    # Then it is refused all the same
    assert response.status_code == 429
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "throttled"
    assert int(response["Retry-After"]) >= 1


def test_without_redis_the_api_serves_and_counts_in_local_memory(api):
    with override_settings(
        CACHES={**caches.settings, "throttle": redis_cache("unused", DEAD_REDIS)},
        OMS_API_THROTTLE_RATE="3/min",
    ):
        statuses = [api.get(ORDERS_URL).status_code for _ in range(4)]

    assert statuses == [200, 200, 200, 429]
