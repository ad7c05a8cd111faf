"""The consuming tasks handle a batch of events one by one: a transient failure of one
event (the mail server refusing it) is retried alone, later, and does not keep the
others from being handled."""

import uuid
from collections import Counter

import pytest
from celery.exceptions import Retry
from django.core.mail.backends.base import BaseEmailBackend
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.models import OutboxEvent
from oms.celery import app
from oms.tasks import notify_order_event
from orders.models import Notification, NotificationStatus, Order
from tests.orders.factories import OrderLineFactory

pytestmark = pytest.mark.django_db

MAIL_SERVER = f"{__name__}.MailServer"


class MailServer(BaseEmailBackend):
    """The SMTP boundary: refuses to take mail for the addresses in ``refusing``."""

    refusing: set[str] = set()
    attempts: list[str] = []
    delivered: list[str] = []

    def send_messages(self, email_messages):
        for message in email_messages:
            [recipient] = message.to
            self.attempts.append(recipient)
            if recipient in self.refusing:
                raise ConnectionRefusedError(f"{recipient}: mailbox unavailable")
            self.delivered.append(recipient)
        return len(email_messages)


@pytest.fixture
def mail_server(settings):
    settings.EMAIL_BACKEND = MAIL_SERVER
    MailServer.refusing, MailServer.attempts, MailServer.delivered = set(), [], []
    return MailServer


def placed(count: int) -> tuple[list[Order], list[int]]:
    """``count`` placed orders and their ``order.placed`` events."""
    orders = [OrderLineFactory().order for _ in range(count)]
    events = OutboxEvent.objects.bulk_create(
        OutboxEvent(topic="order.placed", payload={"order_id": order.pk}) for order in orders
    )
    return orders, [event.pk for event in events]


def notification_statuses(orders: list[Order]) -> list[str | None]:
    found = dict(
        Notification.objects.filter(order__in=orders, event="order_confirmed").values_list(
            "order_id", "status"
        )
    )
    return [found.get(order.pk) for order in orders]


def run_as_worker(task, args: list, *, queue: str, retries: int = 0):
    """Run ``task`` as a worker runs a message it took from ``queue``: not inline, so
    that a retry is published to the broker."""
    task.push_request(
        id=uuid.uuid4().hex,
        args=args,
        kwargs={},
        retries=retries,
        is_eager=False,
        called_directly=False,
        delivery_info={"exchange": "", "routing_key": queue},
    )
    try:
        return task.run(*args)
    finally:
        task.pop_request()


def test_a_refused_email_is_retried_alone_and_later(mail_server, broker):
    (first, refused, last), events = placed(3)
    mail_server.refusing = {refused.email}

    with pytest.raises(Retry):
        run_as_worker(notify_order_event, [events], queue=broker.queue)

    # The others were sent; the refused one is marked failed, to be claimed again,
    assert mail_server.delivered == [first.email, last.email]
    assert notification_statuses([first, refused, last]) == [
        NotificationStatus.SENT,
        NotificationStatus.FAILED,
        NotificationStatus.SENT,
    ]
    # and its event alone is sent back to the broker, as the first retry.
    [retry] = broker.take()
    assert (retry.task, retry.args, retry.headers["retries"]) == (
        "oms.notify_order_event",
        [[events[1]]],
        1,
    )

    # When the mail server takes it again, the retry sends that e-mail and no other.
    mail_server.refusing = set()
    run_as_worker(notify_order_event, retry.args, queue=broker.queue, retries=1)

    assert mail_server.delivered == [first.email, last.email, refused.email]
    assert notification_statuses([first, refused, last]) == [NotificationStatus.SENT] * 3
    assert broker.take() == []


def test_retries_back_off_exponentially(mail_server, broker):
    (order,), events = placed(1)
    mail_server.refusing = {order.email}

    with pytest.raises(Retry) as raised:
        run_as_worker(notify_order_event, [events], queue=broker.queue, retries=5)

    # Full jitter up to 2**5 seconds.
    assert 0 <= raised.value.when <= 32
    [retry] = broker.take()
    assert (retry.args, retry.headers["retries"]) == ([events], 6)


def test_inline_runs_retry_the_refused_email_alone_until_the_limit(mail_server, monkeypatch):
    (first, refused, last), events = placed(3)
    mail_server.refusing = {refused.email}
    # Inline runs that do not propagate errors run their retries inline as well.
    monkeypatch.setitem(app.conf, "task_eager_propagates", False)

    result = notify_order_event.apply(args=[events])

    assert result.failed()
    assert isinstance(result.result, ConnectionRefusedError)
    # One attempt and eight retries, of the refused e-mail only.
    assert Counter(mail_server.attempts) == {first.email: 1, last.email: 1, refused.email: 9}
    assert notification_statuses([first, refused, last]) == [
        NotificationStatus.SENT,
        NotificationStatus.FAILED,
        NotificationStatus.SENT,
    ]


def test_a_broken_event_does_not_stop_the_others_and_fails_the_run(mail_server, broker):
    (first, refused, last), events = placed(3)
    broken = OutboxEvent.objects.create(topic="order.placed", payload={"order_id": 0})
    mail_server.refusing = {refused.email}

    with pytest.raises(Order.DoesNotExist):
        run_as_worker(notify_order_event, [[broken.pk, *events]], queue=broker.queue)

    assert mail_server.delivered == [first.email, last.email]
    # The transient failure is still retried; the broken event is not.
    [retry] = broker.take()
    assert retry.args == [[events[1]]]


def test_a_direct_call_raises_the_transient_error_after_handling_the_others(mail_server):
    (first, refused), events = placed(2)
    mail_server.refusing = {refused.email}

    with pytest.raises(ConnectionRefusedError):
        notify_order_event(events[::-1])

    assert mail_server.delivered == [first.email]


def test_a_message_queued_with_one_event_id_is_still_handled(mail_server):
    (order,), [event] = placed(1)

    notify_order_event(event)
    notify_order_event([event])  # delivered again: sends nothing

    assert mail_server.delivered == [order.email]
    assert notification_statuses([order]) == [NotificationStatus.SENT]


def test_a_batch_loads_its_events_with_one_query(mail_server):
    orders, events = placed(5)

    with CaptureQueriesContext(connection) as queries:
        notify_order_event(events)

    assert mail_server.delivered == [order.email for order in orders]
    reads = [q["sql"] for q in queries.captured_queries if 'FROM "oms_outboxevent"' in q["sql"]]
    assert len(reads) == 1, reads
