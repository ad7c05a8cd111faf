"""Order holds, the historical import, the transition table, derived statuses and the
database constraints that keep orders and their lines consistent."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.actors import Actor
from core.errors import Conflict, InvalidInput, NotFound
from core.models import OutboxEvent
from inventory.models import StockMovement
from orders import services
from orders.models import (
    ALLOWED_TRANSITIONS,
    Channel,
    FulfillmentStatus,
    HoldKind,
    Order,
    OrderEvent,
    OrderEventType,
    OrderHold,
    OrderLine,
    OrderStatus,
    ReturnStatus,
    can_transition,
    derive_fulfillment_status,
    derive_return_status,
)
from orders.services import HistoricalLine, money
from tests.factories import CustomerFactory, ProductFactory, ShippingMethodFactory
from tests.orders.factories import OrderFactory, OrderLineFactory

ADDRESS = {
    "name": "Pat Buyer",
    "line1": "350 Fifth Avenue",
    "city": "New York",
    "region": "NY",
    "postal_code": "10118",
    "country": "US",
}


def hold_state() -> tuple[list[tuple], int, int]:
    """Every hold as stored, the number of timeline events and of outbox rows."""
    holds = list(
        OrderHold.objects.order_by("id").values_list(
            "id", "order_id", "kind", "reason", "released_at", "release_reason"
        )
    )
    return holds, OrderEvent.objects.count(), OutboxEvent.objects.count()


# --- holds ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_place_hold_opens_a_hold_and_writes_one_event(staff_actor):
    order = OrderFactory()

    hold = services.place_hold(
        order=order,
        kind=HoldKind.FRAUD_REVIEW,
        reason="  card country mismatch ",
        actor=staff_actor,
    )

    hold.refresh_from_db()
    assert (hold.kind, hold.reason, hold.placed_by_label) == (
        HoldKind.FRAUD_REVIEW,
        "card country mismatch",
        "operator",
    )
    assert hold.is_open
    event = OrderEvent.objects.get(order=order)
    assert event.type == OrderEventType.HOLD_PLACED
    assert event.payload == {"hold_id": hold.pk, "kind": HoldKind.FRAUD_REVIEW}
    assert (event.actor_kind, event.actor_user_id) == ("user", staff_actor.user_id)
    assert "card country mismatch" in event.message


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kind", "reason", "error"),
    [
        (HoldKind.MANUAL, "", InvalidInput),
        (HoldKind.MANUAL, "  \n ", InvalidInput),
        ("vibes", "looks odd", InvalidInput),
        (HoldKind.PAYMENT, "again", Conflict),
    ],
)
def test_place_hold_refusals_write_nothing(system_actor, kind, reason, error):
    # given an order with an open payment hold
    order = OrderFactory()
    services.place_hold(order=order, kind=HoldKind.PAYMENT, reason="declined", actor=system_actor)
    before = hold_state()

    # when / then
    with pytest.raises(error):
        services.place_hold(order=order, kind=kind, reason=reason, actor=system_actor)
    assert hold_state() == before


@pytest.mark.django_db
def test_holds_of_different_kinds_coexist(system_actor):
    order = OrderFactory()

    for kind in (HoldKind.PAYMENT, HoldKind.ADDRESS, HoldKind.MANUAL):
        services.place_hold(order=order, kind=kind, reason="check", actor=system_actor)

    assert OrderHold.objects.filter(order=order, released_at__isnull=True).count() == 3
    assert OrderEvent.objects.filter(type=OrderEventType.HOLD_PLACED).count() == 3


@pytest.mark.django_db
@pytest.mark.parametrize("status", [OrderStatus.COMPLETED, OrderStatus.CANCELLED])
def test_closed_orders_cannot_be_held(system_actor, status):
    order = OrderFactory(status=status, cancelled_at=timezone.now())

    with pytest.raises(Conflict):
        services.place_hold(order=order, kind=HoldKind.MANUAL, reason="x", actor=system_actor)

    assert hold_state() == ([], 0, 0)


@pytest.mark.django_db
def test_release_hold_closes_it_with_a_reason_and_one_event(system_actor, staff_actor):
    order = OrderFactory()
    hold = services.place_hold(
        order=order, kind=HoldKind.ADDRESS, reason="no state", actor=system_actor
    )

    released = services.release_hold(
        hold_id=hold.pk, reason=" customer confirmed ", actor=staff_actor
    )

    released.refresh_from_db()
    assert released.released_at is not None
    assert (released.release_reason, released.released_by_id) == (
        "customer confirmed",
        staff_actor.user_id,
    )
    events = list(OrderEvent.objects.filter(order=order).values_list("type", "payload"))
    assert events == [
        (OrderEventType.HOLD_PLACED, {"hold_id": hold.pk, "kind": HoldKind.ADDRESS}),
        (OrderEventType.HOLD_RELEASED, {"hold_id": hold.pk, "kind": HoldKind.ADDRESS}),
    ]
    # and the kind can be held again
    services.place_hold(order=order, kind=HoldKind.ADDRESS, reason="again", actor=system_actor)
    assert OrderHold.objects.filter(order=order).count() == 2


@pytest.mark.django_db
def test_release_hold_refusals_write_nothing(system_actor):
    # given one released hold and one open hold
    order = OrderFactory()
    done = services.place_hold(order=order, kind=HoldKind.PAYMENT, reason="x", actor=system_actor)
    services.release_hold(hold_id=done.pk, reason="paid", actor=system_actor)
    open_hold = services.place_hold(
        order=order, kind=HoldKind.MANUAL, reason="x", actor=system_actor
    )
    before = hold_state()

    # then releasing twice, without a reason, or an unknown hold is refused
    with pytest.raises(services.HoldNotFound) as twice:
        services.release_hold(hold_id=done.pk, reason="paid again", actor=system_actor)
    with pytest.raises(InvalidInput):
        services.release_hold(hold_id=open_hold.pk, reason="   ", actor=system_actor)
    with pytest.raises(NotFound):
        services.release_hold(hold_id=open_hold.pk + 1000, reason="why", actor=system_actor)
    assert twice.value.code == "hold_not_open"
    assert hold_state() == before


@pytest.mark.django_db
def test_the_database_allows_one_open_hold_per_kind(system_actor):
    order = OrderFactory()
    services.place_hold(order=order, kind=HoldKind.MANUAL, reason="x", actor=system_actor)

    with pytest.raises(IntegrityError), transaction.atomic():
        OrderHold.objects.create(order=order, kind=HoldKind.MANUAL, reason="y", placed_by_label="z")


# --- historical import -------------------------------------------------------------


@pytest.fixture
def shipping_method(db):
    return ShippingMethodFactory(price=Decimal("6.50"))


def import_order(shipping_method, lines, **overrides) -> Order:
    args = {
        "customer": CustomerFactory(),
        "channel": Channel.IMPORT,
        "shipping_method": shipping_method,
        "address": ADDRESS,
        "lines": lines,
        "placed_at": timezone.now() - dt.timedelta(days=30),
        "outcome": OrderStatus.COMPLETED,
        "actor": Actor.system("import"),
    } | overrides
    return services.import_historical_order(**args)


def assert_totals_add_up(order: Order) -> None:
    lines = list(order.lines.all())
    assert order.subtotal == sum(
        (money(line.unit_price * line.quantity_live) for line in lines), Decimal("0")
    )
    assert order.tax_total == sum((line.tax_total for line in lines), Decimal("0"))
    assert order.grand_total == (
        order.subtotal + order.shipping_total + order.tax_total - order.discount_total
    )
    for line in lines:
        assert line.line_total == line.unit_price * line.quantity_ordered - line.discount_total


@pytest.mark.django_db
def test_import_of_a_completed_order_with_a_partial_cancel_and_a_partial_return(
    shipping_method,
):
    # given two lines: 3 mugs of which 1 was cancelled, 2 plates of which 1 came back
    mug, plate = ProductFactory(), ProductFactory()

    # when
    order = import_order(
        shipping_method,
        [
            HistoricalLine(product=mug, quantity=3, unit_price=Decimal("9.99"), cancelled=1),
            HistoricalLine(product=plate, quantity=2, unit_price=Decimal("4.25"), returned=1),
        ],
        tax_rate=Decimal("0.0725"),
        po_number="PO-9",
    )

    # then the totals count only what was not cancelled, tax is the sum of the lines'
    order.refresh_from_db()
    assert (order.status, order.po_number, order.channel) == (
        OrderStatus.COMPLETED,
        "PO-9",
        Channel.IMPORT,
    )
    assert order.subtotal == Decimal("28.48")  # 2 x 9.99 + 2 x 4.25
    assert order.shipping_total == Decimal("6.50")
    assert order.tax_total == Decimal("1.45") + Decimal("0.62")
    assert order.grand_total == Decimal("37.05")
    assert_totals_add_up(order)
    assert order.fulfillment_status == FulfillmentStatus.DELIVERED
    assert order.return_status == ReturnStatus.PARTIALLY_RETURNED
    assert order.completed_at is not None
    assert order.cancelled_at is None
    mug_line, plate_line = order.lines.order_by("line_number")
    assert (mug_line.quantity_cancelled, mug_line.quantity_delivered) == (1, 2)
    assert (plate_line.quantity_shipped, plate_line.quantity_returned) == (2, 1)
    # and it wrote one event and moved no stock
    assert list(order.events.values_list("type", flat=True)) == [OrderEventType.IMPORTED]
    assert not StockMovement.objects.exists()


@pytest.mark.django_db
def test_import_of_a_fully_returned_order(shipping_method):
    order = import_order(
        shipping_method,
        [HistoricalLine(product=ProductFactory(), quantity=2, unit_price=Decimal("5"), returned=2)],
    )

    assert order.return_status == ReturnStatus.RETURNED
    assert order.fulfillment_status == FulfillmentStatus.DELIVERED


@pytest.mark.django_db
def test_import_of_a_cancelled_order_charges_nothing(shipping_method):
    order = import_order(
        shipping_method,
        [
            HistoricalLine(product=ProductFactory(), quantity=2, unit_price=Decimal("5")),
            HistoricalLine(product=ProductFactory(), quantity=1, unit_price=Decimal("7.77")),
        ],
        outcome=OrderStatus.CANCELLED,
        tax_rate=Decimal("0.08"),
    )

    order.refresh_from_db()
    assert (order.status, order.fulfillment_status, order.return_status) == (
        OrderStatus.CANCELLED,
        FulfillmentStatus.NOTHING_TO_FULFIL,
        ReturnStatus.NONE,
    )
    assert order.cancelled_at is not None
    assert (order.subtotal, order.shipping_total, order.tax_total, order.grand_total) == (
        Decimal("0"),
        Decimal("0"),
        Decimal("0"),
        Decimal("0"),
    )
    assert [line.tax_total for line in order.lines.all()] == [Decimal("0"), Decimal("0")]
    assert_totals_add_up(order)


@pytest.mark.django_db
def test_imported_orders_get_unique_increasing_numbers(shipping_method):
    product = ProductFactory()

    numbers = [
        import_order(
            shipping_method, [HistoricalLine(product=product, quantity=1, unit_price=Decimal(1))]
        ).number
        for _ in range(3)
    ]

    assert all(re.fullmatch(r"SO-\d{7,}", number) for number in numbers)
    assert len(set(numbers)) == 3
    assert numbers == sorted(numbers, key=lambda n: int(n[3:]))


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("overrides", "line"),
    [
        ({"outcome": OrderStatus.PLACED}, {}),
        ({"channel": "fax"}, {}),
        ({"address": {**ADDRESS, "postal_code": "00000"}}, {}),
        ({}, {"quantity": 0}),
        ({}, {"cancelled": 4}),
        ({}, {"cancelled": -1}),
        ({}, {"returned": 4}),
        ({}, {"cancelled": 2, "returned": 2}),
        ({}, {"returned": -1}),
        ({}, {"unit_price": Decimal("-1.00")}),
        ({}, {"unit_price": Decimal("1.005")}),
    ],
)
def test_import_refusals_write_nothing(shipping_method, overrides, line):
    product = ProductFactory()
    spec = {"product": product, "quantity": 3, "unit_price": Decimal("2.50")} | line

    with pytest.raises(InvalidInput):
        import_order(shipping_method, [HistoricalLine(**spec)], **overrides)

    assert not Order.objects.exists()
    assert not OrderLine.objects.exists()
    assert not OrderEvent.objects.exists()


@pytest.mark.django_db
def test_an_import_without_lines_is_refused(shipping_method):
    with pytest.raises(InvalidInput):
        import_order(shipping_method, [])
    assert not Order.objects.exists()


LINE_SPECS = st.lists(
    st.tuples(
        st.integers(min_value=1, max_value=20),  # quantity
        st.integers(min_value=0, max_value=100_000),  # unit price in cents
        st.integers(min_value=0, max_value=20),  # cancelled (capped below)
        st.integers(min_value=0, max_value=20),  # returned (capped below)
    ),
    min_size=1,
    max_size=4,
)


@pytest.mark.django_db
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    specs=LINE_SPECS,
    outcome=st.sampled_from([OrderStatus.COMPLETED, OrderStatus.CANCELLED]),
    tax_rate=st.sampled_from([Decimal("0"), Decimal("0.0725"), Decimal("0.08875"), Decimal("0.2")]),
)
def test_imported_totals_always_add_up(shipping_method, specs, outcome, tax_rate):
    product = ProductFactory()
    lines = []
    for quantity, cents, cancel, give_back in specs:
        # A cancelled order shipped nothing, so nothing came back.
        cancelled = quantity if outcome == OrderStatus.CANCELLED else min(cancel, quantity)
        lines.append(
            HistoricalLine(
                product=product,
                quantity=quantity,
                unit_price=Decimal(cents) / 100,
                cancelled=cancelled,
                returned=min(give_back, quantity - cancelled),
            )
        )

    order = import_order(shipping_method, lines, outcome=outcome, tax_rate=tax_rate)

    order.refresh_from_db()
    assert_totals_add_up(order)
    for line in order.lines.all():
        assert line.tax_total == money(money(line.unit_price * line.quantity_live) * tax_rate)
    assert order.fulfillment_status in FulfillmentStatus.values
    assert order.return_status in ReturnStatus.values


# --- transitions ----------------------------------------------------------------------

TERMINAL = {OrderStatus.COMPLETED, OrderStatus.CANCELLED}


def test_every_status_has_a_row_and_every_target_is_a_status():
    assert set(ALLOWED_TRANSITIONS) == set(OrderStatus.values)
    for status, targets in ALLOWED_TRANSITIONS.items():
        assert targets <= set(OrderStatus.values)
        assert status not in targets


def test_terminal_statuses_have_no_way_out_and_the_others_can_cancel():
    for status, targets in ALLOWED_TRANSITIONS.items():
        if status in TERMINAL:
            assert targets == set()
        else:
            assert OrderStatus.CANCELLED in targets


def test_a_draft_is_placed_before_anything_else_and_never_comes_back():
    assert ALLOWED_TRANSITIONS[OrderStatus.DRAFT] == {OrderStatus.PLACED, OrderStatus.CANCELLED}
    assert all(OrderStatus.DRAFT not in targets for targets in ALLOWED_TRANSITIONS.values())


def test_every_status_is_reachable_from_draft():
    reached, frontier = {OrderStatus.DRAFT}, [OrderStatus.DRAFT]
    while frontier:
        for target in ALLOWED_TRANSITIONS[frontier.pop()]:
            if target not in reached:
                reached.add(target)
                frontier.append(target)
    assert reached == set(OrderStatus.values)


def test_can_transition_follows_the_table():
    for current in [*OrderStatus.values, "bogus"]:
        for new in [*OrderStatus.values, "bogus"]:
            expected = new in ALLOWED_TRANSITIONS.get(current, set())
            assert can_transition(current, new) is expected
    assert can_transition(OrderStatus.PROCESSING, OrderStatus.PLACED)  # re-routing
    assert not can_transition(OrderStatus.COMPLETED, OrderStatus.CANCELLED)


# --- derived statuses ----------------------------------------------------------------


def line(ordered: int = 4, **buckets: int) -> OrderLine:
    return OrderLine(quantity_ordered=ordered, **{f"quantity_{k}": v for k, v in buckets.items()})


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        ([], FulfillmentStatus.NOTHING_TO_FULFIL),
        ([line(cancelled=4)], FulfillmentStatus.NOTHING_TO_FULFIL),
        ([line(), line(allocated=4)], FulfillmentStatus.UNFULFILLED),
        ([line(shipped=1)], FulfillmentStatus.PARTIALLY_SHIPPED),
        ([line(shipped=4), line(ordered=1)], FulfillmentStatus.PARTIALLY_SHIPPED),
        ([line(shipped=3, cancelled=1)], FulfillmentStatus.SHIPPED),
        ([line(shipped=4, delivered=1)], FulfillmentStatus.PARTIALLY_DELIVERED),
        ([line(shipped=4, delivered=4), line(ordered=2)], FulfillmentStatus.PARTIALLY_DELIVERED),
        ([line(shipped=4, delivered=4), line(ordered=2, cancelled=2)], FulfillmentStatus.DELIVERED),
        ([line(shipped=2, delivered=2, cancelled=2)], FulfillmentStatus.DELIVERED),
    ],
)
def test_fulfillment_status_from_hand_built_lines(lines, expected):
    assert derive_fulfillment_status(lines) == expected


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        ([], ReturnStatus.NONE),
        ([line(shipped=4)], ReturnStatus.NONE),
        ([line(shipped=4, return_requested=1)], ReturnStatus.REQUESTED),
        ([line(shipped=4, return_requested=1, returned=1)], ReturnStatus.PARTIALLY_RETURNED),
        ([line(shipped=4, returned=4), line(shipped=1)], ReturnStatus.PARTIALLY_RETURNED),
        ([line(shipped=4, returned=4), line(cancelled=4)], ReturnStatus.RETURNED),
    ],
)
def test_return_status_from_hand_built_lines(lines, expected):
    assert derive_return_status(lines) == expected


@st.composite
def valid_lines(draw: st.DrawFn) -> list[OrderLine]:
    """Lines whose buckets satisfy the OrderLine CHECK constraints."""
    lines = []
    for _ in range(draw(st.integers(min_value=0, max_value=4))):
        ordered = draw(st.integers(min_value=1, max_value=10))
        cancelled = draw(st.integers(min_value=0, max_value=ordered))
        shipped = draw(st.integers(min_value=0, max_value=ordered - cancelled))
        allocated = draw(st.integers(min_value=0, max_value=ordered - cancelled - shipped))
        delivered = draw(st.integers(min_value=0, max_value=shipped))
        returned = draw(st.integers(min_value=0, max_value=shipped))
        requested = draw(st.integers(min_value=0, max_value=shipped - returned))
        lines.append(
            line(
                ordered,
                cancelled=cancelled,
                shipped=shipped,
                allocated=allocated,
                delivered=delivered,
                returned=returned,
                return_requested=requested,
            )
        )
    return lines


FULFILMENT_RANK = [
    FulfillmentStatus.UNFULFILLED,
    FulfillmentStatus.PARTIALLY_SHIPPED,
    FulfillmentStatus.SHIPPED,
    FulfillmentStatus.PARTIALLY_DELIVERED,
    FulfillmentStatus.DELIVERED,
]


@given(lines=valid_lines())
def test_fulfillment_status_properties(lines):
    status = derive_fulfillment_status(lines)
    live = sum(li.quantity_live for li in lines)

    assert status in FulfillmentStatus.values
    assert (status == FulfillmentStatus.NOTHING_TO_FULFIL) == (live == 0)
    everything_delivered = all(li.quantity_delivered == li.quantity_live for li in lines)
    assert (status == FulfillmentStatus.DELIVERED) == (live > 0 and everything_delivered)
    nothing_shipped = all(li.quantity_shipped == 0 for li in lines)
    assert (status == FulfillmentStatus.UNFULFILLED) == (live > 0 and nothing_shipped)


@given(lines=valid_lines(), index=st.integers(min_value=0, max_value=3))
def test_shipping_or_delivering_a_unit_never_moves_fulfilment_backwards(lines, index):
    if not lines or derive_fulfillment_status(lines) == FulfillmentStatus.NOTHING_TO_FULFIL:
        return
    before = FULFILMENT_RANK.index(derive_fulfillment_status(lines))
    chosen = lines[index % len(lines)]
    if chosen.quantity_delivered < chosen.quantity_shipped:
        chosen.quantity_delivered += 1
    elif chosen.quantity_shipped < chosen.quantity_live:
        chosen.quantity_shipped += 1
    assert FULFILMENT_RANK.index(derive_fulfillment_status(lines)) >= before


@given(lines=valid_lines())
def test_return_status_properties(lines):
    status = derive_return_status(lines)
    shipped = sum(li.quantity_shipped for li in lines)
    returned = sum(li.quantity_returned for li in lines)
    requested = sum(li.quantity_return_requested for li in lines)

    assert status in ReturnStatus.values
    assert (status == ReturnStatus.RETURNED) == (returned > 0 and returned == shipped)
    assert (status == ReturnStatus.NONE) == (returned == 0 and requested == 0)


# --- database constraints ----------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "buckets",
    [
        {"quantity_allocated": 2, "quantity_shipped": 1},
        {"quantity_cancelled": 3},
        {"quantity_backordered": 2, "quantity_cancelled": 1},
        {"quantity_shipped": 1, "quantity_delivered": 2},
        {"quantity_shipped": 1, "quantity_returned": 1, "quantity_return_requested": 1},
    ],
)
def test_the_database_refuses_line_buckets_that_do_not_fit(buckets):
    # given a line of 2 units
    order_line = OrderLineFactory(quantity_ordered=2)

    # when a raw update puts more units in its buckets than fit
    with pytest.raises(IntegrityError), transaction.atomic():
        OrderLine.objects.filter(pk=order_line.pk).update(**buckets)

    # then nothing changed
    order_line.refresh_from_db()
    assert (order_line.quantity_allocated, order_line.quantity_shipped) == (0, 0)
    assert (order_line.quantity_cancelled, order_line.quantity_delivered) == (0, 0)


@pytest.mark.django_db
def test_the_database_refuses_a_line_total_that_does_not_add_up():
    order_line = OrderLineFactory(quantity_ordered=2, unit_price=Decimal("10.00"))

    with pytest.raises(IntegrityError), transaction.atomic():
        OrderLine.objects.filter(pk=order_line.pk).update(line_total=F("line_total") + 1)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "change",
    [
        {"grand_total": F("grand_total") + Decimal("0.01")},
        {"tax_total": Decimal("1.00")},
        {"subtotal": Decimal("-5.00"), "grand_total": Decimal("0.00")},
        {"status": OrderStatus.PLACED, "placed_at": None},
        {"status": OrderStatus.CANCELLED, "cancelled_at": None},
    ],
)
def test_the_database_refuses_inconsistent_orders(change):
    order = OrderFactory()

    with pytest.raises(IntegrityError), transaction.atomic():
        Order.objects.filter(pk=order.pk).update(**change)

    order.refresh_from_db()
    assert (order.subtotal, order.grand_total, order.status) == (
        Decimal("20.00"),
        Decimal("25.00"),
        OrderStatus.PLACED,
    )
