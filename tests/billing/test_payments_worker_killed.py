"""A worker killed (SIGKILL) right after the provider captured an invoice's money, before
it recorded the answer, never captures twice: the ledger row written before the call
keeps its idempotency key, the broker hands the message to another worker, which calls
the provider with that same key (a real provider answers with the first capture and
moves no money) and finishes the row: one succeeded capture, the invoice paid once."""

import json
import signal
import time
import uuid
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest
import redis
from celery import Celery

from billing.models import Invoice, InvoiceStatus, PaymentTransaction, TransactionOutcome
from billing.providers.test import DEFAULT_STORE
from core import outbox
from core.models import OutboxEvent
from orders.models import PaymentStatus
from tests import workers
from tests.billing.conftest import make_products, place_routed, ship

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

WAIT_SECONDS = 90
SETTINGS = "tests.billing.payment_worker_settings"


def wait_for(condition: Callable[[], bool], what: str, log_path: Path) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    log = log_path.read_text(errors="replace")[-3000:]
    pytest.fail(f"{what} did not happen within {WAIT_SECONDS} s. Worker log:\n{log}")


def test_a_capture_whose_worker_was_killed_after_the_provider_call_is_made_once(
    shop, tmp_path, monkeypatch
):
    DEFAULT_STORE.clear()
    broker = redis.Redis.from_url(workers.REDIS_URL, socket_timeout=2)
    broker.ping()
    queue = f"test-capture-killed-{uuid.uuid4().hex[:12]}"
    mail_dir, log_path = tmp_path / "mail", tmp_path / "worker.log"
    calls, hung = tmp_path / "calls.jsonl", tmp_path / "hung"
    mail_dir.mkdir()
    env = {
        "EMAIL_FILE_PATH": str(mail_dir),
        "MEDIA_ROOT": str(tmp_path / "media"),
        "CELERY_QUEUE": queue,
        "PAYMENT_CALLS_LOG": str(calls),
        "PAYMENT_HANG_AFTER_CAPTURE": str(hung),
    }
    # Given a card order, authorised, shipped and invoiced, whose capture no worker
    # has made yet
    monkeypatch.setitem(outbox.HANDLERS, "invoice.issued", [])
    [product] = make_products(shop, [Decimal("30.00")])
    order, fo = place_routed([(product, 2)], payment_token="tok_approve")
    shipment = ship(fo)
    invoice = Invoice.objects.get(shipment=shipment)
    event = OutboxEvent.objects.get(topic="invoice.issued", payload__invoice_id=invoice.pk)
    producer = Celery(broker=workers.REDIS_URL)

    try:
        # and a worker killed right after the provider captured the money
        with workers.celery_worker(queue, log_path, settings_module=SETTINGS, **env) as doomed:
            producer.send_task("billing.capture_invoice_event", args=[[event.pk]], queue=queue)
            wait_for(hung.exists, "the worker's capture", log_path)
            doomed.send_signal(signal.SIGKILL)
            doomed.wait(timeout=10)
        [pending] = PaymentTransaction.objects.filter(invoice=invoice)
        assert pending.outcome == TransactionOutcome.PENDING

        # when another worker comes, the broker hands it the unacknowledged message
        with workers.celery_worker(queue, log_path, settings_module=SETTINGS, **env):
            wait_for(
                lambda: PaymentTransaction.objects.filter(
                    invoice=invoice, outcome=TransactionOutcome.SUCCEEDED
                ).exists(),
                "the capture's second attempt",
                log_path,
            )
            time.sleep(3)  # for any duplicate delivery to be handled

        # then the invoice has one capture, finished once, for its total
        [capture] = PaymentTransaction.objects.filter(invoice=invoice)
        assert capture.outcome == TransactionOutcome.SUCCEEDED
        assert capture.idempotency_key == f"capture:{invoice.pk}"
        assert capture.amount == invoice.grand_total
        # and both calls the provider saw carried that one key (money moved once)
        seen = [json.loads(line) for line in calls.read_text().splitlines()]
        assert [call["key"] for call in seen] == [capture.idempotency_key] * 2
        assert {call["amount"] for call in seen} == {str(invoice.grand_total)}
        invoice.refresh_from_db()
        assert invoice.status == InvoiceStatus.PAID
        assert invoice.amount_paid == invoice.grand_total
        order.refresh_from_db()
        assert order.payment_status == PaymentStatus.CAPTURED
    finally:
        broker.delete(queue)
