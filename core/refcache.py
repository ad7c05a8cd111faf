"""A tiny per-process cache for reference data read on every order (shipping methods,
tax rates). Entries live ``ttl`` seconds, so an edit in the admin is seen within that
time by every worker, without a cache server."""

import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

_lock = threading.Lock()
_entries: dict[tuple[Any, ...], tuple[float, Any]] = {}


def cached(key: tuple[Any, ...], loader: Callable[[], T], *, ttl: float = 30.0) -> T:
    now = time.monotonic()
    hit = _entries.get(key)
    if hit is not None and hit[0] > now:
        return hit[1]  # type: ignore[no-any-return,unused-ignore]
    value = loader()
    with _lock:
        _entries[key] = (now + ttl, value)
    return value


def clear() -> None:
    with _lock:
        _entries.clear()
