"""Invoicing throughput: shipped orders whose events wait in the outbox, one Celery
worker issuing their invoices, rendering and storing the PDFs, e-mailing them and
capturing the card payments.

    python bench/invoicing.py [--orders 200] [--out result.json]

Builds a throwaway PostgreSQL database and seeds it through the services: a shipping
method, New York's tax, 20 SKUs at one warehouse, and ``--orders`` card orders of three
lines (the test provider's ``tok_approve``), each authorised, routed and shipped in one
parcel. While they are prepared nothing is published (``OMS_OUTBOX_RELAY=process``
with no relay running): their ``shipment.created`` events wait in the outbox, as they
would behind a relay that was down; the events of placement and routing are marked
published, since they are not what is measured. Then ONE Celery worker (solo pool, the
production settings, Redis) is started, a few warm-up shipments are invoiced and not
counted, and the measured shipments' events go to ``billing.invoice_shipment_event``,
one message per shipment (the relay sends one message per consumer and batch; one per
shipment is the least favourable case). The worker relays what it emits itself
(``after_commit``): each invoice's ``invoice.issued`` makes it render and store the
PDF, e-mail it (a local in-memory e-mail backend) and capture the invoice's total, all
in the same process. The clock runs from the first message to the moment every
measured invoice exists, has its stored PDF and its succeeded capture.

Prints a JSON summary, written to ``--out`` for ``bench/intake.py report``.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB = "postgres://postgres:postgres@127.0.0.1:5432/oms_bench_invoicing"
DEFAULT_REDIS = "redis://127.0.0.1:6379/12"
QUEUE = "bench-invoicing"
WARMUP_ORDERS = 5
SKUS = 20
TIMEOUT_SECONDS = 900


def setup_env(database_url: str, redis_url: str, media_root: str) -> dict[str, str]:
    """The production settings from the environment, on loopback services; e-mail
    stays in memory (nothing is sent) and PDFs go to a throwaway media directory."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "oms.settings.base",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "CELERY_QUEUE": QUEUE,
        "SECRET_KEY": secrets.token_urlsafe(40),
        "ALLOWED_HOSTS": "127.0.0.1",
        "DEBUG": "false",
        "SECURE_SSL_REDIRECT": "false",
        "OMS_AUTO_ROUTE": "false",
        "OMS_PAYMENT_PROVIDER": "test",
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        "MEDIA_ROOT": media_root,
        "LOG_LEVEL": "WARNING",
        # Preparing the backlog publishes nothing (no relay process runs).
        "OMS_OUTBOX_RELAY": "process",
    }
    os.environ.update(env)
    return env


def recreate_database(database_url: str) -> None:
    import psycopg

    name = database_url.rsplit("/", 1)[1]
    if "bench" not in name:
        raise SystemExit("refusing to drop a database whose name lacks 'bench'")
    admin = database_url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(database_url: str) -> None:
    import psycopg

    name = database_url.rsplit("/", 1)[1]
    if "bench" not in name:
        return
    admin = database_url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def prepare(orders: int) -> list[int]:
    """The backlog: ``orders`` shipped card orders; returns their shipments' ids."""
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from billing.payments import authorise_order
    from core.actors import Actor
    from core.models import OutboxEvent
    from customers.services import create_customer
    from fulfillment.models import FulfillmentOrder
    from fulfillment.operations import ship_fulfillment_order
    from fulfillment.routing import route_order
    from inventory.models import LocationKind
    from inventory.services import create_location, create_product, receive_stock
    from orders.models import TaxRate
    from orders.placement import LineRequest, OrderRequest, place_order
    from shipping.models import Carrier, ServiceLevel, ShippingMethod

    call_command("migrate", verbosity=0)
    actor = Actor.system("benchmark seed")
    carrier = Carrier.objects.create(code="BENCHPOST", name="Bench Post")
    ShippingMethod.objects.create(
        code="STANDARD",
        name="Standard",
        service_level=ServiceLevel.STANDARD,
        carrier=carrier,
        transit_days_min=2,
        transit_days_max=5,
        operating_days=[1, 2, 3, 4, 5],
        price=Decimal("9.95"),
    )
    TaxRate.objects.create(country="US", region="NY", rate=Decimal("0.08875"), taxes_shipping=True)
    warehouse = create_location(
        code="WH-NJ",
        name="New Jersey warehouse",
        kind=LocationKind.WAREHOUSE,
        address={"line1": "1 Port Road", "city": "Avenel", "region": "NJ",
                 "postal_code": "07001", "country": "US"},
    )  # fmt: skip
    skus = []
    for index in range(1, SKUS + 1):
        product = create_product(
            sku=f"BENCH-{index:03d}",
            name=f"Bench item {index}",
            list_price=Decimal(f"{4 + index % 17}.99"),
        )
        receive_stock(location=warehouse, product=product, quantity=100_000, actor=actor)
        skus.append(product.sku)
    address = {
        "name": "Pat Buyer",
        "line1": "350 Fifth Avenue",
        "city": "New York",
        "region": "NY",
        "postal_code": "10118",
        "country": "US",
    }
    shipments = []
    for index in range(orders):
        customer = create_customer(
            email=f"buyer{index}@bench.example.com", first_name="Bench", last_name=str(index)
        )
        order = place_order(
            request=OrderRequest(
                customer=customer,
                channel="web",
                shipping_method_code="STANDARD",
                shipping_address=address,
                lines=[
                    LineRequest(sku=skus[(index + k * 7) % SKUS], quantity=1 + (index + k) % 3)
                    for k in range(3)
                ],
                payment_token="tok_approve",
            ),
            actor=actor,
        ).order
        # What order.placed's consumers do, here in the benchmark's own process.
        authorise_order(order.pk)
        route_order(order_id=order.pk)
        fo = FulfillmentOrder.objects.get(order=order)
        shipment = ship_fulfillment_order(
            fo_id=fo.pk, actor=actor, tracking_number=f"1ZBENCH{index:08d}"
        )
        shipments.append(shipment.pk)
    # Only the shipments' invoicing is measured: the rest counts as done.
    OutboxEvent.objects.filter(published_at__isnull=True).exclude(topic="shipment.created").update(
        published_at=timezone.now()
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return shipments


def _start_worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "oms",
            "worker",
            "--pool=solo",
            "--queues",
            QUEUE,
            "--loglevel=WARNING",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        cwd=ROOT,
        # The worker relays the events it writes once they commit (invoice.issued).
        env={**env, "OMS_OUTBOX_RELAY": "after_commit"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _done(shipment_ids: list[int]) -> tuple[int, int, int]:
    """(invoices issued, PDFs stored, captures succeeded) for these shipments."""
    from billing.models import Invoice, PaymentTransaction

    invoices = Invoice.objects.filter(shipment_id__in=shipment_ids)
    captures = PaymentTransaction.objects.filter(
        invoice__shipment_id__in=shipment_ids, kind="capture", outcome="succeeded"
    )
    return invoices.count(), invoices.exclude(pdf="").count(), captures.count()


def _send(producer: object, shipment_ids: list[int]) -> None:
    from django.utils import timezone

    from core.models import OutboxEvent

    events = OutboxEvent.objects.filter(
        topic="shipment.created", payload__shipment_id__in=shipment_ids
    ).order_by("id")
    with producer.connection_for_write() as conn:  # type: ignore[attr-defined]
        for event_id in events.values_list("pk", flat=True):
            producer.send_task(  # type: ignore[attr-defined]
                "billing.invoice_shipment_event", args=[[event_id]], queue=QUEUE, connection=conn
            )
    events.update(published_at=timezone.now())


def _wait(
    shipment_ids: list[int], worker: subprocess.Popen[bytes], began: float
) -> dict[str, float]:
    """Seconds from ``began`` until every shipment's invoice, PDF and capture exist."""
    marks: dict[str, float] = {}
    total = len(shipment_ids)
    while time.monotonic() - began < TIMEOUT_SECONDS:
        invoices, pdfs, captures = _done(shipment_ids)
        now = time.monotonic() - began
        if invoices == total:
            marks.setdefault("invoices", now)
        if pdfs == total:
            marks.setdefault("pdfs", now)
        if captures == total:
            marks.setdefault("captures", now)
        if len(marks) == 3:
            return marks
        if worker.poll() is not None:
            raise SystemExit(f"the worker exited with {worker.returncode}")
        time.sleep(0.05)
    raise SystemExit(f"not done after {TIMEOUT_SECONDS}s: {_done(shipment_ids)} of {total}")


def run(args: argparse.Namespace) -> dict[str, object]:
    media = tempfile.mkdtemp(prefix="oms-bench-media-")
    env = setup_env(args.database_url, args.redis_url, media)
    sys.path.insert(0, str(ROOT))
    recreate_database(args.database_url)
    started = time.monotonic()
    shipments = prepare(args.orders + WARMUP_ORDERS)
    prepared_in = time.monotonic() - started

    import redis
    from celery import Celery

    redis.Redis.from_url(args.redis_url).flushdb()
    worker = _start_worker(env)
    try:
        producer = Celery(broker=args.redis_url)
        warmup, measured = shipments[:WARMUP_ORDERS], shipments[WARMUP_ORDERS:]
        _send(producer, warmup)
        _wait(warmup, worker, time.monotonic())
        worker_cpu_before = _cpu_seconds(worker.pid)
        began = time.monotonic()
        _send(producer, measured)
        marks = _wait(measured, worker, began)
        worker_cpu = _cpu_seconds(worker.pid) - worker_cpu_before
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
        redis.Redis.from_url(args.redis_url).flushdb()
        if not args.keep:
            drop_database(args.database_url)
        subprocess.run(["rm", "-rf", media], check=False)
    seconds = max(marks.values())
    count = len(measured)
    return {
        "orders": count,
        "warmup_orders": WARMUP_ORDERS,
        "lines_per_order": 3,
        "seconds_to_invoices": round(marks["invoices"], 2),
        "seconds_to_pdfs": round(marks["pdfs"], 2),
        "seconds_to_captures": round(marks["captures"], 2),
        "seconds": round(seconds, 2),
        "invoices_per_second": round(count / seconds, 1) if seconds else 0.0,
        "worker_cpu_ms_per_invoice": round(worker_cpu / count * 1000, 1) if count else None,
        "prepare_seconds": round(prepared_in, 1),
        "load_after": round(os.getloadavg()[0], 1),
    }


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=200)
    parser.add_argument(
        "--database-url", default=os.environ.get("BENCH_INVOICING_DATABASE_URL", DEFAULT_DB)
    )
    parser.add_argument(
        "--redis-url", default=os.environ.get("BENCH_INVOICING_REDIS_URL", DEFAULT_REDIS)
    )
    parser.add_argument("--out", help="also write the summary (JSON) here")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()
    result = run(args)
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
