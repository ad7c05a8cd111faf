"""A real Celery worker process on a real Redis changes the database."""

import os
import subprocess
import sys
import time
import uuid
from datetime import timedelta

import pytest
import redis
from celery import Celery
from django.conf import settings
from django.utils import timezone

from inventory import services
from inventory.models import ReservationStatus, StockReservation
from tests.factories import LocationFactory, ProductFactory

REDIS_URL = os.environ.get("REDIS_TEST_URL", "redis://127.0.0.1:6379/15")

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _database_url() -> str:
    db = settings.DATABASES["default"]
    return (
        f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or '127.0.0.1'}:"
        f"{db['PORT'] or 5432}/{db['NAME']}"
    )


@pytest.fixture
def worker_queue():
    """Start ``celery worker`` on a private queue against the test database."""
    redis.Redis.from_url(REDIS_URL, socket_timeout=2).ping()
    queue = f"test-{uuid.uuid4().hex[:12]}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "oms.settings.test",
        "DATABASE_URL": _database_url(),
        "CELERY_BROKER_URL": REDIS_URL,
        "CELERY_TASK_ALWAYS_EAGER": "false",
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "oms",
            "worker",
            "--pool=solo",
            "--queues",
            queue,
            "--loglevel=WARNING",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
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


def test_worker_releases_expired_reservation(worker_queue, system_actor):
    location, product = LocationFactory(), ProductFactory()
    services.receive_stock(location=location, product=product, quantity=5, actor=system_actor)
    reservation = services.reserve_stock(
        location=location,
        product=product,
        quantity=3,
        expires_at=timezone.now() + timedelta(seconds=1),
        reference="QUOTE-1",
        actor=system_actor,
    )
    time.sleep(1.2)

    producer = Celery(broker=REDIS_URL)
    producer.send_task("inventory.release_expired_reservations", queue=worker_queue)

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        reservation.refresh_from_db()
        if reservation.status != ReservationStatus.ACTIVE:
            break
        time.sleep(0.2)
    assert reservation.status == ReservationStatus.EXPIRED
    assert StockReservation.objects.get(pk=reservation.pk).ended_at is not None
    level = reservation.stock_level
    level.refresh_from_db()
    assert level.reserved == 0
