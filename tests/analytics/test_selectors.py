"""The dashboard's figures on hand-built data whose answers are worked out by hand."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from analytics import selectors
from analytics.selectors import Filters, percentile
from core.actors import Actor
from fulfillment.models import FulfillmentOrder, FulfillmentOrderLine, FulfillmentStatus, Shipment
from inventory.models import NetworkStock, StockLevel
from orders.events import record_order_event
from orders.models import Channel, OrderEvent, OrderEventType, OrderHold, OrderStatus
from returns.models import ReturnLine, ReturnReason, ReturnRequest, ReturnStatus
from tests.admin.factories import OrderFactory, OrderLineFactory
from tests.factories import CarrierFactory, LocationFactory, ProductFactory

pytestmark = pytest.mark.django_db

ACTOR = Actor.system("analytics test")
TODAY = dt.date(2026, 3, 10)


def at(day: dt.date, hour: int = 12) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=timezone.get_current_timezone())


def days_ago(n: int) -> dt.date:
    return TODAY - dt.timedelta(days=n)


def week() -> Filters:
    return Filters(start_date=days_ago(6), end_date=TODAY)


def order(day: dt.date, *, total: str, channel: str = Channel.WEB, status: str = "completed",
          hour: int = 12, lines: int = 1):  # fmt: skip
    cancelled_at = at(day, hour) if status == OrderStatus.CANCELLED else None
    made = OrderFactory(channel=channel, status=status, placed_at=at(day, hour), lines=lines,
                        cancelled_at=cancelled_at)  # fmt: skip
    made.grand_total = Decimal(total)
    made.subtotal = made.grand_total - made.shipping_total
    made.save()
    return made


def shipped(order_, location, *, ship_by: dt.date, shipped_at: dt.datetime, number: str):
    fo = FulfillmentOrder.objects.create(
        number=number,
        order=order_,
        location=location,
        status=FulfillmentStatus.CLOSED,
        ship_by_date=ship_by,
    )
    Shipment.objects.create(
        fulfillment_order=fo, order=order_, service_level="standard", shipped_at=shipped_at
    )
    return fo


def test_sales_by_day_counts_orders_and_revenue_per_channel_in_fixed_queries():
    order(days_ago(0), total="100.00")
    order(days_ago(0), total="50.00")
    order(days_ago(0), total="30.00", channel=Channel.MARKETPLACE)
    order(days_ago(2), total="80.00", status=OrderStatus.CANCELLED)
    order(days_ago(2), total="20.00")
    order(days_ago(9), total="999.00")  # before the range
    order(days_ago(1), total="5.00", status=OrderStatus.DRAFT)  # never placed

    with CaptureQueriesContext(connection) as queries:
        days = selectors.sales_by_day(week())
    # The days the summary holds (none here), then the orders and their lines.
    assert len(queries) == 3

    assert [(d.day, d.channel, d.orders, d.revenue) for d in days] == [
        (days_ago(2), Channel.WEB, 2, Decimal("20.00")),
        (days_ago(0), Channel.MARKETPLACE, 1, Decimal("30.00")),
        (days_ago(0), Channel.WEB, 2, Decimal("150.00")),
    ]
    summary = selectors.sales_summary(days, selectors.cancelled_orders(week()))
    # 5 placed, 1 cancelled: revenue 200 over 4 kept orders.
    assert (summary.orders, summary.cancelled, summary.revenue) == (5, 1, Decimal("200.00"))
    assert summary.average_order_value == Decimal("50.00")
    assert summary.cancellation_rate == pytest.approx(0.2)

    web_only = Filters(days_ago(6), TODAY, channel=Channel.MARKETPLACE)
    assert [(d.orders, d.revenue) for d in selectors.sales_by_day(web_only)] == [
        (1, Decimal("30.00"))
    ]


def test_days_are_read_in_the_site_time_zone(settings):
    settings.TIME_ZONE = "America/New_York"
    with timezone.override("America/New_York"):
        # 23:30 in New York on day -1 is already day 0 in UTC.
        late = dt.datetime.combine(
            days_ago(1), dt.time(23, 30), tzinfo=timezone.get_current_timezone()
        )
        made = OrderFactory(placed_at=late, status=OrderStatus.COMPLETED)
        days = selectors.sales_by_day(Filters(days_ago(1), days_ago(1)))
    assert [(d.day, d.orders) for d in days] == [(days_ago(1), 1)]
    assert made.pk


def test_average_order_value_is_none_without_orders():
    summary = selectors.sales_summary([], 0)
    assert summary.average_order_value is None
    assert summary.cancellation_rate is None


def test_fill_rate_counts_lines_shipped_complete_of_settled_orders():
    done = order(days_ago(1), total="10.00", lines=3)
    first, second, third = done.lines.order_by("line_number")
    first.quantity_shipped = 2  # complete (2 ordered)
    second.quantity_shipped, second.quantity_cancelled = 1, 1  # short
    third.quantity_cancelled = 2  # out of stock: not shipped
    for line in (first, second, third):
        line.save()
    partly = order(days_ago(2), total="10.00", status=OrderStatus.CANCELLED, lines=1)
    line = partly.lines.get()
    line.quantity_shipped, line.quantity_cancelled = 1, 1
    line.save()
    # Cancelled by the customer before anything shipped, and an open order: not settled.
    order(days_ago(2), total="10.00", status=OrderStatus.CANCELLED, lines=2)
    order(days_ago(2), total="10.00", status=OrderStatus.PLACED, lines=2)

    with CaptureQueriesContext(connection) as queries:
        fill = selectors.fill_rate(week())
    assert len(queries) == 3
    # 1 complete of 4 settled lines.
    assert (fill.complete, fill.lines) == (1, 4)
    assert fill.rate == pytest.approx(0.25)


def test_on_time_rate_and_time_to_ship_read_the_first_shipment_on_the_location_clock():
    east = LocationFactory(code="EAST", time_zone="America/New_York")
    west = LocationFactory(code="WEST", time_zone="America/Los_Angeles")
    placed = days_ago(5)
    hours = [10, 20, 30, 40, 100]
    for n, spent in enumerate(hours[:4]):
        made = order(placed, total="10.00", hour=0)
        when = at(placed, 0) + dt.timedelta(hours=spent)
        # Ship-by the day of placement: the first two on time, the next two late.
        shipped(made, east, ship_by=placed, shipped_at=when, number=f"E{n}")
    # Shipped 02:00 UTC on day -3: still day -4 in Los Angeles, its ship-by day.
    made = order(placed, total="10.00", hour=0)
    fo = shipped(
        made,
        west,
        ship_by=days_ago(4),
        shipped_at=dt.datetime.combine(days_ago(3), dt.time(2), tzinfo=dt.UTC),
        number="W1",
    )
    # A second, later shipment of the same fulfillment order does not count again.
    Shipment.objects.create(
        fulfillment_order=fo, order=made, service_level="standard", shipped_at=at(TODAY)
    )
    # Shipped before the range: left out.
    old = order(days_ago(30), total="10.00")
    shipped(old, east, ship_by=days_ago(29), shipped_at=at(days_ago(29)), number="OLD")

    with CaptureQueriesContext(connection) as queries:
        performance = selectors.shipping_performance(week())
    assert len(queries) == 1

    assert (performance.shipped, performance.on_time) == (5, 3)
    assert performance.on_time_rate == pytest.approx(0.6)
    assert performance.by_location == {"EAST": (4, 2), "WEST": (1, 1)}
    # Hours: 10, 20, 30, 40 and 50 (00:00 UTC day -5 to 02:00 UTC day -3).
    assert performance.p50_hours == pytest.approx(30)
    assert performance.p90_hours == pytest.approx(46)  # 40 + 0.6 × (50 - 40)

    west_only = selectors.shipping_performance(Filters(days_ago(6), TODAY, location_id=west.pk))
    assert (west_only.shipped, west_only.on_time) == (1, 1)


def test_percentile_interpolates_between_ranks():
    assert percentile([], 0.5) is None
    assert percentile([7.0], 0.9) == 7.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.5) == pytest.approx(2.5)
    assert percentile([10.0, 20.0, 30.0, 40.0, 50.0], 0.9) == pytest.approx(46.0)


def test_backorders_count_units_waiting_on_open_orders():
    waiting = order(days_ago(40), total="10.00", status=OrderStatus.PLACED, lines=2)
    for line in waiting.lines.all():
        line.quantity_backordered = 2
        line.save()
    other = order(days_ago(1), total="10.00", status=OrderStatus.PROCESSING, lines=1)
    OrderLineFactory(order=other, line_number=2, quantity_ordered=5, quantity_backordered=3)
    closed = order(days_ago(1), total="10.00", status=OrderStatus.CANCELLED, lines=1)
    closed.lines.update(quantity_cancelled=2)

    result = selectors.backorders(week())
    assert (result.orders, result.lines, result.units) == (2, 3, 7)
    marketplace = selectors.backorders(Filters(days_ago(6), TODAY, channel=Channel.MARKETPLACE))
    assert (marketplace.orders, marketplace.units) == (0, 0)


def test_return_rate_and_top_reasons_by_units():
    damaged = ReturnReason.objects.create(code="test-dented", label="Arrived dented")
    size = ReturnReason.objects.create(code="test-size", label="Size too small")
    made = order(days_ago(3), total="10.00", lines=2)
    first, second = made.lines.order_by("line_number")
    first.quantity_shipped = first.quantity_delivered = 2
    first.quantity_returned = 1
    first.save()
    second.quantity_shipped = second.quantity_delivered = 2
    second.save()
    other = order(days_ago(2), total="10.00", lines=0)
    OrderLineFactory(order=other, line_number=1, quantity_ordered=4, quantity_shipped=4,
                     quantity_delivered=4)  # fmt: skip
    dock = LocationFactory(code="DOCK")

    def rma(number: str, status: str) -> ReturnRequest:
        return ReturnRequest.objects.create(
            number=number, order=made, customer=made.customer, status=status,
            method="ship", destination=dock,
        )  # fmt: skip

    kept = rma("R-1", ReturnStatus.CLOSED)
    ReturnLine.objects.create(request=kept, order_line=first, quantity=1, reason=damaged)
    ReturnLine.objects.create(request=kept, order_line=second, quantity=2, reason=size)
    dropped = rma("R-2", ReturnStatus.CANCELLED)
    ReturnLine.objects.create(request=dropped, order_line=first, quantity=1, reason=damaged)

    result = selectors.return_rate(week())
    # 1 unit returned of 8 shipped.
    assert (result.returned_units, result.shipped_units) == (1, 8)
    assert result.rate == pytest.approx(0.125)
    assert result.reasons == [("Size too small", 2), ("Arrived dented", 1)]


def test_top_cancellation_reasons_come_from_the_cancellation_events():
    for reason in ("Customer changed mind", "Customer changed mind", "Out of stock", ""):
        made = order(days_ago(1), total="10.00", status=OrderStatus.CANCELLED)
        record_order_event(
            order=made,
            type=OrderEventType.CANCELLED,
            actor=ACTOR,
            message="Order cancelled",
            payload={"reason": reason} if reason else {},
        )
    # An event of an order placed before the range is left out.
    old = order(days_ago(20), total="10.00", status=OrderStatus.CANCELLED)
    record_order_event(
        order=old, type=OrderEventType.CANCELLED, actor=ACTOR, payload={"reason": "Fraud"}
    )
    assert OrderEvent.objects.filter(type=OrderEventType.CANCELLED).count() == 5

    assert selectors.top_cancellation_reasons(week()) == [
        ("Customer changed mind", 2),
        ("Out of stock", 1),
        ("Not given", 1),
    ]


def test_low_stock_divides_available_by_daily_demand_over_28_days():
    fast = ProductFactory(sku="FAST")
    slow = ProductFactory(sku="SLOW")
    idle = ProductFactory(sku="IDLE")
    # 56 units of FAST over the window: 2 a day; 20 available → 10 days of cover.
    NetworkStock.objects.filter(product=fast).update(available=25, committed=5)
    # 28 units of SLOW: 1 a day; 100 available → 100 days: not low.
    NetworkStock.objects.filter(product=slow).update(available=100)
    NetworkStock.objects.filter(product=idle).update(available=0)
    for day in (days_ago(1), days_ago(20)):
        made = order(day, total="10.00", lines=0)
        OrderLineFactory(order=made, line_number=1, product=fast, quantity_ordered=30,
                         quantity_cancelled=2)  # fmt: skip
        OrderLineFactory(order=made, line_number=2, product=slow, quantity_ordered=14)
    # Ordered before the 28-day window: not demand.
    made = order(days_ago(40), total="10.00", lines=0)
    OrderLineFactory(order=made, line_number=1, product=slow, quantity_ordered=500)

    with CaptureQueriesContext(connection) as queries:
        low = selectors.low_stock(week())
    assert len(queries) == 3  # the window's range of order ids, its demand, the stock
    assert [(c.sku, c.available, c.daily_demand, c.days_of_cover) for c in low] == [
        ("FAST", 20, 2.0, 10.0)
    ]


def test_low_stock_at_a_location_reads_its_stock_and_the_work_sent_to_it():
    here = LocationFactory(code="HERE")
    product = ProductFactory(sku="MUG")
    StockLevel.objects.create(location=here, product=product, on_hand=10, allocated=2,
                              safety_stock=1)  # fmt: skip
    made = order(days_ago(2), total="10.00", lines=0)
    line = OrderLineFactory(order=made, line_number=1, product=product, quantity_ordered=60)
    fo = FulfillmentOrder.objects.create(
        number="FO-1", order=made, location=here, ship_by_date=TODAY
    )
    FulfillmentOrderLine.objects.create(fulfillment_order=fo, order_line=line, quantity=56)

    [cover] = selectors.low_stock(Filters(days_ago(6), TODAY, location_id=here.pk))
    # 7 available (10 - 2 - 1), 56 units over 28 days: 2 a day → 3.5 days.
    assert (cover.sku, cover.available, cover.days_of_cover) == ("MUG", 7, 3.5)


def test_holds_waiting_list_every_kind_with_open_counts():
    made = order(days_ago(1), total="10.00", status=OrderStatus.PLACED)
    OrderHold.objects.create(order=made, kind="fraud_review", reason="x", placed_by_label="t")
    OrderHold.objects.create(order=made, kind="manual", reason="x", placed_by_label="t")
    OrderHold.objects.create(
        order=made,
        kind="payment",
        reason="x",
        placed_by_label="t",
        released_at=timezone.now(),
        release_reason="Paid",
    )
    counts = {kind: count for kind, _, count in selectors.holds_waiting()}
    assert counts["fraud_review"] == 1
    assert counts["manual"] == 1
    assert counts["payment"] == 0
    assert len(counts) == 7


@pytest.mark.parametrize("zone", ["UTC", "America/Chicago"])
def test_postgresql_adds_up_the_shipping_figures_as_python_does(zone):
    from analytics import reports  # noqa: PLC0415 - the reports' own fallbacks below

    east = LocationFactory(code="EAST", time_zone="America/New_York")
    west = LocationFactory(code="WEST", time_zone="America/Los_Angeles")
    plain = LocationFactory(code="PLAIN", time_zone="")  # the reader's zone
    carrier = CarrierFactory(code="FAST", name="Fast Freight")
    number = 0
    for n in range(24):
        made = order(days_ago(n % 8), total="10.00", hour=n % 24,
                     channel=Channel.WEB if n % 3 else Channel.MARKETPLACE)  # fmt: skip
        location = (east, west, plain)[n % 3]
        left = at(days_ago(n % 8), 0) + dt.timedelta(hours=7 * n % 61)
        fo = shipped(made, location, ship_by=days_ago(n % 8 - 1), number=f"X{n}", shipped_at=left)
        fo.shipments.update(carrier=carrier if n % 2 else None)
        if n % 4 == 0:  # a second, later shipment
            number += 1
            Shipment.objects.create(
                fulfillment_order=fo, order=made, service_level="standard", carrier=carrier,
                shipped_at=at(days_ago(n % 8), 23), delivered_at=at(TODAY, 1),
            )  # fmt: skip
    filter_sets = [
        week(),
        Filters(days_ago(3), days_ago(1)),
        Filters(days_ago(6), TODAY, channel=Channel.MARKETPLACE),
        Filters(days_ago(6), TODAY, location_id=west.pk),
    ]
    with timezone.override(zone):
        for filters in filter_sets:
            assert selectors.shipping_performance(filters) == (
                selectors._shipping_performance_here(filters)
            )
            assert reports.fulfillment_by_location(filters).rows == [
                (code, int(n), int(ok), ok / n if n else None, round(hours / n, 1))
                for code, (n, ok, hours) in sorted(reports._first_shipments_here(filters).items())
            ]
            by_carrier = reports._carriers_here(filters)
            assert [row[:3] + row[4:5] for row in reports.fulfillment_by_carrier(filters).rows] == [
                (name, int(n), int(ok), int(done))
                for name, (n, ok, done, _) in sorted(by_carrier.items())
            ]
    assert number == 6
