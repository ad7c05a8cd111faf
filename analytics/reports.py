"""The reports pages' tables, one selector each (docs/analytics.md defines every column).

Each report reads a period (days in the site's time zone, both ends included; the
dashboard's ``Filters``) in one grouped query on the reports database
(``analytics.routers``), never one query per row. Money is in the shop's currency
(``OMS_DEFAULT_CURRENCY``): orders in other currencies are left out of the sales reports.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connections
from django.db.models import (
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    Q,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, NullIf
from django.utils import timezone

from fulfillment.models import FulfillmentOrder, FulfillmentOrderLine, Shipment
from inventory.models import MovementReason, StockLevel, StockMovement
from orders.models import Channel, Order, OrderLine, OrderStatus
from returns.models import ReturnLine, ReturnStatus

from . import sql, summary
from .routers import reading_reports, reports_database
from .selectors import Filters, first_shipments

ZERO = Decimal("0")
CENTS = Decimal("0.01")
MONEY: Any = DecimalField(max_digits=18, decimal_places=2)
NOT_SOLD = (OrderStatus.DRAFT, OrderStatus.CANCELLED)
NO_COMPANY = "Consumers (no company)"
NO_CARRIER = "No carrier"
NO_CATEGORY = "Uncategorised"
# A line's value for the units kept: its total (after discounts) times the share of its
# units not cancelled.
KEPT_LINE_VALUE = ExpressionWrapper(
    F("line_total")
    * (F("quantity_ordered") - F("quantity_cancelled"))
    / NullIf(F("quantity_ordered"), 0),
    output_field=MONEY,
)


@dataclass(frozen=True)
class Report:
    """A report's table: column headings and rows of plain values (str, int, Decimal,
    float for rates, None for "nothing to divide")."""

    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]

    def total(self, column: str) -> Any:
        index = self.columns.index(column)
        return sum((row[index] or 0 for row in self.rows), ZERO if self._money(index) else 0)

    def _money(self, index: int) -> bool:
        return any(isinstance(row[index], Decimal) for row in self.rows)


def _money(value: Decimal | float | int | None) -> Decimal:
    # SQLite sums decimals as floats: back to cents, as stored.
    return Decimal(str(value or 0)).quantize(CENTS)


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _sold_in_period(filters: Filters, database: str, order: str) -> Q:
    """The orders placed in the period and not cancelled, in the shop's currency and in
    the channel, reached through the path ``order`` ("order" from an order line). The
    period's orders are first a range of ids: the rows are read from that range of their
    order index, not from a scan of the whole table (``sql.placed_order_id_range``)."""
    low, high = sql.placed_order_id_range(database, filters.start_at, filters.end_at)
    sold = Q(
        **{
            f"{order}_id__gte": low,
            f"{order}_id__lte": high,
            f"{order}__placed_at__gte": filters.start_at,
            f"{order}__placed_at__lt": filters.end_at,
            f"{order}__currency": settings.OMS_DEFAULT_CURRENCY,
        }
    ) & ~Q(**{f"{order}__status__in": NOT_SOLD})
    if filters.channel:
        sold &= Q(**{f"{order}__channel": filters.channel})
    return sold


def _sold_lines(filters: Filters) -> Any:
    """Lines of the orders placed in the period and not cancelled, in the shop's
    currency, in the channel, and (with a location) routed there."""
    database = reports_database()
    lines = OrderLine.objects.using(database).filter(_sold_in_period(filters, database, "order"))
    if filters.location_id is not None:
        lines = lines.filter(
            pk__in=FulfillmentOrderLine.objects.filter(
                fulfillment_order__location_id=filters.location_id
            ).values("order_line_id")
        )
    return lines


def _line_sales(filters: Filters, key: str, label: str | None = None) -> Report:
    rows = (
        _sold_lines(filters)
        .values(key, *([label] if label else []))
        .annotate(
            orders=Count("order_id", distinct=True),
            units=Coalesce(Sum(F("quantity_ordered") - F("quantity_cancelled")), 0),
            shipped=Coalesce(Sum("quantity_shipped"), 0),
            returned=Coalesce(Sum("quantity_returned"), 0),
            revenue=Coalesce(Sum(KEPT_LINE_VALUE), Value(ZERO), output_field=MONEY),
        )
        .order_by("-revenue", key)
    )
    columns = ("Orders", "Units sold", "Units shipped", "Units returned", "Revenue")
    made = []
    for row in rows:
        name = row[key] if not label else f"{row[key] or ''} {row[label] or ''}".strip()
        made.append(
            (
                name or NO_CATEGORY,
                row["orders"],
                row["units"],
                row["shipped"],
                row["returned"],
                _money(row["revenue"]),
            )
        )
    return Report(columns=("", *columns), rows=made)


def sales_by_sku(filters: Filters) -> Report:
    """Per SKU: orders, units sold (ordered less cancelled), shipped and returned, and
    revenue (line totals after discounts, before tax and shipping, for the units not
    cancelled)."""
    report = _line_sales(filters, "sku")
    return Report(("SKU", *report.columns[1:]), report.rows)


def sales_by_category(filters: Filters) -> Report:
    """Per product category, summed over its SKUs: orders, units sold (ordered less
    cancelled), shipped and returned, and revenue (line totals after discounts, before tax
    and shipping, for the units not cancelled)."""
    report = _line_sales(filters, "product__category__name")
    return Report(("Category", *report.columns[1:]), report.rows)


def _order_sales(filters: Filters, key: str, name: Callable[[Any], str]) -> Report:
    orders = Order.objects.using(reports_database()).filter(
        placed_at__gte=filters.start_at,
        placed_at__lt=filters.end_at,
        currency=settings.OMS_DEFAULT_CURRENCY,
    )
    orders = orders.exclude(status=OrderStatus.DRAFT)
    if filters.channel:
        orders = orders.filter(channel=filters.channel)
    if filters.location_id is not None:
        orders = orders.filter(
            pk__in=FulfillmentOrder.objects.filter(location_id=filters.location_id).values(
                "order_id"
            )
        )
    kept = ~Q(status=OrderStatus.CANCELLED)
    rows = (
        orders.values(key)
        .annotate(
            placed=Count("id"),
            cancelled=Count("id", filter=Q(status=OrderStatus.CANCELLED)),
            revenue=Coalesce(Sum("grand_total", filter=kept), Value(ZERO), output_field=MONEY),
        )
        .order_by("-revenue", key)
    )
    made = []
    for row in rows:
        revenue = _money(row["revenue"])
        kept_count = row["placed"] - row["cancelled"]
        aov = (revenue / kept_count).quantize(CENTS) if kept_count else None
        made.append((name(row[key]), row["placed"], row["cancelled"], revenue, aov))
    return Report(("", "Orders placed", "Cancelled", "Revenue", "Average order value"), made)


def sales_by_company(filters: Filters) -> Report:
    """Per company (consumers together): orders placed, cancelled, revenue (grand totals
    of the orders not cancelled) and average order value."""
    report = _order_sales(filters, "company__name", lambda value: value or NO_COMPANY)
    return Report(("Company", *report.columns[1:]), report.rows)


def sales_by_channel(filters: Filters) -> Report:
    """Per channel: orders placed, cancelled, revenue (grand totals of the orders not
    cancelled) and average order value."""
    labels = dict(Channel.choices)
    currency = settings.OMS_DEFAULT_CURRENCY
    # The dashboard's order totals: past days from the daily summary, the others live.
    with reading_reports():
        totals = summary.day_totals(
            filters.start_date,
            filters.end_date,
            channel=filters.channel,
            location_id=filters.location_id,
        )
    channels: dict[str, list[Any]] = {}
    for row in totals:
        if row.currency == currency:
            entry = channels.setdefault(row.channel, [0, 0, ZERO])
            entry[0] += row.orders
            entry[1] += row.cancelled
            entry[2] += row.revenue
    made = []
    for channel, (placed, cancelled, revenue) in sorted(
        channels.items(), key=lambda item: (-item[1][2], item[0])
    ):
        kept = placed - cancelled
        aov = (revenue / kept).quantize(CENTS) if kept else None
        name = str(labels.get(channel, channel))
        made.append((name, placed, cancelled, _money(revenue), aov))
    return Report(("Channel", "Orders placed", "Cancelled", "Revenue", "Average order value"), made)


def sales_by_location(filters: Filters) -> Report:
    """Per fulfillment location: orders sent there, units sent and shipped, and the value
    of the units sent (unit price times units, before discounts and tax)."""
    database = reports_database()
    lines = FulfillmentOrderLine.objects.using(database).filter(
        _sold_in_period(filters, database, "fulfillment_order__order")
    )
    if filters.location_id is not None:
        lines = lines.filter(fulfillment_order__location_id=filters.location_id)
    value = ExpressionWrapper(F("quantity") * F("order_line__unit_price"), output_field=MONEY)
    rows = (
        lines.values("fulfillment_order__location__code")
        .annotate(
            orders=Count("fulfillment_order__order_id", distinct=True),
            units=Coalesce(Sum("quantity"), 0),
            shipped=Coalesce(Sum("quantity_shipped"), 0),
            value=Coalesce(Sum(value), Value(ZERO), output_field=MONEY),
        )
        .order_by("-value", "fulfillment_order__location__code")
    )
    return Report(
        ("Location", "Orders", "Units sent", "Units shipped", "Value of units sent"),
        [
            (
                row["fulfillment_order__location__code"],
                row["orders"],
                row["units"],
                row["shipped"],
                _money(row["value"]),
            )
            for row in rows
        ],
    )


def _local_date(moment: dt.datetime, zone: str, zones: dict[str, ZoneInfo]) -> dt.date:
    local = zones.setdefault(zone, ZoneInfo(zone)) if zone else timezone.get_current_timezone()
    return moment.astimezone(local).date()


def _on_postgresql() -> str | None:
    """The reports database's alias when it is PostgreSQL (which adds up the fulfillment
    reports itself, ``analytics.sql``)."""
    alias = reports_database()
    return alias if connections[alias].vendor == "postgresql" else None


def fulfillment_by_location(filters: Filters) -> Report:
    """Per location, over the fulfillment orders whose first shipment left in the period:
    shipped, on time (on or before the ship-by date, on the location's clock), on-time
    rate, and average hours from the order's placement to that shipment."""
    columns = ("Location", "Shipped", "On time", "On-time rate", "Average hours to ship")
    alias = _on_postgresql()
    if alias is not None:
        totals = sql.first_shipment_totals(
            alias,
            filters.start_at,
            filters.end_at,
            str(timezone.get_current_timezone()),
            channel=filters.channel,
            location_id=filters.location_id,
        )
        tally = {code: [n, ok, hours] for code, n, ok, hours, *_ in totals if code is not None}
    else:
        tally = _first_shipments_here(filters)
    return Report(
        columns,
        [
            (code, int(n), int(ok), _ratio(int(ok), int(n)), round(hours / n, 1))
            for code, (n, ok, hours) in sorted(tally.items())
        ],
    )


def _first_shipments_here(filters: Filters) -> dict[str, list[float]]:
    rows = first_shipments(FulfillmentOrder.objects.using(reports_database()), filters)
    if filters.channel:
        rows = rows.filter(order__channel=filters.channel)
    if filters.location_id is not None:
        rows = rows.filter(location_id=filters.location_id)
    values = rows.order_by().values_list(
        "location__code", "location__time_zone", "ship_by_date", "first_shipped_at",
        "order__placed_at",
    )  # fmt: skip
    zones: dict[str, ZoneInfo] = {}
    tally: dict[str, list[float]] = {}
    for code, zone, ship_by, shipped_at, placed_at in values:
        counts = tally.setdefault(code, [0, 0, 0.0])
        counts[0] += 1
        counts[1] += _local_date(shipped_at, zone, zones) <= ship_by
        counts[2] += max((shipped_at - placed_at).total_seconds(), 0) / 3600
    return tally


def fulfillment_by_carrier(filters: Filters) -> Report:
    """Per carrier, over the shipments that left in the period: shipments, on time (left
    on or before their fulfillment order's ship-by date), delivered, and average days
    from shipment to delivery of those delivered."""
    alias = _on_postgresql()
    if alias is not None:
        tally: dict[str, list[float]] = {
            name or NO_CARRIER: [n, ok, done, days]
            for name, n, ok, done, days in sql.carrier_totals(
                alias,
                filters.start_at,
                filters.end_at,
                str(timezone.get_current_timezone()),
                channel=filters.channel,
                location_id=filters.location_id,
            )
        }
    else:
        tally = _carriers_here(filters)
    return Report(
        ("Carrier", "Shipments", "On time", "On-time rate", "Delivered", "Average days in transit"),
        [
            (
                name,
                int(n),
                int(ok),
                _ratio(int(ok), int(n)),
                int(done),
                round(days / done, 1) if done else None,
            )
            for name, (n, ok, done, days) in sorted(tally.items())
        ],
    )


def _carriers_here(filters: Filters) -> dict[str, list[float]]:
    shipments = Shipment.objects.using(reports_database()).filter(
        shipped_at__gte=filters.start_at, shipped_at__lt=filters.end_at
    )
    if filters.channel:
        shipments = shipments.filter(order__channel=filters.channel)
    if filters.location_id is not None:
        shipments = shipments.filter(fulfillment_order__location_id=filters.location_id)
    values = shipments.order_by().values_list(
        "carrier__name", "fulfillment_order__location__time_zone",
        "fulfillment_order__ship_by_date", "shipped_at", "delivered_at",
    )  # fmt: skip
    zones: dict[str, ZoneInfo] = {}
    tally: dict[str, list[float]] = {}
    for carrier, zone, ship_by, shipped_at, delivered_at in values:
        counts = tally.setdefault(carrier or NO_CARRIER, [0, 0, 0, 0.0])
        counts[0] += 1
        counts[1] += _local_date(shipped_at, zone, zones) <= ship_by
        if delivered_at is not None:
            counts[2] += 1
            counts[3] += max((delivered_at - shipped_at).total_seconds(), 0) / 86400
    return tally


def _return_lines(filters: Filters) -> Any:
    lines = ReturnLine.objects.using(reports_database()).filter(
        request__created_at__gte=filters.start_at, request__created_at__lt=filters.end_at
    )
    lines = lines.exclude(request__status__in=(ReturnStatus.REJECTED, ReturnStatus.CANCELLED))
    if filters.channel:
        lines = lines.filter(request__order__channel=filters.channel)
    if filters.location_id is not None:
        lines = lines.filter(request__destination_id=filters.location_id)
    return lines


def _returns(filters: Filters, key: str, heading: str) -> Report:
    refunded = ExpressionWrapper(
        F("quantity_refunded") * F("order_line__unit_price"), output_field=MONEY
    )
    rows = (
        _return_lines(filters)
        .values(key)
        .annotate(
            requests=Count("request_id", distinct=True),
            units=Coalesce(Sum("quantity"), 0),
            received=Coalesce(Sum("quantity_received"), 0),
            refunded=Coalesce(Sum("quantity_refunded"), 0),
            value=Coalesce(Sum(refunded), Value(ZERO), output_field=MONEY),
        )
        .order_by("-units", key)
    )
    return Report(
        (heading, "Returns", "Units", "Units received", "Units refunded", "Value refunded"),
        [
            (
                row[key],
                row["requests"],
                row["units"],
                row["received"],
                row["refunded"],
                _money(row["value"]),
            )
            for row in rows
        ],
    )


def returns_by_reason(filters: Filters) -> Report:
    """Per return reason, over the returns requested in the period (not rejected or
    cancelled): returns, units asked back, received, refunded, and the refunded units'
    value at their unit price."""
    return _returns(filters, "reason__label", "Reason")


def returns_by_sku(filters: Filters) -> Report:
    """Per SKU, over the returns requested in the period (not rejected or cancelled):
    returns, units asked back, received, refunded, and the refunded units' value at their
    unit price."""
    return _returns(filters, "order_line__sku", "SKU")


def inventory_valuation(filters: Filters) -> Report:
    """Per location, now (a snapshot, not bound to the period): SKUs stocked, units on
    hand, allocated, unsellable and incoming, and the value of the units on hand at the
    products' list prices."""
    levels = StockLevel.objects.using(reports_database()).filter(on_hand__gt=0)
    if filters.location_id is not None:
        levels = levels.filter(location_id=filters.location_id)
    value = ExpressionWrapper(F("on_hand") * F("product__list_price"), output_field=MONEY)
    rows = (
        levels.values("location__code")
        .annotate(
            skus=Count("product_id", distinct=True),
            total_on_hand=Coalesce(Sum("on_hand"), 0),
            total_allocated=Coalesce(Sum("allocated"), 0),
            total_unsellable=Coalesce(Sum("unsellable"), 0),
            total_incoming=Coalesce(Sum("incoming"), 0),
            value=Coalesce(Sum(value), Value(ZERO), output_field=MONEY),
        )
        .order_by("location__code")
    )
    return Report(
        ("Location", "SKUs", "On hand", "Allocated", "Unsellable", "Incoming", "Value"),
        [
            (
                row["location__code"],
                row["skus"],
                row["total_on_hand"],
                row["total_allocated"],
                row["total_unsellable"],
                row["total_incoming"],
                _money(row["value"]),
            )
            for row in rows
        ],
    )


def movements_by_reason(filters: Filters) -> Report:
    """Per reason, over the on-hand stock movements of the period: movements, units in,
    units out and the net change."""
    moves = StockMovement.objects.using(reports_database()).filter(
        created_at__gte=filters.start_at, created_at__lt=filters.end_at, bucket="on_hand"
    )
    if filters.location_id is not None:
        moves = moves.filter(location_id=filters.location_id)
    rows = (
        moves.values("reason")
        .annotate(
            count=Count("id"),
            units_in=Coalesce(Sum("delta", filter=Q(delta__gt=0)), 0),
            units_out=Coalesce(Sum("delta", filter=Q(delta__lt=0)), 0),
        )
        .order_by("reason")
    )
    labels = dict(MovementReason.choices)
    return Report(
        ("Reason", "Movements", "Units in", "Units out", "Net change"),
        [
            (
                str(labels.get(row["reason"], row["reason"])),
                row["count"],
                row["units_in"],
                -row["units_out"],
                row["units_in"] + row["units_out"],
            )
            for row in rows
        ],
    )


@dataclass(frozen=True)
class ReportKind:
    slug: str
    title: str
    group: str
    selector: Callable[[Filters], Report]
    uses_period: bool = True
    uses_channel: bool = True


REPORTS: tuple[ReportKind, ...] = (
    ReportKind("sales-by-sku", "Sales by SKU", "Sales", sales_by_sku),
    ReportKind("sales-by-category", "Sales by category", "Sales", sales_by_category),
    ReportKind("sales-by-company", "Sales by company", "Sales", sales_by_company),
    ReportKind("sales-by-channel", "Sales by channel", "Sales", sales_by_channel),
    ReportKind("sales-by-location", "Sales by location", "Sales", sales_by_location),
    ReportKind(
        "fulfillment-by-location",
        "Fulfillment by location",
        "Fulfillment",
        fulfillment_by_location,
    ),
    ReportKind(
        "fulfillment-by-carrier", "Fulfillment by carrier", "Fulfillment", fulfillment_by_carrier
    ),
    ReportKind("returns-by-reason", "Returns by reason", "Returns", returns_by_reason),
    ReportKind("returns-by-sku", "Returns by SKU", "Returns", returns_by_sku),
    ReportKind(
        "inventory-valuation",
        "Inventory valuation",
        "Inventory",
        inventory_valuation,
        uses_period=False,
        uses_channel=False,
    ),
    ReportKind(
        "movements-by-reason",
        "Stock movements by reason",
        "Inventory",
        movements_by_reason,
        uses_channel=False,
    ),
)
REPORTS_BY_SLUG = {kind.slug: kind for kind in REPORTS}
