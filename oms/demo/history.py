"""The shape of the demo's past: how many orders each day of the last 180 days had,
when each historical order shipped against its promise, why the cancelled ones were
cancelled, and the dates its records carry.

Orders per day follow a calendar (``day_weight``): a weekly rhythm (Mondays busiest,
Saturdays and Sundays quiet), growth of about 40% over the period, the late-year
peak, and a few promotions (``promotion_days``): three-day sales at fixed distances
from the newest day, plus Black Friday to Cyber Monday when the period covers them.

The history runs up to yesterday; its newest orders closed before now
(``settle_recent_history``). Each completed historical order shipped once from the main
warehouse (``history_shipments``). It was promised to ship the day after it was placed (its
ship-by date, read on the order's clock, US Eastern); most left within that, some the
same day, and a share left one to three days late, more of them on promotion days,
when the warehouse had more than it could ship. The newest two months are invoiced by
``oms.demo.billing``; older orders keep their shipments without invoices (issuing runs
billing's whole service per order).

``date_history`` dates the records the import and the other builders wrote at seeding
time: an order was created when it was placed and last changed when it completed (or
was cancelled); its import entry and its fulfillment order carry its placement time
(the steps of its historical return are dated by ``oms.demo.returns``). Whole
cancellations get the timeline entry they had, with the reason the customer or the shop
gave (``record_cancellations``). All of it is written only where missing, so a second
run changes nothing.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from zoneinfo import ZoneInfo

from django.db import models, transaction
from django.db.models import Case, F, OuterRef, Subquery, Value, When
from django.db.models.functions import Coalesce

from fulfillment.models import (
    FulfillmentOrder,
    FulfillmentOrderLine,
    FulfillmentStatus,
    Shipment,
    ShipmentLine,
    ShipmentStatus,
)
from inventory.models import Location
from orders.models import Order, OrderEvent, OrderEventType, OrderStatus

from .common import SEED_ACTOR, StepResult, batched, pick, rng

ORDER_TIME_ZONE = ZoneInfo("America/New_York")
HISTORY_BATCH = 500

# Orders per weekday (Monday first), relative: the week starts busy, weekends are quiet.
WEEKDAY_WEIGHTS = (1.15, 1.05, 1.0, 1.0, 0.95, 0.7, 0.65)
GROWTH = 0.4  # the newest day sells this much more than the oldest
PROMOTION_LIFT = 2.4
# Three-day promotions, each starting this many days before the newest historical day.
PROMOTION_OFFSETS = (150, 96, 41)
PROMOTION_LENGTH = 3

# Shipping against the promise: a historical order was to ship by the day after it was
# placed. The share that left late, on ordinary days and on promotion days.
PROMISE_DAYS = 1
LATE_SHARE = 0.06
LATE_SHARE_IN_PROMOTION = 0.25
SAME_DAY_SHARE = 0.35

CANCELLATION_REASONS = (
    ("Customer changed their mind", 34),
    ("Delivery date too late for the customer", 16),
    ("Payment declined", 14),
    ("Duplicate order placed by mistake", 12),
    ("Found a better price elsewhere", 11),
    ("Suspected fraud", 7),
    ("Address could not be verified", 6),
)


# --- the calendar -------------------------------------------------------------------


def thanksgiving(year: int) -> dt.date:
    november = dt.date(year, 11, 1)
    first_thursday = november + dt.timedelta(days=(3 - november.weekday()) % 7)
    return first_thursday + dt.timedelta(weeks=3)


def promotion_days(first: dt.date, last: dt.date) -> set[dt.date]:
    """The promotions between ``first`` and ``last``: the fixed three-day sales counted
    back from ``last``, and Black Friday to Cyber Monday of the years covered."""
    days: set[dt.date] = set()
    for offset in PROMOTION_OFFSETS:
        start = last - dt.timedelta(days=offset)
        days.update(start + dt.timedelta(days=n) for n in range(PROMOTION_LENGTH))
    for year in range(first.year, last.year + 1):
        black_friday = thanksgiving(year) + dt.timedelta(days=1)
        days.update(black_friday + dt.timedelta(days=n) for n in range(4))
    return {day for day in days if first <= day <= last}


def day_weights(days: Sequence[dt.date]) -> list[float]:
    """How many orders each of ``days`` (oldest first) had, relative to the others."""
    promotions = promotion_days(days[0], days[-1]) if days else set()
    weights = []
    for position, day in enumerate(days):
        weight = WEEKDAY_WEIGHTS[day.weekday()]
        weight *= 1 + GROWTH * position / len(days)
        if (day.month, day.day) >= (11, 20) or (day.month, day.day) <= (1, 2):
            weight *= 1.5  # the late-year peak
        if day in promotions:
            weight *= PROMOTION_LIFT
        weights.append(weight)
    return weights


# --- shipments ------------------------------------------------------------------------


def ship_by_date(placed_at: dt.datetime) -> dt.date:
    return placed_at.astimezone(ORDER_TIME_ZONE).date() + dt.timedelta(days=PROMISE_DAYS)


def shipped_at(number: str, placed_at: dt.datetime, *, promotion: bool) -> dt.datetime:
    """When historical order ``number`` left the warehouse (the same on every run):
    before the end of its ship-by day, or one to three days after it. Always before the
    order completed (five days after placement)."""
    r: random.Random = rng("shipped", number)
    local = placed_at.astimezone(ORDER_TIME_ZONE)
    promise = ship_by_date(placed_at)
    late = r.random() < (LATE_SHARE_IN_PROMOTION if promotion else LATE_SHARE)
    if late:
        day = promise + dt.timedelta(days=pick(r, ((1, 60), (2, 28), (3, 12))))
        return dt.datetime.combine(
            day, dt.time(r.randint(9, 18), r.randint(0, 59)), tzinfo=ORDER_TIME_ZONE
        )
    if local.hour < 14 and r.random() < SAME_DAY_SHARE:
        # Placed before the afternoon pick: out the same day.
        return local + dt.timedelta(hours=r.uniform(2, 19 - local.hour))
    return dt.datetime.combine(
        promise, dt.time(r.randint(8, 19), r.randint(0, 59)), tzinfo=ORDER_TIME_ZONE
    )


def history_shipments(
    orders: Sequence[Order], warehouse: Location, promotions: set[dt.date]
) -> list[Shipment]:
    """The one shipment each historical order had, with its closed fulfillment order:
    every unit not cancelled, delivered when the order completed. It moves no stock, as
    the import moved none. The orders come with their lines and shipping method."""
    when = {}
    for order in orders:
        placed = order.placed_at or order.created_at
        leaves = shipped_at(
            order.number,
            placed,
            promotion=placed.astimezone(ORDER_TIME_ZONE).date() in promotions,
        )
        if order.completed_at is not None and leaves >= order.completed_at:
            # One of the newest orders, delivered sooner (``settle_recent_history``).
            leaves = placed + (order.completed_at - placed) / 2
        when[order.pk] = leaves
    fos = FulfillmentOrder.objects.bulk_create(
        FulfillmentOrder(
            number=f"{order.number}-H1",
            order=order,
            location=warehouse,
            status=FulfillmentStatus.CLOSED,
            ship_by_date=ship_by_date(order.placed_at or order.created_at),
            closed_at=when[order.pk],
        )
        for order in orders
    )
    shipped = {
        order.pk: [line for line in order.lines.all() if line.quantity_shipped] for order in orders
    }
    fo_lines = FulfillmentOrderLine.objects.bulk_create(
        FulfillmentOrderLine(
            fulfillment_order=fo,
            order_line=line,
            quantity=line.quantity_shipped,
            quantity_shipped=line.quantity_shipped,
        )
        for fo, order in zip(fos, orders, strict=True)
        for line in shipped[order.pk]
    )
    shipments = Shipment.objects.bulk_create(
        Shipment(
            fulfillment_order=fo,
            order=order,
            carrier=order.shipping_method.carrier,
            service_level=order.shipping_method.service_level,
            status=ShipmentStatus.DELIVERED,
            shipped_at=when[order.pk],
            delivered_at=order.completed_at,
        )
        for fo, order in zip(fos, orders, strict=True)
    )
    by_fo = {shipment.fulfillment_order_id: shipment for shipment in shipments}
    ShipmentLine.objects.bulk_create(
        ShipmentLine(
            shipment=by_fo[fo_line.fulfillment_order_id],
            fulfillment_line=fo_line,
            quantity=fo_line.quantity,
        )
        for fo_line in fo_lines
    )
    _date(
        FulfillmentOrder,
        "created_at",
        {fo.pk: fo.order.placed_at or fo.order.created_at for fo in fos},
    )
    return shipments


def imported_orders() -> models.QuerySet[Order]:
    return Order.objects.filter(
        pk__in=OrderEvent.objects.filter(
            type=OrderEventType.IMPORTED, actor_label=SEED_ACTOR.label
        ).values("order_id")
    )


def history_promotions() -> set[dt.date]:
    """The promotion days of the history as seeded (first to last placement)."""
    span = imported_orders().aggregate(first=models.Min("placed_at"), last=models.Max("placed_at"))
    if span["first"] is None:
        return set()
    return promotion_days(
        span["first"].astimezone(ORDER_TIME_ZONE).date(),
        span["last"].astimezone(ORDER_TIME_ZONE).date(),
    )


def ship_older_history(result: StepResult, *, warehouse: Location) -> None:
    """Shipments of the completed historical orders that billing did not invoice (older
    than the invoiced months), oldest first."""
    history = imported_orders().filter(status=OrderStatus.COMPLETED)
    result.existing = history.filter(shipments__isnull=False).distinct().count()
    waiting = list(
        history.filter(shipments__isnull=True, lines__quantity_shipped__gt=0)
        .distinct()
        .order_by("placed_at", "id")
        .values_list("pk", flat=True)
    )
    if not waiting:
        return
    promotions = history_promotions()
    for chunk in batched(waiting, HISTORY_BATCH):
        orders = list(
            Order.objects.filter(pk__in=chunk)
            .select_related("shipping_method")
            .prefetch_related("lines")
            .order_by("placed_at", "id")
        )
        with transaction.atomic():
            result.created += len(history_shipments(orders, warehouse, promotions))


# --- the newest days -------------------------------------------------------------------


def settle_recent_history(result: StepResult, *, now: dt.datetime) -> None:
    """The import closes an order five days after its placement (completed) or two
    hours after it (cancelled); the history runs up to yesterday, so the newest orders
    would close in the future. They closed before now instead: after nine tenths of the
    time since their placement (delivered sooner, by a faster service). Only those still
    closing after ``now`` change, so a second run changes none."""
    history = imported_orders()
    result.existing = history.count()
    recent = list(
        history.filter(models.Q(completed_at__gt=now) | models.Q(cancelled_at__gt=now)).values_list(
            "pk", "placed_at", "completed_at", "cancelled_at"
        )
    )
    completed: dict[int, dt.datetime] = {}
    cancelled: dict[int, dt.datetime] = {}
    for pk, placed, completed_at, cancelled_at in recent:
        if placed is None:
            continue  # imported orders always carry their placement
        closed = placed + (now - placed) * 9 / 10
        if completed_at is not None:
            completed[pk] = closed
        elif cancelled_at is not None:
            cancelled[pk] = closed
    with transaction.atomic():
        _date(Order, "completed_at", completed)
        _date(Order, "cancelled_at", cancelled)
    result.created = len(completed) + len(cancelled)
    result.existing -= result.created


# --- cancellations and dates ----------------------------------------------------------


def cancellation_reason(number: str) -> str:
    return str(pick(rng("cancelled", number), CANCELLATION_REASONS))


def record_cancellations(result: StepResult) -> None:
    """The timeline entry of each historical order cancelled whole, with its reason,
    dated when it was cancelled (only those that have none yet)."""
    cancelled = imported_orders().filter(status=OrderStatus.CANCELLED)
    result.existing = cancelled.filter(events__type=OrderEventType.CANCELLED).distinct().count()
    waiting = list(
        cancelled.exclude(events__type=OrderEventType.CANCELLED)
        .order_by("placed_at", "id")
        .values_list("pk", "number", "cancelled_at", "grand_total")
    )
    for chunk in batched(waiting, HISTORY_BATCH):
        with transaction.atomic():
            events = OrderEvent.objects.bulk_create(
                OrderEvent(
                    order_id=pk,
                    type=OrderEventType.CANCELLED,
                    message=f"Order cancelled ({at:%Y-%m-%d}): {cancellation_reason(number)}",
                    payload={
                        "reason": cancellation_reason(number),
                        "lines": {},
                        "grand_total_before": str(total),
                        "grand_total_after": str(total),
                        "at": at.isoformat(),
                    },
                    **SEED_ACTOR.as_fields(),
                )
                for pk, number, at, total in chunk
            )
            _date(
                OrderEvent,
                "created_at",
                {e.pk: at for e, (_, _, at, _) in zip(events, chunk, strict=True)},
            )
            result.created += len(events)


def date_history(result: StepResult) -> None:
    """Date what the seed wrote of the past when it happened (see the module's
    docstring). Counts the orders it re-dated; none on a second run."""
    history = imported_orders()
    undated = history.exclude(created_at=F("placed_at"))
    with transaction.atomic():
        result.existing = history.count()
        changed = undated.update(
            created_at=F("placed_at"),
            updated_at=Coalesce("completed_at", "cancelled_at", "placed_at"),
        )
        result.created += changed
        result.existing -= changed
        placed = Order.objects.filter(pk=OuterRef("order_id")).values("placed_at")[:1]
        OrderEvent.objects.filter(
            type=OrderEventType.IMPORTED, actor_label=SEED_ACTOR.label
        ).exclude(created_at=Subquery(placed)).update(created_at=Subquery(placed))


def _date(model: type[models.Model], field: str, when: dict[int, dt.datetime]) -> None:
    """Set ``field`` of the rows by id, in one query a batch (``auto_now_add`` fields)."""
    for chunk in batched(list(when), HISTORY_BATCH):
        model._default_manager.filter(pk__in=chunk).update(
            **{
                field: Case(
                    *[When(pk=pk, then=Value(when[pk])) for pk in chunk],
                    output_field=models.DateTimeField(),
                )
            }
        )
