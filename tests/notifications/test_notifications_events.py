"""Every event a customer hears about, through the services that make it happen: the
outbox consumer sends one e-mail and one text message (to a customer who chose both),
however often the event is delivered; a channel the customer switched off sends nothing
on that channel and is logged as skipped."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from celery.exceptions import Retry
from django.utils import timezone

from billing import payments
from billing.invoicing import invoice_shipment
from billing.notifications import email_invoice
from billing.providers.test import DEFAULT_STORE
from billing.refunds import refund_order
from billing.tasks import render_invoice_pdf
from core import sms
from core.actors import Actor, ActorKind
from core.models import OutboxEvent
from customers.models import NotificationEvent
from customers.notification_preferences import set_channel_choices
from fulfillment import operations
from fulfillment.changes import cancel_order
from fulfillment.holds import place_order_hold
from fulfillment.models import FulfillmentOrder
from fulfillment.rerouting import change_shipping_address
from fulfillment.routing import route_order
from inventory.models import Location
from oms.tasks import notify_order_event
from orders.models import HoldKind, Notification, NotificationStatus, Order
from orders.placement import LineRequest, OrderRequest, place_order
from returns import services as returns
from returns.services import ReceivedUnits, ReturnLineInput
from tests.billing.conftest import NEW_YORK, SYSTEM, make_products, place_routed, ship
from tests.factories import CompanyFactory, LocationFactory, ShippingMethodFactory
from tests.notifications.conftest import PHONE, consume, emails_to, texting_customer, texts_to
from tests.returns.conftest import delivered_order

pytestmark = pytest.mark.django_db

D = Decimal
CUSTOMER = Actor(kind=ActorKind.CUSTOMER, label="customer")


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)


@pytest.fixture(autouse=True)
def _fresh_provider():
    DEFAULT_STORE.clear()
    yield
    DEFAULT_STORE.clear()


def sent_once(order: Order, subject: str) -> None:
    """One e-mail and one text message about ``order`` went out with ``subject``, and the
    log has one sent row per channel for it."""
    emails = [m for m in emails_to(order.email) if m.subject == subject]
    assert len(emails) == 1, [m.subject for m in emails_to(order.email)]
    rows = Notification.objects.filter(order=order, subject=subject)
    assert sorted(rows.values_list("channel", "recipient", "status")) == [
        ("email", order.email, NotificationStatus.SENT),
        ("sms", PHONE, NotificationStatus.SENT),
    ]
    texts = [
        m for m in texts_to(PHONE) if m["idempotency_key"] == rows.get(channel="sms").dedupe_key
    ]
    assert len(texts) == 1, texts_to(PHONE)
    assert order.number in texts[0]["body"]


def product():
    """A $20.00 SKU stocked at the shop's warehouse."""
    [made] = make_products(Location.objects.get(code="NWK"), [D("20.00")])
    return made


def placed_and_routed(customer, quantity: int = 2):
    return place_routed([(product(), quantity)], customer=customer)


# --- order events ------------------------------------------------------------------------


def test_order_confirmed(shop):
    order, _ = placed_and_routed(texting_customer())

    consume(["order.placed"])

    sent_once(order, f"Your order {order.number} is confirmed")
    [message] = emails_to(order.email)
    assert "Track your order: https://shop.example/orders/status/" in message.body
    html = message.alternatives[0][0]
    assert "Track your order</a>" in html
    assert order.lines.get().description in html  # the order's lines


def test_on_hold_waiting_for_the_customer(shop):
    order, _ = placed_and_routed(texting_customer())
    place_order_hold(order=order, kind=HoldKind.ADDRESS, reason="Unit number missing", actor=SYSTEM)

    consume(["order.on_hold"])

    sent_once(order, f"Your order {order.number} is on hold: we need something from you")
    assert "confirm or correct it" in emails_to(order.email)[0].body


def test_shipped_with_tracking(shop):
    order, fo = placed_and_routed(texting_customer())
    shipment = ship(fo)

    consume(["shipment.created"])

    sent_once(order, f"Your order {order.number} has shipped")
    [message] = emails_to(order.email)
    assert f"Tracking number: {shipment.tracking_number}" in message.body
    assert shipment.tracking_number in texts_to(PHONE)[0]["body"]


@pytest.mark.parametrize(
    ("status", "topic", "subject"),
    [
        ("out_for_delivery", "tracking.out_for_delivery", "Your order {} is out for delivery"),
        ("delivered", "tracking.delivered", "Your order {} was delivered"),
        ("exception", "tracking.exception", "Your order {} is delayed"),
    ],
)
def test_tracking_events(shop, status, topic, subject):
    order, fo = placed_and_routed(texting_customer())
    shipment = ship(fo)
    operations.record_tracking_event(
        shipment_id=shipment.pk,
        status=status,
        occurred_at=timezone.now() - dt.timedelta(minutes=5),
        external_id=f"scan-{status}",
    )

    consume([topic])

    sent_once(order, subject.format(order.number))


def test_cancelled_in_part_with_the_refund_amount(shop):
    customer = texting_customer()
    a, b = product(), product()
    order, _ = place_routed([(a, 1), (b, 2)], customer=customer)
    order.refresh_from_db()
    total_before = order.grand_total

    cancel_order(order_id=order.pk, reason="Changed mind", actor=SYSTEM, lines={2: 2})
    order.refresh_from_db()

    consume(["order.cancelled"])

    sent_once(order, f"Part of your order {order.number} was cancelled")
    amount = total_before - order.grand_total
    assert f"${amount:,.2f} will not be charged" in emails_to(order.email)[0].body
    assert f"${amount:,.2f}" in texts_to(PHONE)[0]["body"]


def test_each_cancellation_is_told_once(shop):
    customer = texting_customer()
    order, _ = placed_and_routed(customer, quantity=3)
    cancel_order(order_id=order.pk, reason="One less", actor=SYSTEM, lines={1: 1})
    cancel_order(order_id=order.pk, reason="Changed mind", actor=SYSTEM)

    consume(["order.cancelled"])

    subjects = sorted(m.subject for m in emails_to(order.email))
    assert subjects == [
        f"Part of your order {order.number} was cancelled",
        f"Your order {order.number} was cancelled",
    ]
    assert len(texts_to(PHONE)) == 2


def test_address_changed(shop):
    order, _ = placed_and_routed(texting_customer())
    change_shipping_address(
        order_id=order.pk,
        address={"name": "Pat", "line1": "20 W 34th St", "country": "US", **NEW_YORK},
        actor=SYSTEM,
    )

    consume(["order.address_changed"])

    sent_once(order, f"The delivery address of your order {order.number} changed")
    assert "20 W 34th St" in emails_to(order.email)[0].body


@pytest.fixture
def pickup_order(shop):
    ShippingMethodFactory(
        code="PICKUP",
        name="Store pickup",
        service_level="pickup",
        carrier=None,
        transit_days_min=0,
        transit_days_max=0,
        price=D("0"),
    )
    store = LocationFactory(code="ST-9", name="Fifth Avenue store", kind="store", pickup=True)
    [stocked] = make_products(store, [D("20.00")])
    order = place_order(
        request=OrderRequest(
            customer=texting_customer(),
            channel="web",
            shipping_method_code="PICKUP",
            pickup_location_code="ST-9",
            lines=[LineRequest(sku=stocked.sku, quantity=1)],
        ),
        actor=SYSTEM,
    ).order
    route_order(order_id=order.pk)
    return order, FulfillmentOrder.objects.get(order=order)


def test_ready_for_pickup_with_the_code(pickup_order):
    order, fo = pickup_order
    operations.mark_ready_for_pickup(fo_id=fo.pk, actor=SYSTEM)

    consume(["pickup.ready"])

    sent_once(order, f"Your order {order.number} is ready for pickup")
    fo.refresh_from_db()
    assert f"Your pickup code: {fo.pickup_code}" in emails_to(order.email)[0].body
    assert fo.pickup_code in texts_to(PHONE)[0]["body"]


def test_picked_up(pickup_order):
    order, fo = pickup_order
    operations.mark_ready_for_pickup(fo_id=fo.pk, actor=SYSTEM)
    fo.refresh_from_db()
    operations.confirm_pickup(fo_id=fo.pk, code=fo.pickup_code, actor=SYSTEM)

    consume(["shipment.picked_up"])

    sent_once(order, f"You picked up your order {order.number}")


# --- returns, created through the returns services ------------------------------------


@pytest.fixture
def returned(default_policy):
    LocationFactory(code="RNO1", name="Reno warehouse", kind="warehouse")  # takes returns
    order = delivered_order(quantity=2)
    customer = order.customer
    customer.phone = PHONE
    customer.save(update_fields=["phone"])
    set_channel_choices(
        customer=customer, choices=dict.fromkeys(NotificationEvent.values, ("email", "sms"))
    )
    # "damaged" is approved by the policy at once
    rma = returns.request_return(
        order=order,
        lines=[
            ReturnLineInput(order_line_id=order.lines.get().pk, quantity=2, reason_code="damaged")
        ],
        method="mail",
        actor=CUSTOMER,
    )
    return order, rma


def test_return_approved_with_its_label(returned):
    order, rma = returned

    consume(["return.approved"])

    sent_once(order, f"Your return {rma.number} for order {order.number} is approved")
    [message] = emails_to(order.email)
    [(filename, content, mimetype)] = message.attachments
    assert (filename, mimetype) == (f"return-label-{rma.number}.pdf", "application/pdf")
    assert content.startswith(b"%PDF")


def test_return_received(returned):
    order, rma = returned
    receiver = rma.destination
    returns.receive_return(
        request_id=rma.pk,
        token="tok-notify",
        location=receiver,
        units=[
            ReceivedUnits(
                line_id=rma.lines.get().pk, quantity=2, condition="opened", disposition="restock"
            )
        ],
        actor=SYSTEM,
    )

    consume(["return.received"])

    sent_once(order, f"We received your return {rma.number} for order {order.number}")


# --- money --------------------------------------------------------------------------------


def test_refund_issued(shop):
    # a company's order on net 30: the refund is credited on its invoice
    company = CompanyFactory(payment_terms="net30", credit_limit=D("1000000"))
    order, fo = placed_and_routed(texting_customer(company=company, company_role="buyer"))
    invoice_shipment(ship(fo).pk)
    refund = refund_order(order_id=order.pk, amount=D("5.00"), reason="goodwill", actor=SYSTEM)

    consume(["refund.requested"])

    sent_once(order, f"A refund for your order {order.number}")
    [message] = emails_to(order.email)
    assert "$5.00" in message.body
    assert "credited to your invoice" in message.body
    assert Notification.objects.filter(order=order, params__refund_id=refund.pk).count() == 2


def test_invoice_issued(shop):
    order, fo = placed_and_routed(texting_customer())
    invoice = invoice_shipment(ship(fo).pk)
    events = [e.pk for e in OutboxEvent.objects.filter(topic="invoice.issued")]
    for _ in range(2):
        render_invoice_pdf.apply(args=[events], throw=True)
    email_invoice(invoice.pk)  # once more, by hand: nothing more

    sent_once(order, f"Invoice {invoice.number} for order {order.number}")
    [message] = emails_to(order.email)
    assert message.attachments[0][0] == f"{invoice.number}.pdf"


@pytest.mark.django_db(transaction=True)  # the provider is called outside transactions
def test_payment_failed(shop):
    customer = texting_customer()
    sku = product().sku
    order = place_order(
        request=OrderRequest(
            customer=customer,
            channel="web",
            shipping_method_code="STANDARD",
            shipping_address={
                "name": "Pat",
                "line1": "350 Fifth Avenue",
                "country": "US",
                **NEW_YORK,
            },
            lines=[LineRequest(sku=sku, quantity=1)],
            payment_token="tok_insufficient_funds",
        ),
        actor=SYSTEM,
    ).order

    payments.authorise_order(order.pk)
    payments.authorise_order(order.pk)

    sent_once(order, f"Payment needed for order {order.number}")
    [message] = [m for m in emails_to(order.email) if m.subject.startswith("Payment needed")]
    assert "insufficient funds" in message.body


# --- a channel switched off ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "topic"),
    [
        ("shipped", "shipment.created"),
        ("order_confirmed", "order.placed"),
    ],
)
def test_a_channel_switched_off_sends_nothing_there(shop, kind, topic):
    customer = texting_customer()
    set_channel_choices(customer=customer, choices={kind: ["email"]})
    order, fo = placed_and_routed(customer)
    ship(fo)

    consume([topic])

    assert texts_to(PHONE) == []
    assert len(emails_to(order.email)) == 1
    skipped = Notification.objects.get(order=order, channel="sms")
    assert (skipped.recipient, skipped.status) == (PHONE, NotificationStatus.SKIPPED)


def test_an_optional_email_switched_off_is_skipped_and_the_text_still_goes(shop):
    customer = texting_customer()
    set_channel_choices(customer=customer, choices={"shipped": ["sms"]})
    order, fo = placed_and_routed(customer)
    ship(fo)

    consume(["shipment.created"])

    assert emails_to(order.email) == []
    assert len(texts_to(PHONE)) == 1
    skipped = Notification.objects.get(order=order, channel="email")
    assert skipped.status == NotificationStatus.SKIPPED


def test_no_phone_no_text(shop):
    order, _ = placed_and_routed(texting_customer(phone=""))

    consume(["order.placed"])

    assert len(emails_to(order.email)) == 1
    assert texts_to(PHONE) == []
    assert not Notification.objects.filter(order=order, channel="sms").exists()


# --- retries ---------------------------------------------------------------------------------


class FlakySmsProvider:
    """The SMS provider's boundary: unavailable while ``down``."""

    down = True
    sent: list[str] = []

    def send(self, *, to: str, body: str, idempotency_key: str) -> str:
        if FlakySmsProvider.down:
            raise sms.ProviderUnavailable("503 from the provider")
        FlakySmsProvider.sent.append(idempotency_key)
        return "SM-1"


def test_a_provider_outage_retries_the_text_alone_and_sends_each_copy_once(shop, settings):
    settings.OMS_SMS_BACKEND = f"{__name__}.FlakySmsProvider"
    FlakySmsProvider.down, FlakySmsProvider.sent = True, []
    order, fo = placed_and_routed(texting_customer())
    ship(fo)
    [event] = OutboxEvent.objects.filter(topic="shipment.created")

    # the provider is down: the e-mail goes, the text is left for a retry
    with pytest.raises(Retry):
        notify_order_event.apply(args=[[event.pk]], throw=True)
    assert len(emails_to(order.email)) == 1
    text = Notification.objects.get(order=order, channel="sms")
    assert text.status == NotificationStatus.FAILED
    assert "503" in text.error

    # the retry, once the provider is back, sends the text and not the e-mail again
    FlakySmsProvider.down = False
    consume(["shipment.created"])

    assert len(emails_to(order.email)) == 1
    assert FlakySmsProvider.sent == [text.dedupe_key]
    text.refresh_from_db()
    assert text.status == NotificationStatus.SENT
