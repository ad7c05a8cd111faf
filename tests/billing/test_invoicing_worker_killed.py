"""A worker killed (SIGKILL) in the middle of issuing an invoice leaves nothing behind:
its transaction dies with it, the broker hands the message to another worker, and the
shipment gets one invoice, with the first number of the year (the dead worker's number
was never committed), one PDF and one e-mail."""

import signal
import time
import uuid
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest
import redis
from celery import Celery
from django.db import connection, transaction
from django.utils import timezone

from billing.models import DocumentSeries, Invoice
from billing.numbering import INVOICE_SERIES, format_number
from core import outbox
from core.models import OutboxEvent
from orders.models import Notification, NotificationStatus
from tests import workers
from tests.billing.conftest import make_products, place_routed, ship

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

WAIT_SECONDS = 90


def wait_for(condition: Callable[[], bool], what: str, log_path: Path) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    log = log_path.read_text(errors="replace")[-3000:]
    pytest.fail(f"{what} did not happen within {WAIT_SECONDS} s. Worker log:\n{log}")


def another_session_waits_on_a_lock() -> bool:
    with connection.cursor() as cursor:
        # pg_stat_activity is read once per transaction unless its snapshot is cleared.
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0] > 0


def test_an_invoice_whose_worker_was_killed_mid_issue_is_issued_once(shop, tmp_path, monkeypatch):
    broker = redis.Redis.from_url(workers.REDIS_URL, socket_timeout=2)
    broker.ping()
    queue = f"test-invoice-killed-{uuid.uuid4().hex[:12]}"
    mail_dir, media, log_path = tmp_path / "mail", tmp_path / "media", tmp_path / "worker.log"
    mail_dir.mkdir()
    env = {
        "EMAIL_FILE_PATH": str(mail_dir),
        "MEDIA_ROOT": str(media),
        # The worker publishes invoice.issued to its own queue.
        "CELERY_QUEUE": queue,
    }
    # Given a shipment whose event no worker has handled yet
    monkeypatch.setitem(outbox.HANDLERS, "shipment.created", [])
    [product] = make_products(shop, [Decimal("30.00")])
    _, fo = place_routed([(product, 2)])
    shipment = ship(fo)
    event = OutboxEvent.objects.get(topic="shipment.created", payload__shipment_id=shipment.pk)
    year = timezone.localdate().year
    DocumentSeries.objects.create(series=INVOICE_SERIES, year=year, last_number=0)
    producer = Celery(broker=workers.REDIS_URL)

    try:
        # and a worker that is killed while it issues the invoice: it has locked the
        # order and waits for the invoice counter, which this test holds
        with transaction.atomic():
            DocumentSeries.objects.select_for_update().get(series=INVOICE_SERIES, year=year)
            with workers.celery_worker(
                queue, log_path, settings_module="tests.oms.worker_settings", **env
            ) as doomed:
                producer.send_task("billing.invoice_shipment_event", args=[[event.pk]], queue=queue)
                wait_for(another_session_waits_on_a_lock, "the worker's invoice", log_path)
                doomed.send_signal(signal.SIGKILL)
                doomed.wait(timeout=10)
        assert not Invoice.objects.exists()

        # when another worker comes, the broker hands it the unacknowledged message
        with workers.celery_worker(
            queue, log_path, settings_module="tests.oms.worker_settings", **env
        ):
            wait_for(
                lambda: Notification.objects.filter(
                    event="invoice_issued", status=NotificationStatus.SENT
                ).exists(),
                "the invoice's e-mail",
                log_path,
            )
            time.sleep(3)  # for any duplicate delivery to be handled

        # then the shipment has one invoice, numbered without a gap, e-mailed once
        [invoice] = Invoice.objects.all()
        assert invoice.shipment_id == shipment.pk
        assert invoice.number == format_number(INVOICE_SERIES, year, 1)
        assert DocumentSeries.objects.get(series=INVOICE_SERIES, year=year).last_number == 1
        assert invoice.pdf
        assert len(list(mail_dir.iterdir())) == 1
        assert Notification.objects.filter(event="invoice_issued").count() == 1
    finally:
        broker.delete(queue)
