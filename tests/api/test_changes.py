"""Cancellation and edits of a placed order: stock commitments follow the lines,
totals are re-derived, the timeline and the outbox record every change, holds are
re-evaluated, and a refused change writes nothing."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.utils import timezone

from core import outbox
from core.actors import Actor
from core.errors import InvalidInput
from core.models import OutboxEvent
from fulfillment.changes import add_line, cancel_order, change_line_quantity
from inventory import services as stock
from inventory.errors import InsufficientStock
from inventory.models import (
    MovementReason,
    NetworkReservation,
    NetworkStock,
    StockLevel,
    StockMovement,
)
from orders.changes import change_shipping_address, change_shipping_method
from orders.drafts import (
    create_draft_order,
    release_expired_draft_reservations,
    reserve_draft_stock,
)
from orders.errors import OrderNotCancellable, OrderNotEditable
from orders.models import (
    FulfillmentStatus,
    HoldKind,
    Notification,
    Order,
    OrderEvent,
    OrderEventType,
    OrderHold,
    OrderStatus,
)
from orders.placement import LineRequest, OrderRequest, place_order
from tests.factories import CustomerFactory, LocationFactory, ProductFactory

from .support import (
    ORDERS_URL,
    assert_commitments_match_orders,
    assert_ledger_reconciles,
    assert_problem,
    assert_totals_add_up,
    written,
)

pytestmark = pytest.mark.django_db

AGENT = Actor.system("agent")


@pytest.fixture
def run_outbox(django_capture_on_commit_callbacks):
    """Run the after-commit relay (and so the inline tasks) of what the block does."""

    def run():
        return django_capture_on_commit_callbacks(execute=True)

    return run


@pytest.fixture
def order(buyer, stocked, address, standard, tax, run_outbox):
    """5 of A and 3 of B at 10.00, shipped to New York (8.875 % tax), standard shipping."""
    with run_outbox():
        placed = place_order(
            request=OrderRequest(
                customer=buyer,
                channel="b2b_api",
                shipping_method_code="STANDARD",
                shipping_address=address,
                lines=[LineRequest(stocked[0].sku, 5), LineRequest(stocked[1].sku, 3)],
            ),
            actor=AGENT,
        )
    mail.outbox.clear()
    return placed.order


def committed(product):
    return NetworkStock.objects.get(product=product).committed


def reload(order):
    return Order.objects.get(pk=order.pk)


def events(order, type):
    return list(OrderEvent.objects.filter(order=order, type=type))


def cancellation_mails(order):
    subjects = {
        f"Your order {order.number} was cancelled",
        f"Part of your order {order.number} was cancelled",
    }
    return [m for m in mail.outbox if m.subject in subjects]


# --- cancellation -----------------------------------------------------------------


def test_partial_cancel_releases_its_units_and_rederives_totals(order, stocked, run_outbox):
    assert (committed(stocked[0]), committed(stocked[1])) == (5, 3)
    assert order.grand_total == Decimal("92.10")  # 80 + 5 shipping + 4.44 + 2.66 tax

    with run_outbox():
        cancel_order(order_id=order.pk, reason="over-ordered", actor=AGENT, lines={1: 2})

    order = reload(order)
    assert order.status == OrderStatus.PLACED
    assert (committed(stocked[0]), committed(stocked[1])) == (3, 3)
    assert order.lines.get(line_number=1).quantity_cancelled == 2
    assert order.subtotal == Decimal("60.00")
    assert order.tax_total == Decimal("5.32")  # 2.66 per line
    assert order.grand_total == Decimal("70.32")
    assert_totals_add_up(order)
    [event] = events(order, OrderEventType.LINES_CANCELLED)
    assert event.payload == {
        "reason": "over-ordered",
        "lines": {f"{stocked[0].sku}#1": 2},
        "grand_total_before": "92.10",
        "grand_total_after": "70.32",
    }
    assert not events(order, OrderEventType.CANCELLED)
    [relayed] = OutboxEvent.objects.filter(topic="order.cancelled")
    # the amount no longer charged goes into the customer's message
    assert relayed.payload == {"order_id": order.pk, "whole": False, "amount": "21.78"}
    assert relayed.published_at is not None
    [message] = cancellation_mails(order)
    assert "2 × " in message.body
    assert_commitments_match_orders()


def test_a_cancellation_email_is_sent_exactly_once(order, run_outbox):
    with run_outbox():
        cancel_order(order_id=order.pk, reason="over-ordered", actor=AGENT, lines={1: 2})
    relayed = OutboxEvent.objects.get(topic="order.cancelled")

    with run_outbox():
        outbox.relay_events([relayed])  # the broker delivers it again
        outbox.sweep(older_than=timedelta(0))

    assert len(cancellation_mails(order)) == 1
    assert Notification.objects.filter(order=order, event="cancelled").count() == 1


def test_each_cancellation_is_notified_once(order, run_outbox):
    with run_outbox():
        cancel_order(order_id=order.pk, reason="over-ordered", actor=AGENT, lines={1: 2})
    with run_outbox():
        cancel_order(order_id=order.pk, reason="no longer needed", actor=AGENT)
    with run_outbox():
        outbox.relay_events(list(OutboxEvent.objects.filter(topic="order.cancelled")))

    first, second = cancellation_mails(order)
    assert "Part of your order" in first.body
    assert "has been cancelled" in second.body
    assert Notification.objects.filter(order=order, event="cancelled", status="sent").count() == 2


def test_whole_cancel_releases_everything(order, stocked, run_outbox):
    with run_outbox():
        cancel_order(order_id=order.pk, reason="customer request", actor=AGENT)

    order = reload(order)
    assert order.status == OrderStatus.CANCELLED
    assert order.cancelled_at is not None
    assert order.fulfillment_status == FulfillmentStatus.NOTHING_TO_FULFIL
    assert (order.subtotal, order.shipping_total, order.tax_total, order.grand_total) == (
        0,
        0,
        0,
        0,
    )
    assert [li.quantity_cancelled for li in order.lines.all()] == [5, 3]
    assert (committed(stocked[0]), committed(stocked[1])) == (0, 0)
    assert len(events(order, OrderEventType.CANCELLED)) == 1
    assert OutboxEvent.objects.get(topic="order.cancelled").payload["whole"] is True
    assert len(cancellation_mails(order)) == 1
    assert_commitments_match_orders()


def test_whole_cancel_through_the_api(api, stocked, address, standard):
    placed = api.post(
        ORDERS_URL,
        {
            "shipping_address": address,
            "shipping_method": "STANDARD",
            "lines": [{"sku": stocked[0].sku, "quantity": 4}],
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY="c-1",
    ).json()

    partial = api.post(
        f"{ORDERS_URL}{placed['number']}/cancel/",
        {"reason": "fewer", "lines": [{"line_number": 1, "quantity": 1}]},
        format="json",
    )
    whole = api.post(f"{ORDERS_URL}{placed['number']}/cancel/", {"reason": "all"}, format="json")

    assert partial.status_code == 200, partial.content
    assert partial.json()["lines"][0]["quantity_cancelled"] == 1
    assert partial.json()["totals"]["subtotal"] == "30.00"
    assert whole.json()["status"] == "cancelled"
    assert whole.json()["lines"][0]["quantity_cancelled"] == 4
    assert committed(stocked[0]) == 0


@pytest.fixture
def store(pickup_method):
    return LocationFactory(code="ST-NYC", kind="store", pickup=True, postal_code="10001")


@pytest.fixture
def customer_at_store(store, system_actor):
    """A B2C customer, and a SKU with 4 units at the pickup store only."""
    product = ProductFactory(list_price=Decimal("25.00"))
    stock.receive_stock(location=store, product=product, quantity=4, actor=system_actor)
    return CustomerFactory(), product


def test_cancelling_a_pickup_order_releases_its_store_allocation(
    customer_at_store, store, run_outbox
):
    buyer, product = customer_at_store
    with run_outbox():
        placed = place_order(
            request=OrderRequest(
                customer=buyer,
                channel="web",
                shipping_method_code="PICKUP",
                pickup_location_code=store.code,
                lines=[LineRequest(product.sku, 3)],
            ),
            actor=AGENT,
        )
    level = StockLevel.objects.get(location=store, product=product)
    assert (level.allocated, NetworkStock.objects.get(product=product).available) == (3, 1)

    with run_outbox():
        cancel_order(order_id=placed.order.pk, reason="changed mind", actor=AGENT, lines={1: 1})
        cancel_order(order_id=placed.order.pk, reason="changed mind", actor=AGENT)

    level.refresh_from_db()
    assert level.allocated == 0
    assert NetworkStock.objects.get(product=product).available == 4
    releases = StockMovement.objects.filter(
        stock_level=level, reason=MovementReason.DEALLOCATION
    ).order_by("id")
    assert [(m.bucket, m.delta, m.reference) for m in releases] == [
        ("allocated", -1, placed.order.number),
        ("allocated", -2, placed.order.number),
    ]
    assert reload(placed.order).status == OrderStatus.CANCELLED
    assert_ledger_reconciles()
    assert_commitments_match_orders()


# --- edits --------------------------------------------------------------------------


def test_raising_a_quantity_commits_more(order, stocked):
    change_line_quantity(order_id=order.pk, line_number=1, quantity=8, actor=AGENT)

    order = reload(order)
    assert committed(stocked[0]) == 8
    assert order.lines.get(line_number=1).line_total == Decimal("80.00")
    assert order.subtotal == Decimal("110.00")
    assert_totals_add_up(order)
    [event] = events(order, OrderEventType.EDITED)
    assert event.payload["before"]["quantity"] == 5
    assert event.payload["after"]["quantity"] == 8
    assert event.payload["after"]["grand_total"] == str(order.grand_total)
    assert OutboxEvent.objects.filter(topic="order.edited").count() == 1
    assert_commitments_match_orders()


def test_raising_a_quantity_beyond_stock_is_refused_and_changes_nothing(order, stocked):
    before = written()

    with pytest.raises(InsufficientStock) as refused:
        change_line_quantity(order_id=order.pk, line_number=1, quantity=106, actor=AGENT)

    assert refused.value.code == "insufficient_stock"
    assert refused.value.details["lines"] == [
        {"line": 1, "sku": stocked[0].sku, "requested": 101, "available": 95}
    ]
    assert written() == before


def test_lowering_a_quantity_releases_units(order, stocked):
    change_line_quantity(order_id=order.pk, line_number=2, quantity=1, actor=AGENT)

    order = reload(order)
    assert committed(stocked[1]) == 1
    assert order.subtotal == Decimal("60.00")
    assert_totals_add_up(order)
    assert_commitments_match_orders()


def test_adding_a_line_commits_it(order, stocked):
    add_line(order_id=order.pk, sku=stocked[2].sku.lower(), quantity=4, actor=AGENT)

    order = reload(order)
    line = order.lines.get(line_number=3)
    assert (line.sku, line.quantity_ordered, line.unit_price) == (
        stocked[2].sku,
        4,
        Decimal("10.00"),
    )
    assert committed(stocked[2]) == 4
    assert order.subtotal == Decimal("120.00")
    assert_totals_add_up(order)
    assert events(order, OrderEventType.EDITED)[0].payload["after"]["sku"] == stocked[2].sku
    assert_commitments_match_orders()


def test_adding_a_line_beyond_stock_is_refused_and_changes_nothing(order, stocked):
    before = written()

    with pytest.raises(InsufficientStock):
        add_line(order_id=order.pk, sku=stocked[2].sku, quantity=101, actor=AGENT)

    assert written() == before


def test_changing_the_address_retaxes_the_order(order, ca_address):
    assert order.tax_rate == Decimal("0.08875")

    change_shipping_address(order_id=order.pk, address=ca_address, actor=AGENT)

    order = reload(order)
    assert (order.ship_city, order.ship_region, order.ship_postal_code) == (
        "San Francisco",
        "CA",
        "94102",
    )
    assert order.tax_rate == Decimal("0.07250")
    # Per line: 50 × 7.25 % = 3.625 → 3.63 and 30 × 7.25 % = 2.175 → 2.18.
    assert order.tax_total == Decimal("5.81")
    assert order.grand_total == Decimal("90.81")
    assert_totals_add_up(order)
    [event] = events(order, OrderEventType.EDITED)
    assert "New York" in event.payload["before"]["address"]
    assert "San Francisco" in event.payload["after"]["address"]
    assert event.payload["before"]["grand_total"] == "92.10"
    assert event.payload["after"]["grand_total"] == "90.81"


def test_an_invalid_new_address_is_refused_and_changes_nothing(order, ca_address):
    before = written()

    with pytest.raises(InvalidInput) as refused:
        change_shipping_address(
            order_id=order.pk, address={**ca_address, "postal_code": "00000"}, actor=AGENT
        )

    assert refused.value.code == "invalid_input"
    assert written() == before


def test_changing_the_shipping_method_changes_the_shipping_charge(order, express):
    change_shipping_method(order_id=order.pk, code="EXPRESS", actor=AGENT)

    order = reload(order)
    assert order.shipping_method == express
    assert order.shipping_total == Decimal("15.00")
    assert order.grand_total == Decimal("102.10")
    assert_totals_add_up(order)
    [event] = events(order, OrderEventType.EDITED)
    assert event.payload["before"]["shipping_method"] == "STANDARD"
    assert event.payload["after"]["shipping_total"] == "15.00"


@pytest.mark.parametrize(
    "edit",
    [
        pytest.param(
            lambda o, p: change_line_quantity(
                order_id=o.pk, line_number=1, quantity=6, actor=AGENT
            ),
            id="quantity",
        ),
        pytest.param(
            lambda o, p: add_line(order_id=o.pk, sku=p.sku, quantity=1, actor=AGENT),
            id="add-line",
        ),
        pytest.param(
            lambda o, p: change_shipping_address(
                order_id=o.pk,
                address={
                    "line1": "1 Main St",
                    "city": "Albany",
                    "postal_code": "12207",
                    "region": "NY",
                    "country": "US",
                    "name": "X",
                },
                actor=AGENT,
            ),
            id="address",
        ),
        pytest.param(
            lambda o, p: change_shipping_method(order_id=o.pk, code="EXPRESS", actor=AGENT),
            id="method",
        ),
    ],
)
def test_a_cancelled_order_cannot_be_edited(order, stocked, express, edit):
    cancel_order(order_id=order.pk, reason="gone", actor=AGENT)
    before = written()

    with pytest.raises(OrderNotEditable) as refused:
        edit(order, stocked[2])

    assert refused.value.code == "order_not_editable"
    assert refused.value.status == 409
    assert written() == before


def test_holds_follow_the_edited_total(order, company):
    company.approval_threshold = Decimal("200")
    company.save()

    change_line_quantity(order_id=order.pk, line_number=1, quantity=20, actor=AGENT)

    [hold] = OrderHold.objects.filter(order=order)
    assert (hold.kind, hold.released_at) == (HoldKind.B2B_APPROVAL, None)
    assert len(events(order, OrderEventType.HOLD_PLACED)) == 1

    change_line_quantity(order_id=order.pk, line_number=1, quantity=5, actor=AGENT)

    hold.refresh_from_db()
    assert hold.released_at is not None
    assert hold.release_reason
    [released] = events(order, OrderEventType.HOLD_RELEASED)
    assert released.payload == {"kind": HoldKind.B2B_APPROVAL, "hold_id": hold.pk}
    edited = events(order, OrderEventType.EDITED)
    assert [e.payload["holds"] for e in edited] == [["+b2b_approval"], ["-b2b_approval"]]


# --- drafts -------------------------------------------------------------------------


@pytest.fixture
def draft(buyer, stocked, address, standard, tax):
    """A sales rep's draft of 5 of A for the company: priced, committing nothing."""
    return create_draft_order(
        request=OrderRequest(
            customer=buyer,
            channel="sales",
            shipping_method_code="STANDARD",
            shipping_address=address,
            lines=[LineRequest(stocked[0].sku, 5)],
        ),
        actor=AGENT,
    )


def test_a_draft_cannot_be_cancelled_and_keeps_its_reservation(order, draft, stocked):
    """A draft never committed anything: "releasing" its lines would take units from
    placed orders, and a cancelled order must have been placed. Refused, unchanged."""
    reserve_draft_stock(order_id=draft.pk, actor=AGENT)
    assert committed(stocked[0]) == 10  # the placed order's 5 and the reservation's 5
    before = written()

    with pytest.raises(OrderNotCancellable) as refused:
        cancel_order(order_id=draft.pk, reason="not needed", actor=AGENT)

    assert refused.value.status == 409
    assert written() == before
    assert reload(draft).status == OrderStatus.DRAFT
    assert NetworkReservation.objects.get().status == "active"
    release_expired_draft_reservations(now=timezone.now() + timedelta(days=60))
    assert committed(stocked[0]) == 5
    assert_commitments_match_orders()


def test_a_draft_is_invisible_to_the_api(api, draft):
    before = written()

    detail = api.get(f"{ORDERS_URL}{draft.number}/")
    cancel = api.post(f"{ORDERS_URL}{draft.number}/cancel/", {"reason": "x"}, format="json")

    assert_problem(detail, 404, "not_found")
    assert_problem(cancel, 404, "not_found")
    assert written() == before
    assert api.get(ORDERS_URL).json()["results"] == []
