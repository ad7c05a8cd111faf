"""Request limits counted in the shared "throttle" cache.

Counts live in Redis when the deployment has one (``CACHES["throttle"]``), so every
worker process and every server sees the same count and the configured rate is the
real one; the demo, with no Redis, counts in its one process's memory.

A limit is "N per period" over a sliding window, approximated with two fixed windows:
the current window's count plus the previous window's, weighted by how much of it
still lies within one period of now. A burst at the boundary between two windows
therefore cannot pass twice the limit. On Redis each check is one pipelined round trip:
an atomic increment of this window's key, its expiry renewed, and a read of the
previous window's key.

When Redis cannot be reached, requests are not refused and not stalled: counting falls
back to this process's memory for ``FALLBACK_SECONDS`` before Redis is tried again.
"""

import contextlib
import hashlib
import logging
import math
import time
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.cache import BaseCache, caches
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from redis import Redis
from redis.exceptions import RedisError
from rest_framework.throttling import BaseThrottle

if TYPE_CHECKING:
    from rest_framework.request import Request
    from rest_framework.views import APIView

logger = logging.getLogger(__name__)

CACHE_ALIAS = "throttle"
FALLBACK_SECONDS = 5.0
PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}

_local = LocMemCache("oms-throttle-fallback", {"TIMEOUT": None})
_shared_down_until = 0.0


@dataclass(frozen=True)
class Rate:
    limit: int
    seconds: int

    @classmethod
    def parse(cls, rate: str) -> "Rate":
        """``"6000/min"``, ``"10/m"``, ``"100/hour"``, ``"5/s"``, ``"1000/day"``."""
        count, _, period = rate.partition("/")
        return cls(limit=int(count), seconds=PERIODS[period.strip()[:1].lower()])


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    count: float  # the weighted count over the last period, this request included
    wait: float  # seconds until one more request would be allowed (0 when allowed)


_clients: "weakref.WeakKeyDictionary[RedisCache, Redis]" = weakref.WeakKeyDictionary()


def _redis_client(cache: RedisCache) -> "Redis":
    """One Redis client per cache object (Django's cache builds a new client object on
    every call, which costs more than the command itself on this path)."""
    client = _clients.get(cache)
    if client is None:
        # RedisCache's client wrapper; stubs do not declare it.
        client = cache._cache.get_client(write=True)  # type: ignore[attr-defined]
        _clients[cache] = client
    return client


def _cache(shared: BaseCache | None) -> BaseCache:
    """The shared cache, or this process's memory while the shared one is down."""
    if time.monotonic() < _shared_down_until:
        return _local
    return shared if shared is not None else caches[CACHE_ALIAS]


def _shared_cache_failed(exc: Exception) -> None:
    global _shared_down_until  # noqa: PLW0603 - one flag per process, on purpose
    if time.monotonic() >= _shared_down_until:
        logger.warning(
            "Throttle cache unreachable (%s); counting in local memory for %.0f s.",
            exc.__class__.__name__,
            FALLBACK_SECONDS,
        )
    _shared_down_until = time.monotonic() + FALLBACK_SECONDS


def reset_fallback() -> None:
    """Forget this process's fallback counts and any outage of the shared cache it noted
    (for tests: each starts with the shared cache up and nothing counted)."""
    global _shared_down_until  # noqa: PLW0603 - one flag per process, on purpose
    _local.clear()
    _shared_down_until = 0.0


class SlidingWindow:
    """Counts events per key (``ident``) within ``scope`` at ``rate``, in ``cache`` (by
    default the "throttle" cache)."""

    def __init__(self, *, scope: str, rate: Rate, cache: BaseCache | None = None) -> None:
        self.scope = scope
        self.rate = rate
        self.cache = cache

    def _keys(self, ident: str, now: float) -> tuple[str, str, float]:
        window, elapsed = divmod(now, self.rate.seconds)
        # Hashed: an identifier may come from a URL or a header (length, odd bytes).
        digest = hashlib.sha256(ident.encode("utf-8", "replace")).hexdigest()[:32]
        prefix = f"{self.scope}:{digest}"
        return f"{prefix}:{int(window)}", f"{prefix}:{int(window) - 1}", elapsed

    def _weight(self, elapsed: float) -> float:
        return 1.0 - elapsed / self.rate.seconds

    def hit(self, ident: str, *, now: float | None = None, refund: bool = True) -> Verdict:
        """Count one event; refused when it takes the count past the limit. A refused
        event is not counted when ``refund`` (a client over its rate is back as soon as
        the rate allows, however often it asked meanwhile)."""
        now = time.time() if now is None else now
        current, previous, elapsed = self._keys(ident, now)
        try:
            return self._hit(_cache(self.cache), current, previous, elapsed, refund=refund)
        except (RedisError, OSError) as exc:
            _shared_cache_failed(exc)
            return self._hit(_local, current, previous, elapsed, refund=refund)

    def peek(self, ident: str, *, now: float | None = None) -> Verdict:
        """Whether one more event would be allowed, counting nothing."""
        now = time.time() if now is None else now
        current, previous, elapsed = self._keys(ident, now)
        try:
            counts = _cache(self.cache).get_many([current, previous])
        except (RedisError, OSError) as exc:
            _shared_cache_failed(exc)
            counts = _local.get_many([current, previous])
        return self._verdict(
            int(counts.get(current, 0)), int(counts.get(previous, 0)), elapsed, extra=1
        )

    def _hit(
        self, cache: BaseCache, current: str, previous: str, elapsed: float, *, refund: bool
    ) -> Verdict:
        timeout = 2 * self.rate.seconds + 1  # the previous window is read a period later
        if isinstance(cache, RedisCache):
            return self._hit_redis(cache, current, previous, elapsed, timeout, refund=refund)
        counts = cache.get_many([current, previous])
        if current in counts or not cache.add(current, 1, timeout=timeout):
            try:
                count = cache.incr(current)
            except ValueError:  # expired between the two calls
                cache.set(current, 1, timeout=timeout)
                count = 1
        else:
            count = 1
        verdict = self._verdict(count - 1, int(counts.get(previous, 0)), elapsed, extra=1)
        if not verdict.allowed and refund:
            with contextlib.suppress(ValueError):  # expired meanwhile: nothing to refund
                cache.decr(current)
        return verdict

    def _hit_redis(
        self,
        cache: RedisCache,
        current: str,
        previous: str,
        elapsed: float,
        timeout: int,
        *,
        refund: bool,
    ) -> Verdict:
        """The same count in one round trip: increment this window's key (creating it),
        renew its lifetime and read the previous window's, pipelined. Every API request
        pays for this, so it is one round trip on a client kept per cache object."""
        client = _redis_client(cache)
        current_key = cache.make_and_validate_key(current)
        pipe = client.pipeline(transaction=False)
        pipe.incr(current_key)
        pipe.expire(current_key, timeout)
        pipe.get(cache.make_and_validate_key(previous))
        count, _, previous_count = pipe.execute()
        verdict = self._verdict(int(count) - 1, int(previous_count or 0), elapsed, extra=1)
        if not verdict.allowed and refund:
            client.decr(current_key)
        return verdict

    def _verdict(self, current: int, previous: int, elapsed: float, *, extra: int) -> Verdict:
        """The verdict on ``extra`` more events after ``current`` in this window and
        ``previous`` in the last one."""
        limit = self.rate.limit
        weighted = current + extra + previous * self._weight(elapsed)
        if weighted <= limit:
            return Verdict(allowed=True, count=weighted, wait=0.0)
        return Verdict(allowed=False, count=weighted, wait=self._wait(current, previous, elapsed))

    def _wait(self, current: int, previous: int, elapsed: float) -> float:
        """Seconds until one more event fits, if nothing else is counted meanwhile."""
        limit, seconds = self.rate.limit, self.rate.seconds
        room = limit - 1 - current  # what the previous window's weighted share may be
        if room >= 0 and previous > 0:
            # Within this window: previous * (1 - (elapsed + t) / seconds) <= room.
            wait = seconds * (1 - room / previous) - elapsed
        else:
            # In the next window, where this window's count is the weighted one:
            # current * (1 - t' / seconds) <= limit - 1.
            spill = seconds * (1 - (limit - 1) / current) if current > 0 else 0.0
            wait = (seconds - elapsed) + max(0.0, spill)
        return float(max(1, math.ceil(wait)))


class KeyedClient:
    """What the API's authentication puts in ``request.user`` for a caller with a key
    (``customers.api.authentication.ApiClient`` derives from it): its requests are counted
    per ``throttle_key``. Any other principal (an anonymous request) is not limited here.

    A base class rather than a runtime-checkable Protocol: every API request asks
    ``isinstance``, which costs microseconds on a Protocol and nothing here."""

    @property
    def throttle_key(self) -> str:
        raise NotImplementedError


class ApiKeyRateThrottle(BaseThrottle):
    """Requests per API key: ``OMS_API_THROTTLE_RATE`` across every process."""

    scope = "api_key"

    def __init__(self) -> None:
        self._wait: float | None = None

    def allow_request(self, request: "Request", view: "APIView") -> bool:
        if not isinstance(request.user, KeyedClient):
            return True
        window = SlidingWindow(scope=self.scope, rate=Rate.parse(settings.OMS_API_THROTTLE_RATE))
        verdict = window.hit(request.user.throttle_key)
        self._wait = verdict.wait
        return verdict.allowed

    def wait(self) -> float | None:
        return self._wait


def carrier_auth_failures() -> SlidingWindow:
    """Failed authentications of the carrier webhook, per carrier code and address."""
    return SlidingWindow(
        scope="carrier_auth", rate=Rate.parse(settings.OMS_CARRIER_AUTH_FAILURE_RATE)
    )
