"""An agent resends a message from the console: a new message to the same recipient on
the same channel, recorded as the agent's resend of the original (on the log and the
order's timeline) and sent once through the outbox."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission
from django.core import mail
from django.urls import reverse

from core.models import OutboxEvent
from customers.notification_preferences import set_channel_choices
from oms.notifications import send_order_notification
from oms.roles import sync_staff_groups
from oms.tasks import resend_notification_event
from orders.models import Notification, NotificationStatus, OrderEvent, OrderEventType
from tests.factories import CustomerFactory, UserFactory
from tests.notifications.conftest import PHONE, texting_customer, texts_to
from tests.orders.factories import OrderFactory, OrderLineFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent(db):
    sync_staff_groups()
    user = UserFactory(username="agent-ann", is_staff=True)
    user.groups.add(Group.objects.get(name="agent"))
    return user


@pytest.fixture
def shipped_order():
    customer = texting_customer()
    order = OrderFactory(customer=customer, email=customer.email)
    OrderLineFactory(order=order)
    send_order_notification(order_id=order.pk, event="delivered")
    return order


def resend_page(notification: Notification) -> str:
    return reverse("admin:orders_notification_resend", args=[notification.pk])


def deliver_resends() -> None:
    """The outbox relay's job: hand the resend events to their consumer (twice)."""
    ids = list(OutboxEvent.objects.filter(topic="notification.resend").values_list("pk", flat=True))
    for _ in range(2):
        resend_notification_event.apply(args=[ids], throw=True)


def test_an_agent_resends_an_email_recorded_as_theirs(client, agent, shipped_order):
    order = shipped_order
    original = Notification.objects.get(order=order, channel="email")
    client.force_login(agent)

    # the order page links each message to its resend page
    page = client.get(reverse("admin:orders_order_change", args=[order.pk]))
    assert resend_page(original) in page.content.decode()
    confirm = client.get(resend_page(original))
    assert confirm.status_code == 200
    assert f"to {order.email}" in confirm.content.decode()

    response = client.post(resend_page(original), {"reason": "  customer says it never came "})
    assert response.status_code == 302

    resend = Notification.objects.get(resend_of=original)
    assert (resend.status, resend.requested_by, resend.recipient, resend.channel) == (
        NotificationStatus.QUEUED,
        agent,
        order.email,
        "email",
    )
    asked = OrderEvent.objects.get(order=order, type=OrderEventType.NOTIFICATION_RESEND)
    assert (asked.actor_user_id, asked.payload["resend_of"]) == (agent.pk, original.pk)
    assert asked.payload["reason"] == "customer says it never came"
    assert asked.message.endswith("requested: customer says it never came")
    assert len(mail.outbox) == 1  # nothing sent before the transaction commits

    deliver_resends()

    resend.refresh_from_db()
    assert resend.status == NotificationStatus.SENT
    assert len(mail.outbox) == 2
    assert mail.outbox[1].to == [order.email]
    assert mail.outbox[1].subject == original.subject
    sent = OrderEvent.objects.filter(order=order, type=OrderEventType.NOTIFICATION_SENT)
    assert sent.order_by("-id").first().payload["resend_of"] == original.pk
    # the order page shows it as a resend by the agent
    page = client.get(reverse("admin:orders_order_change", args=[order.pk]))
    assert f"Resend of #{original.pk}, asked by agent-ann" in page.content.decode()


def test_a_text_message_is_resent_by_text(client, agent, shipped_order):
    original = Notification.objects.get(order=shipped_order, channel="sms")
    client.force_login(agent)

    client.post(resend_page(original), {})
    deliver_resends()

    assert len(texts_to(PHONE)) == 2
    assert Notification.objects.get(resend_of=original).status == NotificationStatus.SENT


def test_resending_needs_the_permission(client, shipped_order):
    original = Notification.objects.get(order=shipped_order, channel="email")
    clerk = UserFactory(username="clerk", is_staff=True)
    clerk.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_order", "view_notification"])
    )
    client.force_login(clerk)

    page = client.get(reverse("admin:orders_order_change", args=[shipped_order.pk]))
    assert page.status_code == 200
    assert resend_page(original) not in page.content.decode()  # no link for them
    response = client.post(resend_page(original), {})

    assert response.status_code == 403
    assert not Notification.objects.filter(resend_of=original).exists()
    assert not OutboxEvent.objects.filter(topic="notification.resend").exists()


def test_a_skipped_message_cannot_be_resent_and_nothing_changes(client, agent):
    customer = CustomerFactory()
    set_channel_choices(customer=customer, choices={"delivered": []})
    order = OrderFactory(customer=customer, email=customer.email)
    OrderLineFactory(order=order)
    send_order_notification(order_id=order.pk, event="delivered")
    skipped = Notification.objects.get(order=order)
    assert skipped.status == NotificationStatus.SKIPPED
    client.force_login(agent)

    response = client.post(resend_page(skipped), {})

    assert response.status_code == 302  # back to the message, with a warning
    assert Notification.objects.filter(order=order).count() == 1
    assert not OrderEvent.objects.filter(type=OrderEventType.NOTIFICATION_RESEND).exists()
