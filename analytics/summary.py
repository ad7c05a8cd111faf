"""The daily summary: the orders of each past day added up once, so that a period's order
figures read a few rows a day instead of every order and line of the period.

``DailyOrderSummary`` holds, per day (in the site's time zone), channel and currency, the
order counts, revenue and line figures the dashboard and the sales-by-channel report add
up, once for all the day's orders and once per location for the orders sent there.
``DailySummaryDay`` marks the days whose rows are complete. A reader
(``day_totals``) takes the marked days of its period from the summary and computes the
others (today, at least) from the live tables with the same function that
fills the summary (``compute_day_totals``), so a figure is the same whichever way it was
read.

Only past days are summarized (today is always live). A past day's orders still change
(they ship, are cancelled, come back): ``refresh_recent`` (beat, every few minutes)
recomputes the days of the orders changed since the last refresh and any of the last
``RECENT_DAYS`` days not yet summarized; ``refresh_nightly`` recomputes the last
``RECENT_DAYS`` days whole, for changes made without touching the order's ``updated_at``;
``manage.py refresh_daily_summary`` fills any period (a backfill). A day is rebuilt whole,
its rows deleted and written again in one transaction under an advisory lock
(``analytics.sql.lock_daily_summary``): refreshes are safe to repeat and to run at once,
and a reader sees a day's old rows or its new ones, never half of each.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import (
    Count,
    DecimalField,
    Exists,
    F,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from fulfillment.models import FulfillmentOrder
from orders.models import Order, OrderLine, OrderStatus

from . import sql
from .models import DailyOrderSummary, DailySummaryDay

ZERO = Decimal("0")
CENTS = Decimal("0.01")
# The days refresh_recent keeps complete and refresh_nightly recomputes whole.
RECENT_DAYS = 120
# A refresh covers at most this many days per transaction (and per group of queries).
CHUNK_DAYS = 31
# refresh_recent looks back this far before the last refresh's start for changed orders:
# an order saved just before that refresh but committed after it is not missed.
CHANGE_MARGIN = dt.timedelta(minutes=5)
MONEY: Any = DecimalField(max_digits=16, decimal_places=2)


@dataclass(frozen=True)
class DayTotals:
    """The orders placed on ``day`` in ``channel`` and ``currency`` (drafts have no
    placement), added up."""

    day: dt.date
    channel: str
    currency: str
    orders: int = 0
    cancelled: int = 0
    revenue: Decimal = ZERO  # grand totals of the orders not cancelled
    settled_lines: int = 0  # lines of completed orders and of cancelled ones that shipped
    complete_lines: int = 0  # of those, lines shipped complete
    shipped_units: int = 0
    returned_units: int = 0


def _zone_key(zone: dt.tzinfo) -> str:
    return str(getattr(zone, "key", zone))


def site_zone() -> ZoneInfo:
    """The zone the summary cuts its days in: the site's (``TIME_ZONE``)."""
    return ZoneInfo(settings.TIME_ZONE)


def _day_start(day: dt.date, zone: dt.tzinfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=zone)


def _money(value: Decimal | float | int | None) -> Decimal:
    # SQLite sums decimals as floats: back to cents, as stored.
    return Decimal(str(value or 0)).quantize(CENTS)


def compute_day_totals(
    orders: QuerySet[Order], spans: list[tuple[dt.datetime, dt.datetime]], zone: dt.tzinfo
) -> list[DayTotals]:
    """The totals per day (in ``zone``), channel and currency of ``orders`` placed in
    ``spans`` (each from its start up to its end), from the live tables: two grouped
    queries (orders, then their lines), whatever the number of days and orders."""
    within = Q(pk__in=[])
    for start_at, end_at in spans:
        within |= Q(placed_at__gte=start_at, placed_at__lt=end_at)
    placed = orders.filter(within).exclude(status=OrderStatus.DRAFT)
    order_rows = (
        placed.annotate(day=TruncDate("placed_at", tzinfo=zone))
        .values("day", "channel", "currency")
        .annotate(
            orders=Count("id"),
            cancelled=Count("id", filter=Q(status=OrderStatus.CANCELLED)),
            revenue=Coalesce(
                Sum("grand_total", filter=~Q(status=OrderStatus.CANCELLED)),
                Value(ZERO),
                output_field=MONEY,
            ),
        )
        .order_by()
    )
    # Settled: completed, or cancelled after shipping part (a cancellation before
    # anything shipped is not a failure to fill).
    shipped_any = Exists(
        OrderLine.objects.filter(order_id=OuterRef("order_id"), quantity_shipped__gt=0)
    )
    settled = Q(order__status=OrderStatus.COMPLETED) | (
        Q(order__status=OrderStatus.CANCELLED) & Q(shipped_any=True)
    )
    line_rows = (
        OrderLine.objects.filter(order__in=placed.values("pk"))
        .annotate(day=TruncDate("order__placed_at", tzinfo=zone), shipped_any=shipped_any)
        .values("day", "order__channel", "order__currency")
        .annotate(
            settled_lines=Count("id", filter=settled),
            complete_lines=Count(
                "id", filter=settled & Q(quantity_shipped__gte=F("quantity_ordered"))
            ),
            shipped_units=Coalesce(Sum("quantity_shipped"), 0),
            returned_units=Coalesce(Sum("quantity_returned"), 0),
        )
        .order_by()
    )
    lines = {(row["day"], row["order__channel"], row["order__currency"]): row for row in line_rows}
    made = []
    for row in order_rows:
        line = lines.get((row["day"], row["channel"], row["currency"]), {})
        made.append(
            DayTotals(
                day=row["day"],
                channel=row["channel"],
                currency=row["currency"],
                orders=row["orders"],
                cancelled=row["cancelled"],
                revenue=_money(row["revenue"]),
                settled_lines=line.get("settled_lines", 0),
                complete_lines=line.get("complete_lines", 0),
                shipped_units=line.get("shipped_units", 0),
                returned_units=line.get("returned_units", 0),
            )
        )
    return made


def orders_at(location_id: int | None, channel: str = "") -> QuerySet[Order]:
    """Every order, or those with part of them sent to the location; in the channel."""
    orders = Order.objects.all()
    if channel:
        orders = orders.filter(channel=channel)
    if location_id is not None:
        orders = orders.filter(
            Exists(FulfillmentOrder.objects.filter(order=OuterRef("pk"), location_id=location_id))
        )
    return orders


# --- reading ---------------------------------------------------------------------------


def summarized_days(start_date: dt.date, end_date: dt.date) -> set[dt.date]:
    """The days from ``start_date`` to ``end_date`` the summary holds, cut in the
    reader's time zone. One query."""
    return set(
        DailySummaryDay.objects.filter(
            day__gte=start_date,
            day__lte=end_date,
            time_zone=_zone_key(timezone.get_current_timezone()),
        ).values_list("day", flat=True)
    )


def _runs(days: list[dt.date]) -> list[tuple[dt.date, dt.date]]:
    """Consecutive days as (first, last) runs."""
    runs: list[tuple[dt.date, dt.date]] = []
    for day in sorted(days):
        if runs and runs[-1][1] + dt.timedelta(days=1) == day:
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


def day_totals(
    start_date: dt.date, end_date: dt.date, *, channel: str = "", location_id: int | None = None
) -> list[DayTotals]:
    """The totals per day, channel and currency from ``start_date`` to ``end_date`` (both
    included, in the current time zone), in the channel, of the orders sent to the location
    when there is one: the days the summary holds from it, the others (today, days before
    the first refresh) from the orders. At most four queries, whatever the range."""
    zone = timezone.get_current_timezone()
    held = summarized_days(start_date, end_date)
    totals: list[DayTotals] = []
    if held:
        # No location: the rows of every order (location empty).
        rows = DailyOrderSummary.objects.filter(day__gte=min(held), day__lte=max(held))
        if location_id is None:
            rows = rows.filter(location__isnull=True)
        else:
            rows = rows.filter(location_id=location_id)
        if channel:
            rows = rows.filter(channel=channel)
        totals += [
            DayTotals(
                day=row.day,
                channel=row.channel,
                currency=row.currency,
                orders=row.orders,
                cancelled=row.cancelled,
                revenue=_money(row.revenue),
                settled_lines=row.settled_lines,
                complete_lines=row.complete_lines,
                shipped_units=row.shipped_units,
                returned_units=row.returned_units,
            )
            for row in rows.order_by()
            if row.day in held  # a day cut in another time zone is read live
        ]
    count = (end_date - start_date).days + 1
    live = [start_date + dt.timedelta(days=n) for n in range(count)]
    spans = [
        (_day_start(first, zone), _day_start(last + dt.timedelta(days=1), zone))
        for first, last in _runs([day for day in live if day not in held])
    ]
    if spans:
        totals += compute_day_totals(orders_at(location_id, channel), spans, zone)
    return sorted(totals, key=lambda row: (row.day, row.channel, row.currency))


# --- refreshing ------------------------------------------------------------------------


def _windows(days: Iterable[dt.date]) -> Iterator[tuple[dt.date, dt.date]]:
    """Runs of consecutive days, at most CHUNK_DAYS long: (first, last)."""
    first = last = None
    for day in sorted(set(days)):
        if first is None or last is None:
            first = last = day
        elif day == last + dt.timedelta(days=1) and (day - first).days < CHUNK_DAYS:
            last = day
        else:
            yield first, last
            first = last = day
    if first is not None and last is not None:
        yield first, last


def _summary_rows(first: dt.date, last: dt.date, zone: dt.tzinfo) -> list[DailyOrderSummary]:
    start_at, end_at = _day_start(first, zone), _day_start(last + dt.timedelta(days=1), zone)
    locations = (
        FulfillmentOrder.objects.filter(order__placed_at__gte=start_at, order__placed_at__lt=end_at)
        .values_list("location_id", flat=True)
        .distinct()
        .order_by()
    )
    rows = []
    for location_id in [None, *sorted(locations)]:
        for totals in compute_day_totals(orders_at(location_id), [(start_at, end_at)], zone):
            rows.append(
                DailyOrderSummary(
                    day=totals.day,
                    channel=totals.channel,
                    currency=totals.currency,
                    location_id=location_id,
                    orders=totals.orders,
                    cancelled=totals.cancelled,
                    revenue=totals.revenue,
                    settled_lines=totals.settled_lines,
                    complete_lines=totals.complete_lines,
                    shipped_units=totals.shipped_units,
                    returned_units=totals.returned_units,
                )
            )
    return rows


def refresh_days(days: Iterable[dt.date], *, started_at: dt.datetime | None = None) -> int:
    """Recompute the summary of ``days`` (those before today, in the site's time zone;
    today and later are always read live) from the live tables, and mark them. Safe to
    repeat and to run at once: each run of up to CHUNK_DAYS consecutive days is rebuilt
    in one transaction under the summary's lock. Returns the number of days refreshed."""
    zone = site_zone()
    started_at = started_at or timezone.now()
    today = timezone.localdate(timezone=zone)
    done = 0
    for first, last in _windows(day for day in days if day < today):
        with transaction.atomic():
            sql.lock_daily_summary()
            rows = _summary_rows(first, last, zone)
            DailyOrderSummary.objects.filter(day__gte=first, day__lte=last).delete()
            DailyOrderSummary.objects.bulk_create(rows, batch_size=2000)
            count = (last - first).days + 1
            DailySummaryDay.objects.bulk_create(
                [
                    DailySummaryDay(
                        day=first + dt.timedelta(days=n),
                        time_zone=_zone_key(zone),
                        refreshed_at=started_at,
                    )
                    for n in range(count)
                ],
                update_conflicts=True,
                unique_fields=["day"],
                update_fields=["time_zone", "refreshed_at"],
            )
            done += count
    return done


def days_with_orders(since: dt.date | None = None, until: dt.date | None = None) -> list[dt.date]:
    """The days (site time zone) from ``since`` to ``until`` (default: the first order
    placed, yesterday), every one of them, orders or not."""
    zone = site_zone()
    if since is None:
        first = Order.objects.filter(placed_at__isnull=False).order_by("placed_at").first()
        if first is None or first.placed_at is None:
            return []
        since = timezone.localtime(first.placed_at, zone).date()
    until = until or timezone.localdate(timezone=zone) - dt.timedelta(days=1)
    return [since + dt.timedelta(days=n) for n in range((until - since).days + 1)]


def changed_days(since: dt.datetime) -> set[dt.date]:
    """The placement days (site time zone) of the orders changed since ``since``."""
    return set(
        Order.objects.filter(updated_at__gte=since, placed_at__isnull=False)
        .annotate(day=TruncDate("placed_at", tzinfo=site_zone()))
        .values_list("day", flat=True)
        .distinct()
        .order_by()
    )


def refresh_recent(*, whole: bool = False) -> int:
    """The beat's refresh: the days of the orders changed since the last refresh, and
    every one of the last RECENT_DAYS days not yet summarized (yesterday, after
    midnight); ``whole``: all of the last RECENT_DAYS days."""
    started_at = timezone.now()
    zone = site_zone()
    today = timezone.localdate(timezone=zone)
    recent = {today - dt.timedelta(days=n) for n in range(1, RECENT_DAYS + 1)}
    key = _zone_key(zone)
    last = DailySummaryDay.objects.filter(time_zone=key).aggregate(last=Max("refreshed_at"))["last"]
    days = set(recent) if whole else set()
    if not whole:
        marked = set(
            DailySummaryDay.objects.filter(day__in=recent, time_zone=key).values_list(
                "day", flat=True
            )
        )
        days |= recent - marked
    if last is not None:
        days |= changed_days(last - CHANGE_MARGIN)
    return refresh_days(days, started_at=started_at)
