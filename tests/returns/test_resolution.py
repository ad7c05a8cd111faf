"""How returns end: refund (once, less the restocking fee), refund without return,
exchange (a no-charge replacement that ships only after the return is in), and the
return parcel's tracking through the carriers' webhook. Orders are placed, shipped,
invoiced, captured and delivered through the real services; tasks run inline after
commit, the payment provider is the built-in test gateway."""

from decimal import Decimal

import pytest
from django.db.models import Sum
from django.utils import timezone
from rest_framework.test import APIClient

from billing.models import (
    CreditNote,
    Invoice,
    InvoiceLine,
    PaymentTransaction,
    Refund,
    RefundStatus,
    TransactionKind,
)
from billing.providers.test import DEFAULT_STORE
from core import refcache
from core.actors import Actor
from core.models import OutboxEvent
from core.money import to_cents
from customers.store_credit import get_store_credit_balance
from fulfillment.models import FulfillmentOrder, Shipment
from fulfillment.operations import record_tracking_event, ship_fulfillment_order
from fulfillment.routing import route_order
from inventory import services as stock
from inventory.models import MovementReason, NetworkStock, StockLevel, StockMovement
from orders.models import HoldKind, Order, OrderEvent, OrderHold, TaxRate
from orders.placement import LineRequest, OrderRequest, place_order
from returns import resolution, services, tracking
from returns.models import ReturnEvent, ReturnRefund, ReturnRequest, ReturnStatus
from shipping.models import Carrier
from tests.api.support import run_together
from tests.factories import (
    CarrierFactory,
    CustomerFactory,
    LocationFactory,
    ProductFactory,
    ShippingMethodFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db(transaction=True)

D = Decimal
SYSTEM = Actor.system("test")
SECRET = "s3cret"
ADDRESS = {
    "name": "Pat",
    "line1": "350 Fifth Avenue",
    "city": "New York",
    "region": "NY",
    "postal_code": "10001",
    "country": "US",
}


@pytest.fixture(autouse=True)
def _fresh():
    refcache.clear()
    DEFAULT_STORE.clear()
    yield
    refcache.clear()
    DEFAULT_STORE.clear()


@pytest.fixture
def shop(db, default_policy):
    """A warehouse that ships and takes returns, the simulated carrier (its webhook
    secret set), the standard method ($5.00) and New York's tax (8.875 %)."""
    carrier = CarrierFactory(code="SIM", name="Simulated Carrier")
    carrier.webhook_secret = SECRET
    carrier.save()
    ShippingMethodFactory(price=D("5.00"))
    TaxRate.objects.create(country="US", region="NY", rate=D("0.08875"), taxes_shipping=True)
    return LocationFactory(
        code="NWK",
        line1="1 Dock Rd",
        city="Newark",
        postal_code="07102",
        region="NJ",
        latitude=D("40.7357"),
        longitude=D("-74.1724"),
    )


@pytest.fixture
def agent():
    return Actor.for_user(UserFactory(username="agent-resolution", is_superuser=True))


def product(warehouse, price: str, units: int = 50):
    made = ProductFactory(list_price=D(price))
    stock.receive_stock(location=warehouse, product=made, quantity=units, actor=SYSTEM)
    return made


def carrier_posts(event: dict) -> tuple[int, dict]:
    answer = APIClient().post(
        "/api/carriers/SIM/events/", event, format="json", HTTP_X_CARRIER_TOKEN=SECRET
    )
    return answer.status_code, answer.json()


def scan(tracking_number: str, status: str, event_id: str, **extra) -> dict:
    return {
        "tracking_number": tracking_number,
        "status": status,
        "occurred_at": timezone.now().isoformat(),
        "event_id": event_id,
        **extra,
    }


def delivered_card_order(warehouse, lines, *, through_webhook: bool = False) -> Order:
    """A card order placed, routed, shipped (invoiced and captured) and delivered."""
    order = place_order(
        request=OrderRequest(
            customer=CustomerFactory(),
            channel="web",
            shipping_method_code="STANDARD",
            shipping_address=ADDRESS,
            lines=[LineRequest(sku=p.sku, quantity=q) for p, q in lines],
            payment_token="tok_approve",
        ),
        actor=SYSTEM,
    ).order
    route_order(order_id=order.pk)
    fo = FulfillmentOrder.objects.get(order=order)
    shipment = ship_fulfillment_order(fo_id=fo.pk, actor=SYSTEM)
    if through_webhook:
        assert carrier_posts(scan(shipment.tracking_number, "delivered", "ship-1"))[0] == 202
    else:
        record_tracking_event(
            shipment_id=shipment.pk,
            status="delivered",
            occurred_at=timezone.now(),
            external_id="ship-1",
        )
    order.refresh_from_db()
    assert order.fulfillment_status == "delivered"
    return order


def on_hand(location, made) -> int:
    return StockLevel.objects.get(location=location, product=made).on_hand


def topics(rma: ReturnRequest) -> list[str]:
    return sorted(
        OutboxEvent.objects.filter(
            topic__startswith="return.", payload__return_id=rma.pk
        ).values_list("topic", flat=True)
    )


def test_full_cycle_restocks_once_and_refunds_once(shop, agent):
    mug = product(shop, "30.00")
    order = delivered_card_order(shop, [(mug, 2)], through_webhook=True)
    line = order.lines.get()
    stock_before = on_hand(shop, mug)

    # request (15 % restocking fee: waits for an agent) → approve → label
    rma = services.request_return(
        order=order,
        lines=[services.ReturnLineInput(line.pk, 2, "no_longer_needed")],
        method="mail",
        actor=agent,
    )
    assert rma.status == ReturnStatus.REQUESTED
    services.approve_return(request_id=rma.pk, actor=agent)
    rma = tracking.set_return_tracking(
        request_id=rma.pk, carrier=Carrier.objects.get(code="SIM"), actor=agent
    )
    assert rma.tracking_number.startswith("SIM")

    # the carrier scans the parcel through the webhook: on its way, then delivered to us
    assert carrier_posts(scan(rma.tracking_number, "in_transit", "r-1", location="NYC")) == (
        202,
        {"status": "recorded"},
    )
    assert carrier_posts(scan(rma.tracking_number, "in_transit", "r-1"))[1] == {
        "status": "duplicate"
    }
    assert carrier_posts(scan(rma.tracking_number, "delivered", "r-2"))[0] == 202
    rma.refresh_from_db()
    assert rma.status == ReturnStatus.IN_TRANSIT
    assert rma.tracking_status == "delivered"
    assert rma.delivered_at is not None
    scans = list(rma.events.filter(type="tracking").values_list("message", flat=True))
    assert len(scans) == 3  # the label, in transit, delivered (the duplicate is not)
    assert "delivered to NWK" in scans[-1]

    # receive and inspect: restocked, refunded less the fee, closed
    units = [services.ReceivedUnits(rma.lines.get().pk, 2, "new", "restock")]
    services.receive_return(
        request_id=rma.pk, token="receipt-1", location=shop, units=units, actor=agent
    )
    invoice_line = InvoiceLine.objects.get(order_line=line)
    value = invoice_line.line_total + invoice_line.tax
    fee = to_cents(value * D("0.15"))
    [made] = ReturnRefund.objects.filter(request=rma)
    assert (made.amount, made.restocking_fee) == (value - fee, fee)
    [refund] = Refund.objects.filter(order=order)
    assert refund.amount == value - fee
    assert refund.status == RefundStatus.REFUNDED  # paid back to the card after commit
    [credit_note] = CreditNote.objects.filter(order=order)
    rma.refresh_from_db()
    assert rma.status == ReturnStatus.CLOSED
    assert rma.lines.get().quantity_refunded == 2
    assert on_hand(shop, mug) == stock_before + 2

    # resubmitting the receipt, or the consumers running again, changes nothing
    services.receive_return(
        request_id=rma.pk, token="receipt-1", location=shop, units=units, actor=agent
    )
    resolution.resolve_return(request_id=rma.pk)
    assert resolution.refund_return(request_id=rma.pk) is None
    assert Refund.objects.filter(order=order).count() == 1
    assert CreditNote.objects.filter(order=order).count() == 1
    assert (
        StockMovement.objects.filter(
            reference=rma.number, reason=MovementReason.RETURN_RESTOCK
        ).count()
        == 1
    )
    assert on_hand(shop, mug) == stock_before + 2

    # every step on the return's history, the order's timeline and the outbox
    assert topics(rma) == [
        "return.approved",
        "return.received",
        "return.refunded",
        "return.requested",
    ]
    steps = set(OrderEvent.objects.filter(order=order).values_list("type", flat=True))
    assert {
        "return_requested",
        "return_approved",
        "return_tracking",
        "return_in_transit",
        "return_received",
        "return_refunded",
        "return_closed",
    } <= steps
    refunded = ReturnEvent.objects.get(request=rma, type="refunded")
    assert credit_note.number in refunded.message
    assert "restocking fee" in refunded.message


def test_a_reason_without_fee_is_refunded_unit_by_unit_on_each_receipt(shop, agent):
    mug = product(shop, "30.00")
    order = delivered_card_order(shop, [(mug, 2)])
    line = order.lines.get()
    rma = services.request_return(
        order=order,
        lines=[services.ReturnLineInput(line.pk, 2, "damaged")],  # approved by the policy
        method="mail",
        actor=agent,
    )
    return_line = rma.lines.get()

    services.receive_return(
        request_id=rma.pk,
        token="first",
        location=shop,
        units=[services.ReceivedUnits(return_line.pk, 1, "damaged", "damaged")],
        actor=agent,
    )
    services.receive_return(
        request_id=rma.pk,
        token="second",
        location=shop,
        units=[services.ReceivedUnits(return_line.pk, 1, "damaged", "scrap")],
        actor=agent,
    )

    refunds = list(ReturnRefund.objects.filter(request=rma).order_by("id"))
    assert len(refunds) == 2
    assert all(r.restocking_fee == 0 for r in refunds)
    # credited as lines: one unit on each credit note
    notes = CreditNote.objects.filter(order=order)
    assert [n.lines.aggregate(q=Sum("quantity"))["q"] for n in notes] == [1, 1]
    invoice = Invoice.objects.get(order=order)
    assert sum(r.amount for r in refunds) == invoice.lines.get().line_total + (
        invoice.lines.get().tax
    )
    rma.refresh_from_db()
    assert rma.status == ReturnStatus.CLOSED


def test_refund_without_return_refunds_on_approval_and_the_customer_keeps_it(
    shop, agent, default_policy
):
    default_policy.refund_without_return_below = D("50")
    default_policy.save()
    mug = product(shop, "12.00")
    order = delivered_card_order(shop, [(mug, 3)])
    line = order.lines.get()
    stock_before = on_hand(shop, mug)

    rma = services.request_return(
        order=order,
        lines=[services.ReturnLineInput(line.pk, 1, "damaged")],
        method="mail",
        actor=agent,
    )

    rma.refresh_from_db()
    assert rma.keep_items
    assert rma.status == ReturnStatus.CLOSED
    [made] = ReturnRefund.objects.filter(request=rma)
    assert made.amount > D("12.00")  # tax included
    line.refresh_from_db()
    assert (line.quantity_return_requested, line.quantity_returned) == (0, 1)
    assert on_hand(shop, mug) == stock_before  # nothing came back
    assert "return.refunded" in topics(rma)
    resolution.resolve_return(request_id=rma.pk)
    assert ReturnRefund.objects.filter(request=rma).count() == 1


def test_an_exchange_ships_only_after_the_return_is_received(shop, agent, settings):
    settings.OMS_AUTO_ROUTE = True  # orders are routed by the outbox's consumer
    red = product(shop, "30.00")
    blue = product(shop, "25.00")
    order = delivered_card_order(shop, [(red, 1)])
    line = order.lines.get()

    rma = services.request_return(
        order=order,
        lines=[services.ReturnLineInput(line.pk, 1, "wrong_item")],  # approved by the policy
        method="mail",
        actor=agent,
        resolution="exchange",
        exchange_lines=[resolution.ExchangeLineInput(sku=blue.sku.lower(), quantity=1)],
    )

    rma.refresh_from_db()
    replacement = rma.exchange_order
    assert replacement is not None
    assert replacement.grand_total == 0
    assert [(li.sku, li.quantity_ordered, li.unit_price) for li in replacement.lines.all()] == [
        (blue.sku, 1, D("0"))
    ]
    assert OrderHold.objects.filter(
        order=replacement, kind=HoldKind.EXCHANGE, released_at__isnull=True
    ).exists()
    # reserved against the network, but not routed: nothing to pick or ship
    assert NetworkStock.objects.get(product=blue).committed == 1
    route_order(order_id=replacement.pk)
    assert not FulfillmentOrder.objects.filter(order=replacement).exists()

    services.receive_return(
        request_id=rma.pk,
        token="in",
        location=shop,
        units=[services.ReceivedUnits(rma.lines.get().pk, 1, "new", "restock")],
        actor=agent,
    )

    assert not OrderHold.objects.filter(order=replacement, released_at__isnull=True).exists()
    fo = FulfillmentOrder.objects.get(order=replacement)  # routed on release
    ship_fulfillment_order(fo_id=fo.pk, actor=SYSTEM)
    assert Shipment.objects.filter(order=replacement).count() == 1
    # the cheaper replacement: the difference is refunded, tax included
    [made] = ReturnRefund.objects.filter(request=rma)
    assert made.amount == to_cents(D("5.00") * (1 + order.tax_rate))
    assert ReturnEvent.objects.filter(request=rma, type="exchange").count() == 2
    rma.refresh_from_db()
    assert rma.status == ReturnStatus.CLOSED  # in, released, difference refunded


def test_a_trusted_exchange_ships_at_once(shop, agent, default_policy, settings):
    settings.OMS_AUTO_ROUTE = True
    default_policy.trust_exchanges = True
    default_policy.save()
    red = product(shop, "30.00")
    order = delivered_card_order(shop, [(red, 1)])

    rma = services.request_return(
        order=order,
        lines=[services.ReturnLineInput(order.lines.get().pk, 1, "damaged")],
        method="mail",
        actor=agent,
        resolution="exchange",
        exchange_lines=[resolution.ExchangeLineInput(sku=red.sku, quantity=1)],
    )

    rma.refresh_from_db()
    assert not OrderHold.objects.filter(order=rma.exchange_order).exists()
    assert FulfillmentOrder.objects.filter(order=rma.exchange_order).exists()


def test_tracking_numbers_are_one_parcel_each(shop, agent):
    mug = product(shop, "30.00")
    order = delivered_card_order(shop, [(mug, 2)])
    line = order.lines.get()
    first = services.request_return(
        order=order,
        lines=[services.ReturnLineInput(line.pk, 1, "damaged")],
        method="mail",
        actor=agent,
    )
    second = services.request_return(
        order=order,
        lines=[services.ReturnLineInput(line.pk, 1, "damaged")],
        method="mail",
        actor=agent,
    )
    carrier = Carrier.objects.get(code="SIM")
    tracking.set_return_tracking(
        request_id=first.pk, carrier=carrier, tracking_number="1z999", actor=agent
    )
    shipped = Shipment.objects.get(order=order).tracking_number
    events = ReturnEvent.objects.count()

    for taken in ("1Z999", shipped):
        with pytest.raises(tracking.TrackingNumberTaken):
            tracking.set_return_tracking(
                request_id=second.pk, carrier=carrier, tracking_number=taken, actor=agent
            )
    second.refresh_from_db()
    assert second.tracking_number == ""
    assert ReturnEvent.objects.count() == events
    # an unknown number is still the shipments' 404
    assert carrier_posts(scan("NOPE", "in_transit", "x-1"))[0] == 404


def test_store_credit_goes_to_the_customers_balance_not_the_card(shop, agent):
    mug = product(shop, "30.00")
    order = delivered_card_order(shop, [(mug, 1)])

    rma = services.request_return(
        order=order,
        lines=[services.ReturnLineInput(order.lines.get().pk, 1, "damaged")],
        method="mail",
        actor=agent,
        resolution="store_credit",
    )
    services.receive_return(
        request_id=rma.pk,
        token="in",
        location=shop,
        units=[services.ReceivedUnits(rma.lines.get().pk, 1, "new", "restock")],
        actor=agent,
    )

    [made] = ReturnRefund.objects.filter(request=rma)
    assert made.refund.destination == "store_credit"
    assert get_store_credit_balance(order.customer_id) == (made.amount, "USD")
    assert not PaymentTransaction.objects.filter(
        payment__order=order, kind=TransactionKind.REFUND
    ).exists()
    assert "as store credit" in ReturnEvent.objects.get(request=rma, type="refunded").message


def test_cancelling_an_approved_exchange_cancels_its_replacement(shop, agent):
    red = product(shop, "30.00")
    order = delivered_card_order(shop, [(red, 1)])
    rma = services.request_return(
        order=order,
        lines=[services.ReturnLineInput(order.lines.get().pk, 1, "size_fit")],
        method="mail",
        actor=agent,
        resolution="exchange",
        exchange_lines=[resolution.ExchangeLineInput(sku=red.sku, quantity=1)],
    )
    assert rma.exchange_order is None  # placed on approval, by an agent here
    services.approve_return(request_id=rma.pk, actor=agent)
    rma.refresh_from_db()
    assert NetworkStock.objects.get(product=red).committed == 1

    services.cancel_return(request_id=rma.pk, actor=agent)

    replacement = Order.objects.get(pk=rma.exchange_order_id)
    assert replacement.status == "cancelled"
    assert NetworkStock.objects.get(product=red).committed == 0


def test_consumers_racing_on_one_receipt_refund_it_once(shop, agent, settings):
    mug = product(shop, "30.00")
    order = delivered_card_order(shop, [(mug, 2)])
    rma = services.request_return(
        order=order,
        lines=[services.ReturnLineInput(order.lines.get().pk, 2, "damaged")],
        method="mail",
        actor=agent,
    )
    # Events stay in the outbox (a relay process would publish them): the consumers are
    # run by hand, three at once, as redeliveries would.
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.OMS_OUTBOX_RELAY = "process"
    services.receive_return(
        request_id=rma.pk,
        token="in",
        location=shop,
        units=[services.ReceivedUnits(rma.lines.get().pk, 2, "new", "restock")],
        actor=agent,
    )
    assert not ReturnRefund.objects.exists()

    results = run_together([lambda: resolution.resolve_return(request_id=rma.pk)] * 3)

    assert [r for r in results if isinstance(r, BaseException)] == []
    assert ReturnRefund.objects.filter(request=rma).count() == 1
    assert Refund.objects.filter(order=order).count() == 1
    assert rma.lines.get().quantity_refunded == 2
