"""A notification left "sending" by a worker that died mid-send is taken over once its
claim is stale, and still goes out exactly once per (event, channel)."""

from datetime import timedelta

import pytest
from celery.exceptions import Retry
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend
from django.utils import timezone

from core.models import OutboxEvent
from customers.models import NotificationPreference
from oms.notifications import send_order_notification
from oms.tasks import notify_order_event
from orders.models import Notification, NotificationStatus, OrderEvent, OrderEventType
from orders.notifications import NotificationInProgress, claim_notification, mark_sent
from tests.api.support import run_together
from tests.oms.test_outbox_handlers import run_as_worker
from tests.orders.factories import OrderLineFactory

TIMEOUT = 900
DYING_MAIL_SERVER = f"{__name__}.DyingMailServer"


class WorkerKilled(BaseException):
    """Stands for SIGKILL: nothing in the worker gets to run after it."""


class DyingMailServer(EmailBackend):
    """The worker dies while talking to the mail server: nothing is delivered."""

    def send_messages(self, email_messages):
        raise WorkerKilled


@pytest.fixture(autouse=True)
def claim_timeout(settings):
    settings.OMS_NOTIFICATION_CLAIM_TIMEOUT = TIMEOUT


def confirmation_left_sending(settings, *, claimed_ago: timedelta):
    """An order whose confirmation a worker claimed ``claimed_ago`` and died sending."""
    order = OrderLineFactory().order
    settings.EMAIL_BACKEND = DYING_MAIL_SERVER
    with pytest.raises(WorkerKilled):
        send_order_notification(order_id=order.pk, event="order_confirmed")
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    row = Notification.objects.get(order=order)
    assert row.status == NotificationStatus.SENDING
    Notification.objects.filter(pk=row.pk).update(claimed_at=timezone.now() - claimed_ago)
    row.refresh_from_db()
    return order, row


def sent_events(order) -> int:
    return OrderEvent.objects.filter(order=order, type=OrderEventType.NOTIFICATION_SENT).count()


@pytest.mark.django_db
def test_a_stale_sending_claim_is_taken_over_and_sent_once(settings):
    # given a confirmation left "sending" by a worker that died 16 minutes ago
    order, left = confirmation_left_sending(settings, claimed_ago=timedelta(seconds=TIMEOUT + 60))

    # when the event is handled again
    claim = send_order_notification(order_id=order.pk, event="order_confirmed")

    # then the same row is taken over, the e-mail goes out and is recorded, once
    assert claim is not None
    assert claim.pk == left.pk
    assert [m.to for m in mail.outbox] == [[order.email]]
    assert claim.status == NotificationStatus.SENT
    assert claim.claimed_at > left.claimed_at
    assert sent_events(order) == 1
    # and handling it yet again sends nothing more.
    assert send_order_notification(order_id=order.pk, event="order_confirmed") is None
    assert len(mail.outbox) == 1
    assert Notification.objects.filter(order=order).count() == 1
    assert sent_events(order) == 1


@pytest.mark.django_db
def test_a_claim_from_before_claims_were_timed_goes_stale_by_its_age(settings):
    # given a row left "sending" before claimed_at existed: its creation time counts
    order, left = confirmation_left_sending(settings, claimed_ago=timedelta(0))
    old = timezone.now() - timedelta(seconds=TIMEOUT + 1)
    Notification.objects.filter(pk=left.pk).update(claimed_at=None, created_at=old)

    claim = send_order_notification(order_id=order.pk, event="order_confirmed")

    assert claim is not None
    assert claim.status == NotificationStatus.SENT
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_a_fresh_sending_claim_is_not_touched_and_asks_for_a_later_retry(settings):
    # given a confirmation claimed 5 minutes ago, perhaps still being sent
    order, left = confirmation_left_sending(settings, claimed_ago=timedelta(minutes=5))

    # when another attempt comes
    with pytest.raises(NotificationInProgress) as busy:
        send_order_notification(order_id=order.pk, event="order_confirmed")

    # then nothing is sent or changed, and it is told when the claim would go stale
    assert TIMEOUT - 300 - 5 <= busy.value.retry_after <= TIMEOUT - 300
    assert mail.outbox == []
    row = Notification.objects.get(order=order)
    assert (row.status, row.claimed_at, row.error) == (
        NotificationStatus.SENDING,
        left.claimed_at,
        "",
    )
    assert sent_events(order) == 0


@pytest.mark.django_db
def test_the_consuming_task_retries_a_fresh_claim_once_it_would_be_stale(settings, broker):
    # given the event of a confirmation that a worker claimed a minute ago and died with
    order, left = confirmation_left_sending(settings, claimed_ago=timedelta(minutes=1))
    event = OutboxEvent.objects.create(topic="order.placed", payload={"order_id": order.pk})

    # when its message is delivered again (the broker gave the dead worker's message
    # to another), the event goes back to the broker for when the claim is stale
    with pytest.raises(Retry) as retried:
        run_as_worker(notify_order_event, [[event.pk]], queue=broker.queue)
    assert TIMEOUT - 60 - 5 <= retried.value.when <= TIMEOUT - 60
    [retry] = broker.take()
    assert (retry.task, retry.args) == ("oms.notify_order_event", [[event.pk]])
    assert mail.outbox == []

    # and when that retry runs after the timeout, the e-mail goes out, once.
    Notification.objects.filter(pk=left.pk).update(
        claimed_at=timezone.now() - timedelta(seconds=TIMEOUT + 1)
    )
    run_as_worker(notify_order_event, retry.args, queue=broker.queue, retries=1)
    run_as_worker(notify_order_event, retry.args, queue=broker.queue, retries=2)
    assert [m.to for m in mail.outbox] == [[order.email]]
    assert Notification.objects.get(pk=left.pk).status == NotificationStatus.SENT
    assert broker.take() == []


@pytest.mark.django_db
def test_an_attempt_that_lost_its_claim_does_not_settle_it(settings):
    # given an attempt whose claim went stale and was taken over by another
    order = OrderLineFactory().order
    fields = {"channel": "email", "event": "order_confirmed", "recipient": order.email}
    slow = claim_notification("order:test:slow", order=order, **fields)
    assert slow is not None
    Notification.objects.filter(pk=slow.pk).update(
        claimed_at=timezone.now() - timedelta(seconds=TIMEOUT + 1)
    )
    taker = claim_notification("order:test:slow", order=order, **fields)
    assert taker is not None
    assert taker.pk == slow.pk

    # when the slow attempt finishes after all, it cannot mark the row sent
    assert mark_sent(slow) is False
    assert Notification.objects.get(pk=slow.pk).status == NotificationStatus.SENDING
    # while the attempt holding the claim can.
    assert mark_sent(taker) is True
    assert Notification.objects.get(pk=slow.pk).status == NotificationStatus.SENT


@pytest.mark.django_db
def test_an_opted_out_attempt_leaves_another_attempts_claim_alone(settings):
    # given a confirmation being sent by another attempt, then the customer opts out
    order, left = confirmation_left_sending(settings, claimed_ago=timedelta(minutes=1))
    NotificationPreference.objects.create(
        customer=order.customer, event="order_confirmed", email=False, sms=False
    )

    with pytest.raises(NotificationInProgress):
        send_order_notification(order_id=order.pk, event="order_confirmed")

    assert Notification.objects.get(pk=left.pk).status == NotificationStatus.SENDING


@pytest.mark.django_db(transaction=True)
@pytest.mark.concurrency
def test_concurrent_reclaimers_send_one_email(settings):
    # given a confirmation left "sending" long ago
    order, left = confirmation_left_sending(settings, claimed_ago=timedelta(seconds=TIMEOUT * 2))

    # when eight workers handle its event at the same moment
    results = run_together(
        [
            lambda: send_order_notification(order_id=order.pk, event="order_confirmed")
            for _ in range(8)
        ]
    )

    # then one takes the claim over and sends; the others find it taken
    sent = [r for r in results if isinstance(r, Notification)]
    assert len(sent) == 1, results
    assert all(
        r is None or isinstance(r, NotificationInProgress) for r in results if r is not sent[0]
    ), results
    assert [m.to for m in mail.outbox] == [[order.email]]
    row = Notification.objects.get(order=order)
    assert (row.pk, row.status) == (left.pk, NotificationStatus.SENT)
    assert sent_events(order) == 1
