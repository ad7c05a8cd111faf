"""The daily summary: the figures it gives are those of the live tables, its refreshes are
safe to repeat and to run at once, and the demo and the beat keep it filled."""

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext, override_settings
from django.utils import timezone

from analytics import reports, selectors, summary
from analytics.models import DailyOrderSummary, DailySummaryDay
from analytics.selectors import Filters
from analytics.tasks import refresh_daily_summary
from core import refcache
from fulfillment.models import FulfillmentOrder, FulfillmentStatus
from orders.models import Channel, Order, OrderStatus
from tests.admin.factories import OrderFactory
from tests.factories import LocationFactory

TODAY = timezone.localdate()


def at(day: dt.date, hour: int = 12) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=timezone.get_current_timezone())


def days_ago(n: int) -> dt.date:
    return TODAY - dt.timedelta(days=n)


def order(day: dt.date, *, total: str, channel: str = Channel.WEB, status: str = "completed",
          hour: int = 12, lines: int = 1, currency: str = "USD"):  # fmt: skip
    cancelled_at = at(day, hour) if status == OrderStatus.CANCELLED else None
    made = OrderFactory(channel=channel, status=status, placed_at=at(day, hour), lines=lines,
                        cancelled_at=cancelled_at, currency=currency)  # fmt: skip
    made.grand_total = Decimal(total)
    made.subtotal = made.grand_total - made.shipping_total
    made.save()
    return made


def sent(order_, location, number: str) -> FulfillmentOrder:
    return FulfillmentOrder.objects.create(
        number=number,
        order=order_,
        location=location,
        status=FulfillmentStatus.CLOSED,
        ship_by_date=order_.placed_at.date(),
    )


def ship(order_, *, shipped: int, cancelled: int = 0, returned: int = 0) -> None:
    """Each line of the order: ``shipped`` units out of its 2, ``returned`` back."""
    for line in order_.lines.all():
        line.quantity_shipped = line.quantity_delivered = shipped
        line.quantity_cancelled = cancelled
        line.quantity_returned = returned
        line.save()


def summary_rows() -> list[tuple]:
    rows = DailyOrderSummary.objects.values_list("day", "channel", "location", "orders")
    return sorted(rows, key=lambda row: (row[0], row[1], row[2] or 0))


def figures(filters: Filters) -> dict:
    """Every figure the summary serves, as the dashboard and the reports give them."""
    fill = selectors.fill_rate(filters)
    returned = selectors.return_rate(filters)
    return {
        "days": [(d.day, d.channel, d.orders, d.revenue) for d in selectors.sales_by_day(filters)],
        "cancelled": selectors.cancelled_orders(filters),
        "fill": (fill.complete, fill.lines),
        "returns": (returned.returned_units, returned.shipped_units),
        "by_channel": reports.sales_by_channel(filters).rows,
    }


@pytest.fixture
def business():
    """Orders over four days (the last one today, never summarized): two channels, a
    second currency, a draft, cancellations before and after shipping, returns, and
    fulfillment at two locations, one order split between them and one sent twice to
    the same one."""
    east, west = LocationFactory(code="EAST"), LocationFactory(code="WEST")
    a = order(days_ago(3), total="100.00", lines=2)
    ship(a, shipped=2)
    sent(a, east, "A1")
    b = order(days_ago(3), total="40.00", channel=Channel.MARKETPLACE)
    ship(b, shipped=1, cancelled=1, returned=1)  # short shipped, one returned
    sent(b, east, "B1")
    sent(b, west, "B2")  # split
    c = order(days_ago(2), total="70.00", status=OrderStatus.CANCELLED, lines=2)
    ship(c, shipped=1, cancelled=1)  # cancelled after shipping part: settled
    sent(c, west, "C1")
    sent(c, west, "C2")  # twice at the same location: counts once there
    order(days_ago(2), total="30.00", status=OrderStatus.CANCELLED)  # before shipping
    order(days_ago(2), total="55.00", currency="EUR")
    order(days_ago(1), total="25.00", status=OrderStatus.PLACED, lines=3)  # open
    order(days_ago(1), total="5.00", status=OrderStatus.DRAFT)  # never placed
    d = order(days_ago(0), total="90.00", lines=2)  # today: always read live
    ship(d, shipped=2, returned=2)
    sent(d, east, "D1")
    order(days_ago(9), total="999.00")  # before the range
    return east, west


def filter_sets(east, west) -> list[Filters]:
    week = (days_ago(6), TODAY)
    return [
        Filters(*week),
        Filters(*week, channel=Channel.MARKETPLACE),
        Filters(*week, location_id=east.pk),
        Filters(*week, location_id=west.pk),
        Filters(*week, channel=Channel.WEB, location_id=west.pk),
        Filters(days_ago(2), days_ago(1)),  # summarized days only
    ]


@pytest.mark.django_db
def test_the_summary_gives_the_live_figures_for_every_filter(business):
    east, west = business
    live = [figures(filters) for filters in filter_sets(east, west)]
    # The known answers, worked out by hand (the whole week, live).
    assert live[0]["days"] == [
        (days_ago(3), Channel.MARKETPLACE, 1, Decimal("40.00")),
        (days_ago(3), Channel.WEB, 1, Decimal("100.00")),
        (days_ago(2), Channel.WEB, 3, Decimal("0.00")),  # the euro order counts, not its money
        (days_ago(1), Channel.WEB, 1, Decimal("25.00")),
        (days_ago(0), Channel.WEB, 1, Decimal("90.00")),
    ]
    assert live[0]["cancelled"] == 2
    # Settled: a (2 lines, complete), b (1, short), c (2, short), the euro order (1, not
    # shipped) and d (2, complete); the order cancelled before shipping and the open one
    # are not.
    assert live[0]["fill"] == (4, 8)
    assert live[0]["returns"] == (1 + 4, 4 + 1 + 2 + 0 + 4)
    assert live[3]["days"] == [
        (days_ago(3), Channel.MARKETPLACE, 1, Decimal("40.00")),
        (days_ago(2), Channel.WEB, 1, Decimal("0.00")),
    ]

    assert summary.refresh_days(summary.days_with_orders()) == 9  # day -9 to yesterday
    assert DailySummaryDay.objects.filter(day=TODAY).exists() is False
    assert [figures(filters) for filters in filter_sets(east, west)] == live

    # The split order is in both locations' rows, the order sent twice to one counts once.
    west_rows = DailyOrderSummary.objects.filter(location=west, day=days_ago(2))
    assert [(r.channel, r.orders, r.cancelled, r.settled_lines) for r in west_rows] == [
        (Channel.WEB, 1, 1, 2)
    ]


@pytest.mark.django_db
def test_summarized_days_are_read_from_the_summary_in_two_queries(business):
    east, _west = business
    summary.refresh_days(summary.days_with_orders())
    past = Filters(days_ago(3), days_ago(1), location_id=east.pk)
    with CaptureQueriesContext(connection) as queries:
        totals = selectors.order_totals(past)
    assert len(queries) == 2
    assert "orders_order" not in " ".join(q["sql"] for q in queries.captured_queries)
    assert sum(row.orders for row in totals) == 2  # a and b were sent to EAST


@pytest.mark.django_db
def test_a_reader_in_another_time_zone_reads_the_orders_live(business):
    summary.refresh_days(summary.days_with_orders())
    with timezone.override("Pacific/Kiritimati"):  # UTC+14: other days
        other = Filters(days_ago(6), TODAY)
        with CaptureQueriesContext(connection) as queries:
            read = figures(other)
        DailySummaryDay.objects.all().delete()
        assert figures(other) == read
    assert any("orders_order" in q["sql"] for q in queries.captured_queries)


@pytest.mark.django_db
def test_a_refresh_replaces_a_days_rows_and_can_be_repeated(business):
    days = summary.days_with_orders()
    summary.refresh_days(days)
    rows = summary_rows()
    summary.refresh_days(days)
    assert summary_rows() == rows

    # An order of day -1 is cancelled: the summary shows it after the next refresh.
    open_order = Order.objects.get(status=OrderStatus.PLACED)
    Order.objects.filter(pk=open_order.pk).update(
        status=OrderStatus.CANCELLED, cancelled_at=timezone.now()
    )
    yesterday = Filters(days_ago(1), days_ago(1))
    assert selectors.cancelled_orders(yesterday) == 0  # as of the last refresh
    summary.refresh_days([days_ago(1)])
    assert selectors.cancelled_orders(yesterday) == 1
    assert selectors.sales_by_day(yesterday) == [
        selectors.DaySales(days_ago(1), Channel.WEB, 1, Decimal("0.00"))
    ]


@pytest.mark.django_db
def test_today_and_later_are_never_summarized(business):
    assert summary.refresh_days([TODAY, TODAY + dt.timedelta(days=1)]) == 0
    assert not DailySummaryDay.objects.exists()
    assert not DailyOrderSummary.objects.exists()


@pytest.mark.django_db
def test_the_beat_refresh_fills_recent_days_then_the_days_of_changed_orders(business):
    assert refresh_daily_summary() == summary.RECENT_DAYS  # nothing summarized yet
    assert DailySummaryDay.objects.count() == summary.RECENT_DAYS

    # An order of day -2 changes (its updated_at moves): only its day is refreshed.
    DailySummaryDay.objects.update(refreshed_at=timezone.now() - dt.timedelta(hours=1))
    Order.objects.filter(updated_at__gte=timezone.now() - dt.timedelta(days=1)).update(
        updated_at=timezone.now() - dt.timedelta(hours=2)
    )
    euro = Order.objects.get(currency="EUR")
    euro.status = OrderStatus.CANCELLED
    euro.cancelled_at = timezone.now()
    euro.save()
    assert refresh_daily_summary() == 1
    assert selectors.cancelled_orders(Filters(days_ago(2), days_ago(2))) == 3
    # Nightly: every recent day again.
    assert refresh_daily_summary(whole=True) == summary.RECENT_DAYS


def test_the_beat_runs_the_refreshes_on_the_default_queue():
    entries = [
        entry
        for entry in settings.CELERY_BEAT_SCHEDULE.values()
        if entry["task"] == "analytics.refresh_daily_summary"
    ]
    assert [entry.get("kwargs", {}).get("whole", False) for entry in entries] == [False, True]
    assert refresh_daily_summary.name not in settings.CELERY_TASK_ROUTES


@pytest.mark.django_db
def test_the_backfill_command_refreshes_a_period_and_refuses_bad_dates(business):
    call_command("refresh_daily_summary", "--since", str(days_ago(3)), "--until",
                 str(days_ago(2)), verbosity=0)  # fmt: skip
    assert sorted(DailySummaryDay.objects.values_list("day", flat=True)) == [
        days_ago(3),
        days_ago(2),
    ]
    with pytest.raises(CommandError, match="not a date"):
        call_command("refresh_daily_summary", "--since", "yesterday")
    with pytest.raises(CommandError, match="after"):
        call_command("refresh_daily_summary", "--since", str(days_ago(1)), "--until",
                     str(days_ago(2)))  # fmt: skip
    assert DailySummaryDay.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_refreshes_of_the_same_days_at_once_leave_one_set_of_rows(business):
    days = summary.days_with_orders()
    summary.refresh_days(days)
    expected = summary_rows()
    DailyOrderSummary.objects.all().delete()
    DailySummaryDay.objects.all().delete()
    errors: list[BaseException] = []
    barrier = threading.Barrier(3)

    def refresh() -> None:
        try:
            barrier.wait()
            summary.refresh_days(days)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=refresh) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert summary_rows() == expected
    assert DailySummaryDay.objects.count() == len(days)


@pytest.mark.django_db
def test_the_demo_seed_leaves_the_past_days_summarized(tmp_path):
    refcache.clear()
    with override_settings(OMS_DEMO_KEYS_FILE=tmp_path / "keys.txt", DEBUG=True):
        call_command("seed_demo", orders=60, customers=10, live_orders=0, quiet=True)
    refcache.clear()
    placed = Order.objects.filter(placed_at__isnull=False).order_by("placed_at").first()
    assert placed is not None
    first = timezone.localtime(placed.placed_at).date()
    held = set(DailySummaryDay.objects.values_list("day", flat=True))
    assert held == set(summary.days_with_orders(first))
    period = Filters(first, TODAY)
    with_summary = figures(period)
    DailySummaryDay.objects.all().delete()
    assert figures(period) == with_summary
    assert with_summary["days"]
