from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import transaction

from oms import outbox
from oms.models import OutboxEvent

pytestmark = pytest.mark.django_db(transaction=True)


def test_in_process_mode_requests_leave_publishing_to_the_relay(settings):
    settings.OMS_OUTBOX_RELAY = "process"
    settings.CELERY_TASK_ALWAYS_EAGER = False
    with transaction.atomic():
        outbox.emit("shipment.picked_up", {"order_id": 1, "shipment_id": 1})
        outbox.emit("shipment.picked_up", {"order_id": 2, "shipment_id": 2})

    assert OutboxEvent.objects.filter(published_at__isnull=True).count() == 2

    call_command("relay_outbox", "--once")

    assert OutboxEvent.objects.filter(published_at__isnull=True).count() == 0
    assert outbox.sweep(older_than=timedelta(0)) == 0


def test_after_commit_mode_publishes_from_the_request(settings):
    settings.OMS_OUTBOX_RELAY = "after_commit"
    with transaction.atomic():
        outbox.emit("shipment.picked_up", {"order_id": 1, "shipment_id": 1})

    assert OutboxEvent.objects.get().published_at is not None


def test_the_relay_loop_stops_when_asked():
    calls = []

    def stop() -> bool:
        calls.append(1)
        return len(calls) > 2

    outbox.run_relay(poll_seconds=0, stop=stop)

    assert len(calls) == 3
