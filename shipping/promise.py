"""The promise calendar: when an order leaves a location and when it reaches the buyer.

A location ships on the method's operating days; an order placed after the cut-off
(or on a day off) ships on the next operating day. Cut-offs and days are read on the
location's own clock (``Location.time_zone``), not the server's: 13:30 in Denver is
before a 14:00 cut-off there whatever zone the server runs in. Transit grows with
distance between the location and the destination: the method's shortest transit
within ``NEAR_KM``, its longest beyond ``FAR_KM``, the midpoint between. Transit days
are counted on operating days only (weekend delivery is a method that operates on
Saturday and Sunday).

Before routing, an order is promised from its pickup store or the nearest shipping
location (``estimate_promise``): that is what capture needs. Once it is routed, its true
date is the day its last open fulfillment order arrives, which ``fulfillment.promise``
computes with ``promise_for`` from these same rules.
"""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings

from core import refcache
from core.geo import distance_km
from inventory.models import Location

from .models import ShippingMethod

NEAR_KM = 300
FAR_KM = 1500
ALL_WEEK = [1, 2, 3, 4, 5, 6, 7]

Coordinates = tuple[Decimal | float, Decimal | float]


@dataclass(frozen=True)
class Promise:
    ship_by_date: dt.date
    delivery_date: dt.date
    transit_days: int
    origin_code: str = ""
    distance_km: float | None = None


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(settings.TIME_ZONE)


def location_zone(time_zone: str = "") -> ZoneInfo:
    """The clock a location's cut-off is read on: its zone, else the server's
    (``settings.TIME_ZONE``, never the zone a request happens to have activated)."""
    return _zone(time_zone or settings.TIME_ZONE)


def _operating_days(method: ShippingMethod) -> set[int]:
    days = {int(d) for d in (method.operating_days or ALL_WEEK) if 1 <= int(d) <= 7}
    return days or set(ALL_WEEK)


def ship_date(method: ShippingMethod, now: dt.datetime, *, time_zone: str = "") -> dt.date:
    """The first operating day an order placed at ``now`` (aware) can leave a location
    whose clock is ``time_zone`` (IANA name; the server's zone when empty)."""
    local = now.astimezone(location_zone(time_zone))
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
    origin: Coordinates | None = None,
    destination: Coordinates | None = None,
    time_zone: str = "",
    leaves_not_before: dt.date | None = None,
) -> Promise:
    """The promise of a parcel leaving ``origin`` (a location whose clock is
    ``time_zone``) for ``destination``; ``leaves_not_before`` is a ship-by date the
    location was already given."""
    km = distance_km(*origin, *destination) if origin and destination else None
    leaves = ship_date(method, now, time_zone=time_zone)
    if leaves_not_before is not None and leaves_not_before > leaves:
        leaves = leaves_not_before
    transit = 0 if method.is_pickup else transit_days(method, km)
    return Promise(
        ship_by_date=leaves,
        delivery_date=add_operating_days(method, leaves, transit),
        transit_days=transit,
        origin_code=origin_code,
        distance_km=round(km, 1) if km is not None else None,
    )


@dataclass(frozen=True)
class _Site:
    code: str
    time_zone: str
    ships: bool
    latitude: float | None
    longitude: float | None


def _active_locations() -> list[_Site]:
    rows = Location.objects.filter(is_active=True).values_list(
        "code", "time_zone", "ships", "latitude", "longitude"
    )
    return [
        _Site(
            code,
            zone,
            ships,
            float(lat) if lat is not None else None,
            float(lng) if lng is not None else None,
        )
        for code, zone, ships, lat, lng in rows
    ]


def estimate_promise(
    method: ShippingMethod,
    *,
    now: dt.datetime,
    destination: Coordinates | None,
    pickup_origin: tuple[str, Decimal | float | None, Decimal | float | None] | None = None,
) -> Promise:
    """The promise given before routing: from the pickup store, or else from the
    nearest shipping location (routing prefers the nearest that has the stock, and
    fixes the real ship-by date on each fulfillment order)."""
    sites = refcache.cached(("active_locations",), _active_locations, ttl=60)
    if pickup_origin is not None:
        store = next((s for s in sites if s.code == pickup_origin[0]), None)
        return promise_for(
            method,
            now=now,
            origin_code=pickup_origin[0],
            time_zone=store.time_zone if store else "",
        )
    candidates = [
        (site, (site.latitude, site.longitude))
        for site in sites
        if site.ships and site.latitude is not None and site.longitude is not None
    ]
    if destination is None or not candidates:
        return promise_for(method, now=now)
    to_lat, to_lng = destination
    nearest, origin = min(candidates, key=lambda c: distance_km(c[1][0], c[1][1], to_lat, to_lng))
    return promise_for(
        method,
        now=now,
        origin_code=nearest.code,
        origin=origin,
        destination=destination,
        time_zone=nearest.time_zone,
    )


class PromisedOrder(Protocol):
    """What a delivery promise reads of an order."""

    @property
    def pk(self) -> Any: ...

    @property
    def shipping_method(self) -> ShippingMethod: ...

    @property
    def ship_latitude(self) -> Decimal | None: ...

    @property
    def ship_longitude(self) -> Decimal | None: ...
