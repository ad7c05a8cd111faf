"""A real Celery worker process on a real Redis changes the database."""

import os
import subprocess
import time
import uuid
from datetime import timedelta

import pytest
import redis
from celery import Celery
from django.utils import timezone

from core.models import OutboxEvent
from tests import workers

REDIS_URL = workers.REDIS_URL

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker_queue():
    """Start ``celery worker`` on a private queue against the test database."""
    redis.Redis.from_url(REDIS_URL, socket_timeout=2).ping()
    queue = f"test-{uuid.uuid4().hex[:12]}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "oms.settings.test",
        "DATABASE_URL": workers.worker_database_url(),
        "CELERY_BROKER_URL": REDIS_URL,
        "CELERY_TASK_ALWAYS_EAGER": "false",
    }
    process = subprocess.Popen(
        workers.worker_command(queue),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        yield queue
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def test_worker_prunes_old_records(worker_queue, settings):
    # given a published outbox event older than the retention, and a young one
    old, young = (
        OutboxEvent.objects.create(topic="order.placed", payload={"order_id": n}) for n in (1, 2)
    )
    long_ago = timezone.now() - timedelta(days=settings.OMS_RETENTION_OUTBOX_DAYS + 1)
    OutboxEvent.objects.filter(pk=old.pk).update(created_at=long_ago, published_at=long_ago)
    OutboxEvent.objects.filter(pk=young.pk).update(published_at=timezone.now())

    # when a real worker runs the daily prune
    producer = Celery(broker=REDIS_URL)
    producer.send_task("oms.prune_old_records", queue=worker_queue)

    # then the old event goes and the young one stays
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and OutboxEvent.objects.filter(pk=old.pk).exists():
        time.sleep(0.2)
    assert list(OutboxEvent.objects.values_list("pk", flat=True)) == [young.pk]
