"""Nothing is lost when Redis is down: the order is placed, its side effects wait in
the outbox, and once Redis is back the sweep hands them to a real worker, which
e-mails the customer exactly once."""

import os
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.core import mail

from core import outbox
from core.models import OutboxEvent
from orders.models import Notification, NotificationStatus, Order
from tests import workers

from .support import ORDERS_URL, celery_publishing_to, order_body, post_order

REDIS_URL = workers.REDIS_URL
DEAD_BROKER = "redis://127.0.0.1:6390/0"  # nothing listens there
WAIT_SECONDS = 90

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@contextmanager
def celery_worker(mail_dir: Path, log_path: Path) -> Iterator[str]:
    """A real ``celery worker`` process on a private queue of the real Redis, against
    the test database, writing e-mail to ``mail_dir``. Yields the queue name."""
    redis.Redis.from_url(REDIS_URL, socket_timeout=2).ping()
    queue = f"test-api-{uuid.uuid4().hex[:12]}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.api.worker_settings",
        "DATABASE_URL": workers.worker_database_url(),
        "CELERY_BROKER_URL": REDIS_URL,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "EMAIL_FILE_PATH": str(mail_dir),
    }
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            workers.worker_command(queue),
            cwd=settings.BASE_DIR,
            env=env,
            stdout=log,
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
            redis.Redis.from_url(REDIS_URL, socket_timeout=2).delete(queue)


def wait_for(condition: Callable[[], bool], what: str, log_path: Path) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    log = log_path.read_text(errors="replace")[-3000:]
    pytest.fail(f"{what} did not happen within {WAIT_SECONDS} s. Worker log:\n{log}")


def sent(order: Order, event: str) -> bool:
    return Notification.objects.filter(
        order=order, event=event, status=NotificationStatus.SENT
    ).exists()


def subjects(mail_dir: Path) -> list[str]:
    found = []
    for path in sorted(mail_dir.iterdir()):
        for line in path.read_text().splitlines():
            if line.startswith("Subject: "):
                found.append(line.removeprefix("Subject: "))
    return found


def test_a_dead_broker_delays_the_email_but_loses_nothing(
    api, stocked, address, standard, tmp_path
):
    mail_dir, log_path = tmp_path / "mail", tmp_path / "worker.log"
    mail_dir.mkdir()

    # Given Redis is down, when an order is placed,
    with celery_publishing_to(DEAD_BROKER):
        started = time.monotonic()
        response = post_order(api, order_body([(stocked[0].sku, 2)], address), "redis-down")
        took = time.monotonic() - started
        # the periodic sweep cannot publish either.
        assert outbox.sweep(older_than=timedelta(0)) == 0

    # then the order is placed, without waiting on the broker (its connect timeout is
    # one second and the relay does not retry), and its confirmation waits in the outbox.
    assert response.status_code == 201, response.content
    assert took < 15
    order = Order.objects.get(number=response.json()["number"])
    event = OutboxEvent.objects.get()
    assert (event.topic, event.payload["order_id"]) == ("order.placed", order.pk)
    assert event.published_at is None
    assert event.attempts == 2
    assert event.last_error
    assert not Notification.objects.exists()
    assert mail.outbox == []

    # When Redis is back, a worker runs and the sweep publishes what was missed,
    with (
        celery_worker(mail_dir, log_path) as queue,
        celery_publishing_to(REDIS_URL, queue=queue),
    ):
        assert outbox.sweep(older_than=timedelta(0)) == 1
        wait_for(lambda: sent(order, "order_confirmed"), "the confirmation", log_path)
        assert len(list(mail_dir.iterdir())) == 1
        event.refresh_from_db()
        assert event.published_at is not None
        assert event.last_error == ""
        # a second sweep finds nothing to publish,
        assert outbox.sweep(older_than=timedelta(0)) == 0
        # and a redelivery of the same event (a broker may deliver twice) sends nothing:
        # the worker handles its queue in order, so once the cancellation that follows
        # is e-mailed, the duplicate has been handled.
        assert outbox.relay_events([event]) == 1
        cancel = api.post(
            f"{ORDERS_URL}{order.number}/cancel/", {"reason": "changed mind"}, format="json"
        )
        assert cancel.status_code == 200, cancel.content
        wait_for(lambda: sent(order, "cancelled"), "the cancellation e-mail", log_path)

    # then the customer got each e-mail exactly once.
    assert sorted(subjects(mail_dir)) == [
        f"Your order {order.number} is confirmed",
        f"Your order {order.number} was cancelled",
    ]
    assert Notification.objects.filter(order=order).count() == 2
    assert mail.outbox == []
