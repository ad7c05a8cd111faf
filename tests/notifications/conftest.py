"""Orders taken through the real services to each event a customer hears about, and the
outbox consumer run on the events they emitted (twice: a redelivered message must send
nothing more). Mail goes to Django's in-memory outbox, text messages to the SMS memory
backend (``core.sms.outbox``)."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

import pytest
from django.core import mail

from core import sms
from core.models import OutboxEvent
from core.outbox import HANDLERS
from customers.models import Customer, NotificationEvent
from customers.notification_preferences import set_channel_choices
from oms.tasks import notify_order_event
from tests.billing.conftest import _fresh_cache, shop, warehouse  # noqa: F401 - fixtures
from tests.factories import CustomerFactory
from tests.returns.conftest import default_policy, reasons  # noqa: F401 - fixtures

PHONE = "+14155550123"
NOTIFIER = "oms.notify_order_event"


@pytest.fixture(autouse=True)
def _channels(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.OMS_SMS_BACKEND = "core.sms.backends.MemoryBackend"
    settings.OMS_AUTO_ROUTE = False
    settings.OMS_PUBLIC_URL = "https://shop.example"
    sms.outbox.clear()
    yield
    sms.outbox.clear()


def texting_customer(*, phone: str = PHONE, **kwargs) -> Customer:
    """A customer who wants text messages (when they have a phone) as well as e-mails,
    of every kind of event."""
    customer = CustomerFactory(phone=phone, **kwargs)
    channels = ("email", "sms") if phone else ("email",)
    set_channel_choices(
        customer=customer, choices=dict.fromkeys(NotificationEvent.values, channels)
    )
    return customer


def consume(topics: Iterable[str], *, times: int = 2) -> list[OutboxEvent]:
    """Run the notifications' consumer on every event of ``topics`` emitted so far,
    ``times`` times (a redelivery), as the relay would: the topic must be routed to it."""
    wanted = list(topics)
    for topic in wanted:
        assert NOTIFIER in HANDLERS[topic], topic
    events = list(OutboxEvent.objects.filter(topic__in=wanted).order_by("id"))
    assert events, f"no event of {wanted} was emitted"
    for _ in range(times):
        notify_order_event.apply(args=[[event.pk for event in events]], throw=True)
    return events


def emails_to(address: str) -> list[mail.EmailMessage]:
    return [m for m in mail.outbox if m.to == [address]]


def texts_to(phone: str) -> list[dict[str, str]]:
    return [m for m in sms.outbox if m["to"] == phone]


D = Decimal
