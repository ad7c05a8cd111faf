"""An order's promise once it is routed: the day its last open fulfillment order arrives.

The calendar itself (cut-offs on the location's clock, operating days, transit by
distance, the estimate given before routing) belongs to ``shipping.promise``; this
module applies it to the order's fulfillment orders. Changing the destination or the
method, a re-route and a backorder's arrival set the order's promise to
``routed_delivery_date``.
"""

import datetime as dt
from collections.abc import Iterable

from shipping.promise import PromisedOrder, estimate_promise, promise_for

from .models import FulfillmentOrder, FulfillmentStatus

# Fulfillment orders whose units are still to leave their location.
UNSHIPPED = (FulfillmentStatus.OPEN, FulfillmentStatus.ON_HOLD, FulfillmentStatus.IN_PROGRESS)


def _legs(order: PromisedOrder) -> Iterable[FulfillmentOrder]:
    return (
        FulfillmentOrder.objects.filter(order_id=order.pk, status__in=UNSHIPPED)
        .select_related("location")
        .order_by("id")
    )


def routed_delivery_date(
    order: PromisedOrder, *, now: dt.datetime, unrouted: bool = False
) -> dt.date | None:
    """The day a routed order's last part arrives, as things stand at ``now``.

    Each unshipped fulfillment order leaves its location on its ship-by date, or on the
    first day it still can (its cut-off read on its location's clock), and travels as
    far as its location is from the destination. Units committed but not yet at a
    location (``unrouted``) are counted from the nearest shipping location. Backordered
    units have no date until they arrive; None when nothing has one.
    """
    method = order.shipping_method
    destination = (
        (order.ship_latitude, order.ship_longitude)
        if order.ship_latitude is not None and order.ship_longitude is not None
        else None
    )
    dates = []
    for fo in _legs(order):
        location = fo.location
        origin = (
            (location.latitude, location.longitude)
            if location.latitude is not None and location.longitude is not None
            else None
        )
        dates.append(
            promise_for(
                method,
                now=now,
                origin_code=location.code,
                origin=origin,
                destination=destination,
                time_zone=location.time_zone,
                leaves_not_before=fo.ship_by_date,
            ).delivery_date
        )
    if unrouted:
        dates.append(estimate_promise(method, now=now, destination=destination).delivery_date)
    return max(dates) if dates else None
