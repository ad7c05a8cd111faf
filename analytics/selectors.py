"""The dashboard's figures, one selector each (docs/analytics.md defines every metric).

Each selector reads a date range (days in the site's time zone, both ends included)
and the optional channel and location filters, in a fixed number of queries grouped in
the database (never one query per day, SKU or location). Money is summed in the shop's
currency (``OMS_DEFAULT_CURRENCY``); orders in other currencies count in the order
figures but not in revenue.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connections, router
from django.db.models import (
    Count,
    Exists,
    F,
    IntegerField,
    Min,
    OuterRef,
    QuerySet,
    Sum,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from billing.aging import BUCKETS, aging_report
from fulfillment.models import (
    FulfillmentOrder,
    FulfillmentOrderLine,
    FulfillmentStatus,
    Shipment,
)
from inventory.models import NetworkStock, StockLevel
from orders.models import (
    Channel,
    HoldKind,
    Order,
    OrderEvent,
    OrderEventType,
    OrderHold,
    OrderLine,
    OrderStatus,
)
from returns.models import ReturnLine, ReturnStatus

from . import sql, summary
from .summary import DayTotals

ZERO = Decimal("0")
CENTS = Decimal("0.01")
# Demand over this many days before the range's end sets a SKU's daily rate for days
# of cover; a SKU with less than LOW_COVER_DAYS of cover is low.
DEMAND_WINDOW_DAYS = 28
LOW_COVER_DAYS = 14
TOP_REASONS = 5
LOW_STOCK_ROWS = 15


@dataclass(frozen=True)
class Filters:
    """What the dashboard shows: ``start_date`` to ``end_date`` (both included, in the
    site's time zone), one channel or all (``""``), one location or all (``None``)."""

    start_date: dt.date
    end_date: dt.date
    channel: str = ""
    location_id: int | None = None

    @property
    def start_at(self) -> dt.datetime:
        return _day_start(self.start_date)

    @property
    def end_at(self) -> dt.datetime:
        """The first instant after the range."""
        return _day_start(self.end_date + dt.timedelta(days=1))

    @property
    def days(self) -> list[dt.date]:
        count = (self.end_date - self.start_date).days + 1
        return [self.start_date + dt.timedelta(days=n) for n in range(count)]


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=timezone.get_current_timezone())


def _ratio(part: int, whole: int) -> float | None:
    """``part / whole`` as a fraction, or None when there is nothing to divide."""
    return part / whole if whole else None


def _money(value: Decimal | float | int | None) -> Decimal:
    # SQLite sums decimals as floats: back to cents, as stored.
    return Decimal(str(value or 0)).quantize(CENTS)


def percentile(values: list[float], fraction: float) -> float | None:
    """The ``fraction`` percentile of ``values`` by linear interpolation between the
    closest ranks (PostgreSQL's ``percentile_cont``); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


# --- orders -------------------------------------------------------------------------


def placed_orders(filters: Filters) -> QuerySet[Order]:
    """Orders placed in the range (drafts have no placement), in the channel, and with
    part of them sent to the location when one is chosen."""
    orders = Order.objects.filter(
        placed_at__gte=filters.start_at, placed_at__lt=filters.end_at
    ).exclude(status=OrderStatus.DRAFT)
    if filters.channel:
        orders = orders.filter(channel=filters.channel)
    if filters.location_id is not None:
        orders = orders.filter(
            Exists(
                FulfillmentOrder.objects.filter(
                    order=OuterRef("pk"), location_id=filters.location_id
                )
            )
        )
    return orders


@dataclass(frozen=True)
class DaySales:
    day: dt.date
    channel: str
    orders: int
    revenue: Decimal


def order_totals(filters: Filters) -> list[DayTotals]:
    """The orders placed in the range per day, channel and currency, added up: past days
    from the daily summary when it holds them, the others from the orders
    (``analytics.summary``). At most four queries, whatever the range."""
    return summary.day_totals(
        filters.start_date,
        filters.end_date,
        channel=filters.channel,
        location_id=filters.location_id,
    )


def sales_by_day(filters: Filters, totals: list[DayTotals] | None = None) -> list[DaySales]:
    """Orders placed and their revenue (grand totals of orders not cancelled, in the
    shop's currency) per day and channel. Days and channels without orders are left out.
    ``totals``: the range's ``order_totals``, when already read."""
    currency = settings.OMS_DEFAULT_CURRENCY
    sales: dict[tuple[dt.date, str], list[Any]] = {}
    for row in order_totals(filters) if totals is None else totals:
        entry = sales.setdefault((row.day, row.channel), [0, ZERO])
        entry[0] += row.orders
        if row.currency == currency:
            entry[1] += row.revenue
    return [
        DaySales(day=day, channel=channel, orders=orders, revenue=_money(revenue))
        for (day, channel), (orders, revenue) in sorted(sales.items())
    ]


@dataclass(frozen=True)
class SalesSummary:
    orders: int
    cancelled: int
    revenue: Decimal

    @property
    def kept(self) -> int:
        return self.orders - self.cancelled

    @property
    def average_order_value(self) -> Decimal | None:
        """Revenue ÷ orders not cancelled."""
        return (self.revenue / self.kept).quantize(CENTS) if self.kept else None

    @property
    def cancellation_rate(self) -> float | None:
        return _ratio(self.cancelled, self.orders)


def sales_summary(days: list[DaySales], cancelled: int) -> SalesSummary:
    return SalesSummary(
        orders=sum(day.orders for day in days),
        cancelled=cancelled,
        revenue=sum((day.revenue for day in days), ZERO),
    )


def cancelled_orders(filters: Filters, totals: list[DayTotals] | None = None) -> int:
    return sum(row.cancelled for row in (order_totals(filters) if totals is None else totals))


def top_cancellation_reasons(filters: Filters) -> list[tuple[str, int]]:
    """The reasons given when orders placed in the range were cancelled whole, most
    frequent first. An order cancelled without a recorded reason counts as "Not given"."""
    cancelled = placed_orders(filters).filter(status=OrderStatus.CANCELLED)
    rows = (
        OrderEvent.objects.filter(type=OrderEventType.CANCELLED, order__in=cancelled)
        .values("payload__reason")
        .annotate(count=Count("id"))
        .order_by("-count")
    )
    counts: Counter[str] = Counter()
    for row in rows:
        counts[(row["payload__reason"] or "").strip() or "Not given"] += row["count"]
    return counts.most_common(TOP_REASONS)


def sales_channels() -> list[tuple[str, str]]:
    return list(Channel.choices)


# --- fulfillment ---------------------------------------------------------------------


@dataclass(frozen=True)
class FillRate:
    lines: int
    complete: int

    @property
    def rate(self) -> float | None:
        return _ratio(self.complete, self.lines)


def fill_rate(filters: Filters, totals: list[DayTotals] | None = None) -> FillRate:
    """Lines shipped complete ÷ lines ordered, over the orders placed in the range that
    are settled (completed, or cancelled after shipping part). An order the customer
    cancelled before anything shipped is not a failure to fill and is left out; lines
    of open orders are not settled yet."""
    rows = order_totals(filters) if totals is None else totals
    return FillRate(
        lines=sum(row.settled_lines for row in rows),
        complete=sum(row.complete_lines for row in rows),
    )


@dataclass(frozen=True)
class ShippingPerformance:
    """Fulfillment orders whose first shipment left in the range."""

    shipped: int
    on_time: int
    p50_hours: float | None  # placement to first shipment, median
    p90_hours: float | None
    by_location: dict[str, tuple[int, int]] = field(
        default_factory=dict
    )  # code: (shipped, on time)

    @property
    def on_time_rate(self) -> float | None:
        return _ratio(self.on_time, self.shipped)


def first_shipments(fulfillment_orders: QuerySet[FulfillmentOrder], filters: Filters) -> Any:
    """The fulfillment orders (of placed orders) whose first shipment left in the range,
    with its time as ``first_shipped_at``. Only those with a shipment in the range can
    be: they are found through the shipments' time index first, so a period reads its own
    shipments, not every fulfillment order."""
    shipped_in_range = Shipment.objects.filter(
        shipped_at__gte=filters.start_at, shipped_at__lt=filters.end_at
    ).values("fulfillment_order_id")
    return (
        fulfillment_orders.filter(pk__in=shipped_in_range, order__placed_at__isnull=False)
        .annotate(first_shipped_at=Min("shipments__shipped_at"))
        .filter(first_shipped_at__gte=filters.start_at, first_shipped_at__lt=filters.end_at)
    )


def shipping_performance(filters: Filters) -> ShippingPerformance:
    """On-time shipment rate and time from placement to shipment, in one query.

    A fulfillment order ships on time when its first shipment leaves on or before its
    ship-by date, read on the clock of the location that shipped it. Time to ship runs
    from the order's placement to that first shipment. PostgreSQL adds them up
    (``analytics.sql``); elsewhere (the demo's SQLite) they are added up here."""
    connection = connections[router.db_for_read(FulfillmentOrder) or "default"]
    if connection.vendor == "postgresql":
        rows = sql.first_shipment_totals(
            connection.alias,
            filters.start_at,
            filters.end_at,
            str(timezone.get_current_timezone()),
            channel=filters.channel,
            location_id=filters.location_id,
        )
        by_code = dict(sorted((code, (n, ok)) for code, n, ok, *_ in rows if code is not None))
        everything = next((row for row in rows if row[0] is None), None)
        if everything is None:
            return ShippingPerformance(shipped=0, on_time=0, p50_hours=None, p90_hours=None)
        _code, shipped, on_time, _hours, p50, p90 = everything
        return ShippingPerformance(
            shipped=shipped, on_time=on_time, p50_hours=p50, p90_hours=p90, by_location=by_code
        )
    return _shipping_performance_here(filters)


def _shipping_performance_here(filters: Filters) -> ShippingPerformance:
    rows = first_shipments(FulfillmentOrder.objects.all(), filters)
    if filters.channel:
        rows = rows.filter(order__channel=filters.channel)
    if filters.location_id is not None:
        rows = rows.filter(location_id=filters.location_id)
    values = rows.order_by().values_list(
        "ship_by_date", "first_shipped_at", "order__placed_at", "location__code",
        "location__time_zone",
    )  # fmt: skip
    shipped = on_time = 0
    hours: list[float] = []
    by_location: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    zones: dict[str, ZoneInfo] = {}
    for ship_by, shipped_at, placed_at, code, zone in values:
        local = zones.setdefault(zone, ZoneInfo(zone)) if zone else timezone.get_current_timezone()
        shipped += 1
        by_location[code][0] += 1
        if shipped_at.astimezone(local).date() <= ship_by:
            on_time += 1
            by_location[code][1] += 1
        hours.append(max((shipped_at - placed_at).total_seconds(), 0) / 3600)
    return ShippingPerformance(
        shipped=shipped,
        on_time=on_time,
        p50_hours=percentile(hours, 0.5),
        p90_hours=percentile(hours, 0.9),
        by_location={code: (count, ok) for code, (count, ok) in sorted(by_location.items())},
    )


@dataclass(frozen=True)
class Backorders:
    orders: int
    lines: int
    units: int


def backorders(filters: Filters) -> Backorders:
    """Units waiting for stock now, on open orders in the channel (a snapshot, not
    bound to the date range: a backorder waits whenever it was placed)."""
    lines = OrderLine.objects.filter(
        quantity_backordered__gt=0,
        order__status__in=[OrderStatus.PLACED, OrderStatus.PROCESSING],
    )
    if filters.channel:
        lines = lines.filter(order__channel=filters.channel)
    totals = lines.aggregate(
        orders=Count("order_id", distinct=True),
        lines=Count("id"),
        units=Coalesce(Sum("quantity_backordered"), 0),
    )
    return Backorders(orders=totals["orders"], lines=totals["lines"], units=totals["units"])


# --- returns --------------------------------------------------------------------------


@dataclass(frozen=True)
class ReturnRate:
    shipped_units: int
    returned_units: int
    reasons: list[tuple[str, int]]

    @property
    def rate(self) -> float | None:
        return _ratio(self.returned_units, self.shipped_units)


def return_rate(filters: Filters, totals: list[DayTotals] | None = None) -> ReturnRate:
    """Units returned ÷ units shipped, over the orders placed in the range (returns
    counted on the order they came from, whenever they arrived), and the reasons of
    the return requests of those orders (not cancelled nor rejected), by units."""
    rows = order_totals(filters) if totals is None else totals
    reasons = (
        ReturnLine.objects.filter(request__order__in=placed_orders(filters).values("pk"))
        .exclude(request__status__in=[ReturnStatus.CANCELLED, ReturnStatus.REJECTED])
        .values("reason__label")
        .annotate(units=Coalesce(Sum("quantity"), 0, output_field=IntegerField()))
        .order_by("-units", "reason__label")[:TOP_REASONS]
    )
    return ReturnRate(
        shipped_units=sum(row.shipped_units for row in rows),
        returned_units=sum(row.returned_units for row in rows),
        reasons=[(row["reason__label"], row["units"]) for row in reasons],
    )


# --- stock ----------------------------------------------------------------------------


@dataclass(frozen=True)
class StockCover:
    sku: str
    name: str
    available: int
    daily_demand: float

    @property
    def days_of_cover(self) -> float | None:
        """Available ÷ average daily demand; None when nothing sold (no demand to cover)."""
        return self.available / self.daily_demand if self.daily_demand else None


def low_stock(filters: Filters, *, limit: int = LOW_STOCK_ROWS) -> list[StockCover]:
    """SKUs with fewer than LOW_COVER_DAYS days of cover, fewest first: available now
    (at the location, or across the network) ÷ the average units a day ordered (at the
    location: sent to it) over the DEMAND_WINDOW_DAYS days up to the range's end.
    Four queries whatever the number of SKUs."""
    window_end = filters.end_at
    window_start = window_end - dt.timedelta(days=DEMAND_WINDOW_DAYS)
    # The window's orders as a range of ids bound the read of their lines
    # (``sql.placed_order_id_range``).
    low, high = sql.placed_order_id_range(Order.objects.all().db, window_start, window_end)
    if filters.location_id is None:
        demand_rows = (
            OrderLine.objects.filter(
                order_id__gte=low,
                order_id__lte=high,
                order__placed_at__gte=window_start,
                order__placed_at__lt=window_end,
            )
            .exclude(order__status=OrderStatus.DRAFT)
            .values("product_id")
            .annotate(units=Sum(F("quantity_ordered") - F("quantity_cancelled")))
        )
        if filters.channel:
            demand_rows = demand_rows.filter(order__channel=filters.channel)
        demand = {row["product_id"]: row["units"] or 0 for row in demand_rows}
        stock: Iterable[tuple[int, str, str, int]] = (
            NetworkStock.objects.filter(product_id__in=list(demand), product__is_active=True)
            .annotate(free=F("available") - F("committed"))
            .values_list("product_id", "product__sku", "product__name", "free")
        )
    else:
        fo_lines = FulfillmentOrderLine.objects.filter(
            fulfillment_order__location_id=filters.location_id,
            fulfillment_order__order_id__gte=low,
            fulfillment_order__order_id__lte=high,
            fulfillment_order__order__placed_at__gte=window_start,
            fulfillment_order__order__placed_at__lt=window_end,
        ).exclude(fulfillment_order__status=FulfillmentStatus.CANCELLED)
        if filters.channel:
            fo_lines = fo_lines.filter(fulfillment_order__order__channel=filters.channel)
        demand = {
            row["order_line__product_id"]: row["units"] or 0
            for row in fo_lines.values("order_line__product_id").annotate(
                units=Sum(F("quantity") - F("quantity_rejected") - F("quantity_cancelled"))
            )
        }
        stock = (
            StockLevel.objects.filter(
                location_id=filters.location_id,
                product_id__in=list(demand),
                product__is_active=True,
            )
            .annotate(free=F("on_hand") - F("allocated") - F("reserved") - F("safety_stock"))
            .values_list("product_id", "product__sku", "product__name", "free")
        )
    covers = []
    for product_id, sku, name, free in stock:
        daily = demand.get(product_id, 0) / DEMAND_WINDOW_DAYS
        cover = StockCover(sku=sku, name=name, available=max(free, 0), daily_demand=daily)
        if cover.days_of_cover is not None and cover.days_of_cover < LOW_COVER_DAYS:
            covers.append(cover)
    covers.sort(key=lambda c: (c.days_of_cover, -c.daily_demand, c.sku))
    return covers[:limit]


# --- holds and receivables ----------------------------------------------------------


def holds_waiting() -> list[tuple[str, str, int]]:
    """Open holds by kind now: (kind, label, count), every kind listed."""
    counts = dict(
        OrderHold.objects.filter(released_at__isnull=True)
        .values_list("kind")
        .annotate(count=Count("id"))
        .order_by()
    )
    return [(kind, label, counts.get(kind, 0)) for kind, label in HoldKind.choices]


@dataclass(frozen=True)
class Receivables:
    currency: str
    buckets: list[tuple[str, Decimal]]
    total: Decimal


def receivables(as_of: dt.date) -> list[Receivables]:
    """What invoices on terms still owe on ``as_of``, by days past due, per currency
    (the totals of the aging report, ``billing.aging``)."""
    report = aging_report(as_of)
    return [
        Receivables(
            currency=row.currency,
            buckets=[(label, getattr(row, key)) for key, label, *_ in BUCKETS],
            total=row.total,
        )
        for row in report.totals
    ]
