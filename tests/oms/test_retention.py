"""The daily prune keeps the outbox, idempotency records, notifications and routing
decisions for a while, deletes the rest in bounded batches, and never deletes what is
still needed."""

from datetime import timedelta

import pytest
from celery.schedules import crontab
from django.conf import settings as django_settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.models import OutboxEvent
from core.pruning import Batches
from fulfillment.models import RoutingDecision
from oms.retention import prune_old_records, prune_outbox
from oms.tasks import prune_old_records as prune_task
from orders.models import IdempotencyKey, Notification, NotificationStatus
from tests.orders.factories import OrderFactory

pytestmark = pytest.mark.django_db

DAYS = 30


@pytest.fixture(autouse=True)
def retention(settings):
    settings.OMS_RETENTION_OUTBOX_DAYS = DAYS
    settings.OMS_RETENTION_IDEMPOTENCY_DAYS = DAYS
    settings.OMS_RETENTION_NOTIFICATION_DAYS = DAYS
    settings.OMS_RETENTION_ROUTING_DAYS = DAYS
    settings.OMS_RETENTION_BATCH_SIZE = 1000
    settings.OMS_RETENTION_MAX_BATCHES = 10


def aged(row, *, days: float, also: tuple[str, ...] = ()):
    """Back-date a row (``created_at`` and the fields in ``also``) by ``days``."""
    at = timezone.now() - timedelta(days=days)
    type(row).objects.filter(pk=row.pk).update(created_at=at, **dict.fromkeys(also, at))
    return row


def remaining(model) -> set[int]:
    return set(model.objects.values_list("pk", flat=True))


def outbox_event(*, days: float, published: bool = True) -> OutboxEvent:
    event = OutboxEvent.objects.create(topic="order.placed", payload={"order_id": 1})
    return aged(event, days=days, also=("published_at",) if published else ())


def notification(*, days: float, status: str) -> Notification:
    row = Notification.objects.create(
        dedupe_key=f"test:{Notification.objects.count()}:{status}",
        channel="email",
        event="order_confirmed",
        recipient="pat@example.com",
        status=status,
    )
    return aged(row, days=days)


def idempotency_key(*, days: float) -> IdempotencyKey:
    row = IdempotencyKey.objects.create(
        scope="storefront",
        key=f"key-{IdempotencyKey.objects.count()}",
        request_hash="0" * 64,
        response_status=201,
        response_body="{}",
    )
    return aged(row, days=days)


def decision(order, *, days: float) -> RoutingDecision:
    row = RoutingDecision.objects.create(order=order, outcome="routed", summary="Shipped from A")
    return aged(row, days=days)


def test_old_published_events_go_and_pending_or_young_ones_stay():
    # given published events 40 and 10 days old, an unpublished one 90 days old, and
    # one created 40 days ago but published only yesterday (the broker was down)
    old = outbox_event(days=40)
    young = outbox_event(days=10)
    pending = outbox_event(days=90, published=False)
    late = outbox_event(days=40)
    OutboxEvent.objects.filter(pk=late.pk).update(published_at=timezone.now() - timedelta(days=1))

    deleted = prune_old_records()

    assert deleted["outbox"] == 1
    assert remaining(OutboxEvent) == {young.pk, pending.pk, late.pk}
    assert old.pk not in remaining(OutboxEvent)


def test_old_notifications_go_except_those_still_sending():
    old_sent = notification(days=40, status=NotificationStatus.SENT)
    old_failed = notification(days=40, status=NotificationStatus.FAILED)
    old_skipped = notification(days=40, status=NotificationStatus.SKIPPED)
    old_sending = notification(days=40, status=NotificationStatus.SENDING)
    young = notification(days=5, status=NotificationStatus.SENT)

    deleted = prune_old_records()

    assert deleted["notifications"] == 3
    assert remaining(Notification) == {old_sending.pk, young.pk}
    assert not remaining(Notification) & {old_sent.pk, old_failed.pk, old_skipped.pk}


def test_old_idempotency_records_go_and_young_ones_stay():
    idempotency_key(days=31)
    idempotency_key(days=45)
    young = idempotency_key(days=29)

    deleted = prune_old_records()

    assert deleted["idempotency_keys"] == 2
    assert remaining(IdempotencyKey) == {young.pk}


def test_each_order_keeps_its_latest_routing_decision_however_old():
    # given an order routed three times long ago, and one routed twice lately
    settled, busy = OrderFactory(), OrderFactory()
    first, second, latest = (decision(settled, days=d) for d in (300, 200, 100))
    recent = [decision(busy, days=d) for d in (5, 1)]

    deleted = prune_old_records()

    assert deleted["routing_decisions"] == 2
    assert remaining(RoutingDecision) == {latest.pk, *(r.pk for r in recent)}
    assert not remaining(RoutingDecision) & {first.pk, second.pk}


def test_a_zero_retention_keeps_everything(settings):
    settings.OMS_RETENTION_OUTBOX_DAYS = 0
    kept = outbox_event(days=4000)

    deleted = prune_old_records()

    assert "outbox" not in deleted
    assert remaining(OutboxEvent) == {kept.pk}


def test_deletes_are_bounded_batches_of_primary_key_ranges():
    # given seven old published events, and batches of 2 rows, 2 batches a run
    old = sorted(outbox_event(days=40).pk for _ in range(7))
    young = outbox_event(days=1)
    batches = Batches(size=2, limit=2)
    cutoff = timezone.now() - timedelta(days=DAYS)

    # when the prune runs
    with CaptureQueriesContext(connection) as run:
        first_run = prune_outbox(created_before=cutoff, batches=batches)

    # then it deletes two ranges of two rows, the oldest first, and stops there
    deletes = [q["sql"] for q in run.captured_queries if q["sql"].startswith("DELETE")]
    assert first_run == 4
    assert len(deletes) == 2
    assert all('"id" >= ' in sql and '"id" <= ' in sql for sql in deletes)
    assert remaining(OutboxEvent) == {*old[4:], young.pk}

    # and the next runs finish the backlog, then find nothing to do.
    assert prune_outbox(created_before=cutoff, batches=batches) == 3
    with CaptureQueriesContext(connection) as idle:
        assert prune_outbox(created_before=cutoff, batches=batches) == 0
    assert not [q for q in idle.captured_queries if q["sql"].startswith("DELETE")]
    assert remaining(OutboxEvent) == {young.pk}


def test_the_task_prunes_and_runs_daily():
    outbox_event(days=40)
    kept = outbox_event(days=1)

    result = prune_task.apply().get()

    assert result["outbox"] == 1
    assert remaining(OutboxEvent) == {kept.pk}
    [entry] = [
        e for e in django_settings.CELERY_BEAT_SCHEDULE.values() if e["task"] == prune_task.name
    ]
    assert isinstance(entry["schedule"], crontab)
    assert entry["schedule"].hour == {3}
    assert entry["schedule"].minute == {17}
