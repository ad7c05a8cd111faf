"""Delivery promises: when an order leaves a location and when it reaches the buyer.

A location ships on the method's operating days; an order placed after the cut-off
(or on a day off) ships on the next operating day. Transit grows with distance
between the location and the destination: the method's shortest transit within
``NEAR_KM``, its longest beyond ``FAR_KM``, the midpoint between. Transit days are
counted on operating days only (weekend delivery is a method that operates on
Saturday and Sunday).
"""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.utils import timezone

from oms.geo import distance_km

from .models import ShippingMethod

NEAR_KM = 300
FAR_KM = 1500
ALL_WEEK = [1, 2, 3, 4, 5, 6, 7]


@dataclass(frozen=True)
class Promise:
    ship_by_date: dt.date
    delivery_date: dt.date
    transit_days: int
    origin_code: str = ""
    distance_km: float | None = None


def _operating_days(method: ShippingMethod) -> set[int]:
    days = {int(d) for d in (method.operating_days or ALL_WEEK) if 1 <= int(d) <= 7}
    return days or set(ALL_WEEK)


def ship_date(method: ShippingMethod, now: dt.datetime) -> dt.date:
    """The first operating day an order placed at ``now`` (aware) can leave."""
    local = timezone.localtime(now)
    days = _operating_days(method)
    day = local.date()
    if local.time() > method.cutoff_time or day.isoweekday() not in days:
        day += dt.timedelta(days=1)
        while day.isoweekday() not in days:
            day += dt.timedelta(days=1)
    return day


def transit_days(method: ShippingMethod, km: float | None) -> int:
    low, high = method.transit_days_min, method.transit_days_max
    if km is None:
        return high
    if km <= NEAR_KM:
        return low
    if km >= FAR_KM:
        return high
    return (low + high + 1) // 2


def add_operating_days(method: ShippingMethod, start: dt.date, count: int) -> dt.date:
    days = _operating_days(method)
    day = start
    while count > 0:
        day += dt.timedelta(days=1)
        if day.isoweekday() in days:
            count -= 1
    return day


def promise_for(
    method: ShippingMethod,
    *,
    now: dt.datetime,
    origin_code: str = "",
    origin: tuple[Decimal | float, Decimal | float] | None = None,
    destination: tuple[Decimal | float, Decimal | float] | None = None,
) -> Promise:
    km = distance_km(*origin, *destination) if origin and destination else None
    leaves = ship_date(method, now)
    transit = 0 if method.is_pickup else transit_days(method, km)
    return Promise(
        ship_by_date=leaves,
        delivery_date=add_operating_days(method, leaves, transit),
        transit_days=transit,
        origin_code=origin_code,
        distance_km=round(km, 1) if km is not None else None,
    )


def _shipping_locations() -> list[tuple[str, float, float]]:
    from inventory.models import Location

    rows = Location.objects.filter(is_active=True, ships=True, latitude__isnull=False).values_list(
        "code", "latitude", "longitude"
    )
    return [
        (code, float(lat), float(lng))
        for code, lat, lng in rows
        if lat is not None and lng is not None
    ]


def estimate_promise(
    method: ShippingMethod,
    *,
    now: dt.datetime,
    destination: tuple[Decimal | float, Decimal | float] | None,
    pickup_origin: tuple[str, Decimal | float | None, Decimal | float | None] | None = None,
) -> Promise:
    """The promise given before routing: from the pickup store, or else from the
    nearest shipping location (routing prefers the nearest that has the stock, and
    fixes the real ship-by date on each fulfilment order)."""
    from oms.core import refcache

    if pickup_origin is not None:
        return promise_for(method, now=now, origin_code=pickup_origin[0])
    candidates = refcache.cached(("shipping_locations",), _shipping_locations, ttl=60)
    if destination is None or not candidates:
        return promise_for(method, now=now)
    code, lat, lng = min(
        candidates, key=lambda c: distance_km(c[1], c[2], destination[0], destination[1])
    )
    return promise_for(
        method, now=now, origin_code=code, origin=(lat, lng), destination=destination
    )
