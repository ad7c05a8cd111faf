"""A worker killed (SIGKILL) while it sends an e-mail leaves its claim "sending"; the
broker hands the message to another worker, which takes the stale claim over and sends
the e-mail, exactly once."""

import signal
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis
from celery import Celery

from core.models import OutboxEvent
from orders.models import Notification, NotificationStatus, OrderEvent, OrderEventType
from tests import workers
from tests.orders.factories import OrderLineFactory

REDIS_URL = workers.REDIS_URL
WAIT_SECONDS = 90
CLAIM_TIMEOUT = 3

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@contextmanager
def celery_worker(queue: str, log_path: Path, **env: str) -> Iterator[subprocess.Popen]:
    """A real worker on ``queue`` whose notification claims go stale after
    ``CLAIM_TIMEOUT`` seconds (the fault tests use it too)."""
    with workers.celery_worker(
        queue,
        log_path,
        settings_module="tests.oms.worker_settings",
        OMS_NOTIFICATION_CLAIM_TIMEOUT=str(CLAIM_TIMEOUT),
        **env,
    ) as process:
        yield process


def wait_for(condition: Callable[[], bool], what: str, log_path: Path) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    log = log_path.read_text(errors="replace")[-3000:]
    pytest.fail(f"{what} did not happen within {WAIT_SECONDS} s. Worker log:\n{log}")


def test_an_email_whose_worker_was_killed_mid_send_goes_out_once(tmp_path):
    broker = redis.Redis.from_url(REDIS_URL, socket_timeout=2)
    broker.ping()
    queue = f"test-killed-{uuid.uuid4().hex[:12]}"
    mail_dir, log_path, started = tmp_path / "mail", tmp_path / "worker.log", tmp_path / "sending"
    mail_dir.mkdir()
    order = OrderLineFactory().order
    event = OutboxEvent.objects.create(topic="order.placed", payload={"order_id": order.pk})
    producer = Celery(broker=REDIS_URL)

    try:
        # Given a worker that is killed while the mail server holds its e-mail
        with celery_worker(
            queue, log_path, EMAIL_FILE_PATH=str(mail_dir), MAIL_SERVER_HANGS=str(started)
        ) as doomed:
            producer.send_task("oms.notify_order_event", args=[[event.pk]], queue=queue)
            wait_for(started.exists, "the first send", log_path)
            doomed.send_signal(signal.SIGKILL)
            doomed.wait(timeout=10)
        row = Notification.objects.get(order=order)
        assert row.status == NotificationStatus.SENDING
        assert list(mail_dir.iterdir()) == []

        # when another worker comes, the broker hands it the unacknowledged message
        with celery_worker(queue, log_path, EMAIL_FILE_PATH=str(mail_dir)):
            wait_for(
                lambda: Notification.objects.filter(
                    pk=row.pk, status=NotificationStatus.SENT
                ).exists(),
                "the e-mail",
                log_path,
            )
            # (a little longer, for any duplicate delivery to be handled)
            time.sleep(CLAIM_TIMEOUT + 2)

        # then the claim was taken over and the e-mail went out once.
        assert len(list(mail_dir.iterdir())) == 1
        assert Notification.objects.filter(order=order).count() == 1
        sent_events = OrderEvent.objects.filter(order=order, type=OrderEventType.NOTIFICATION_SENT)
        assert sent_events.count() == 1
    finally:
        broker.delete(queue)
