"""What the worker pays to send an order confirmation, pinned so that it cannot grow
unnoticed: the order is loaded once (with its lines, and the holds that decide the
message as part of the same query), the claim is one INSERT in autocommit, the record
of the send one UPDATE and one INSERT; the e-mails of one message share a connection to
the mail server. The outbox's guarantees stay: a second delivery sends nothing, a
failed send is retried alone."""

from __future__ import annotations

from decimal import Decimal
from smtplib import SMTPServerDisconnected

import pytest
from celery.exceptions import Retry
from django.core import mail
from django.core.mail.backends import locmem

from core.models import OutboxEvent
from fulfillment.holds import place_order_hold
from inventory.models import Location
from oms.notifications import send_order_notification
from oms.tasks import notify_order_event
from orders.models import HoldKind, Notification, NotificationStatus, Order, OrderEvent
from tests.billing.conftest import SYSTEM, make_products, place_routed
from tests.factories import CustomerFactory
from tests.notifications.conftest import emails_to
from tests.orders.factories import OrderLineFactory

# Sending one order's confirmation from its outbox event, in the worker (autocommit),
# in statements sent to the database: the event; the order with its customer, company,
# method and pickup location, and whether a hold is open (one query); its lines; the
# customer's channel choices; the claim (one INSERT, no transaction around it); the
# claim marked sent and the timeline event (BEGIN, UPDATE, INSERT, COMMIT). (It was 16:
# the order and its lines loaded twice, the holds read apart, the claim in a
# transaction, the claim read back after the send.)
ONE_CONFIRMATION = 9
EACH_FURTHER_CONFIRMATION = ONE_CONFIRMATION - 1
PRICE = Decimal("20.00")


def placed_event(order: Order) -> OutboxEvent:
    return OutboxEvent.objects.create(topic="order.placed", payload={"order_id": order.pk})


@pytest.mark.django_db(transaction=True)
def test_one_confirmation_costs_nine_statements_in_the_worker(django_assert_num_queries):
    orders = [OrderLineFactory().order for _ in range(4)]
    OrderLineFactory(order=orders[0])  # two lines: still one query for the lines
    events = [placed_event(order) for order in orders]

    with django_assert_num_queries(ONE_CONFIRMATION):
        notify_order_event.apply(args=[[events[0].pk]], throw=True)
    with django_assert_num_queries(1 + EACH_FURTHER_CONFIRMATION * 3):
        notify_order_event.apply(args=[[event.pk for event in events[1:]]], throw=True)

    assert sorted(m.to[0] for m in mail.outbox) == sorted(order.email for order in orders)
    assert set(Notification.objects.values_list("status", flat=True)) == {NotificationStatus.SENT}
    # Delivered again: only the event and the order's message are read; nothing is sent.
    notify_order_event.apply(args=[[event.pk for event in events]], throw=True)
    assert len(mail.outbox) == len(orders)
    assert OrderEvent.objects.filter(type="notification_sent").count() == len(orders)


@pytest.mark.django_db
def test_the_sent_claim_is_returned_as_stored(shop):
    """The claim is not read back after the send: what the caller gets is what the row
    holds."""
    [product] = make_products(Location.objects.get(code="NWK"), [PRICE])
    order, _ = place_routed([(product, 1)], customer=CustomerFactory())
    sent = send_order_notification(order_id=order.pk, event="order_confirmed")

    assert sent is not None
    stored = Notification.objects.get(pk=sent.pk)
    assert (sent.status, sent.sent_at, sent.claimed_at) == (
        stored.status,
        stored.sent_at,
        stored.claimed_at,
    )
    assert stored.status == NotificationStatus.SENT


@pytest.mark.django_db
def test_a_confirmation_with_an_address_hold_open_asks_the_customer_once(shop):
    [product] = make_products(Location.objects.get(code="NWK"), [PRICE])
    order, _ = place_routed([(product, 1)], customer=CustomerFactory())
    place_order_hold(order=order, kind=HoldKind.ADDRESS, reason="Unit number missing", actor=SYSTEM)
    placed = OutboxEvent.objects.get(topic="order.placed")
    on_hold = OutboxEvent.objects.get(topic="order.on_hold")

    notify_order_event.apply(args=[[placed.pk, on_hold.pk]], throw=True)
    notify_order_event.apply(args=[[placed.pk, on_hold.pk]], throw=True)

    # The confirmation became "on hold" for the open address hold, and the hold's own
    # event found it sent: one message.
    assert [m.subject for m in emails_to(order.email)] == [
        f"Your order {order.number} is on hold: we need something from you"
    ]
    assert Notification.objects.get(order=order).status == NotificationStatus.SENT


@pytest.mark.django_db
def test_a_confirmation_with_another_hold_open_says_under_review(shop):
    [product] = make_products(Location.objects.get(code="NWK"), [PRICE])
    order, _ = place_routed([(product, 1)], customer=CustomerFactory())
    place_order_hold(order=order, kind=HoldKind.MANUAL, reason="Checking the buyer", actor=SYSTEM)

    notify_order_event.apply(args=[[OutboxEvent.objects.get(topic="order.placed").pk]], throw=True)

    assert [m.subject for m in emails_to(order.email)] == [
        f"We received your order {order.number}: it is under review"
    ]


class ConnectionCountingMailServer(locmem.EmailBackend):
    """Django's in-memory outbox behind connections made as the SMTP backend makes
    them: ``send_messages`` opens one unless it is open already and closes what it
    opened. ``fail_next`` sends fail (the server hung up), closing nothing."""

    connections = 0
    fail_next = 0

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.connected = False

    def open(self):
        if self.connected:
            return False
        self.connected = True
        type(self).connections += 1
        return True

    def close(self):
        self.connected = False

    def send_messages(self, messages):
        new = self.open()
        try:
            if type(self).fail_next:
                type(self).fail_next -= 1
                raise SMTPServerDisconnected("Connection unexpectedly closed")
            return super().send_messages(messages)
        finally:
            if new:
                self.close()


@pytest.fixture
def counting_mail_server(settings):
    settings.EMAIL_BACKEND = f"{__name__}.ConnectionCountingMailServer"
    ConnectionCountingMailServer.connections = ConnectionCountingMailServer.fail_next = 0
    yield ConnectionCountingMailServer
    ConnectionCountingMailServer.connections = ConnectionCountingMailServer.fail_next = 0


@pytest.mark.django_db
def test_the_emails_of_one_message_share_one_connection(counting_mail_server):
    orders = [OrderLineFactory().order for _ in range(3)]
    events = [placed_event(order) for order in orders]

    notify_order_event.apply(args=[[event.pk for event in events]], throw=True)

    assert len(mail.outbox) == 3
    assert counting_mail_server.connections == 1


@pytest.mark.django_db
def test_a_send_that_fails_drops_the_connection_and_is_retried_alone(counting_mail_server):
    orders = [OrderLineFactory().order for _ in range(3)]
    events = [placed_event(order) for order in orders]
    counting_mail_server.fail_next = 1

    with pytest.raises(Retry):
        notify_order_event.apply(args=[[event.pk for event in events]], throw=True)

    # The first e-mail failed; the next ones went out on a new connection.
    assert sorted(m.to[0] for m in mail.outbox) == sorted(o.email for o in orders[1:])
    assert counting_mail_server.connections == 2
    first = Notification.objects.get(order=orders[0])
    assert first.status == NotificationStatus.FAILED
    assert "unexpectedly closed" in first.error

    # The retry sends the failed one, and nothing twice.
    notify_order_event.apply(args=[[events[0].pk]], throw=True)
    assert sorted(m.to[0] for m in mail.outbox) == sorted(o.email for o in orders)
    assert set(Notification.objects.values_list("status", flat=True)) == {NotificationStatus.SENT}
