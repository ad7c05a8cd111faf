"""Routing throughput: a backlog of placed orders, Celery workers routing it.

    python bench/routing.py [--orders 100000] [--seconds 60] [--batch-size 100]
                            [--workers 1,2,4] [--write]

Builds a throwaway PostgreSQL database, seeds 8 locations and 200 SKUs through the
services, writes a backlog of placed orders in bulk (the benchmark's setup, not the code
under test: demand is committed to the network exactly as placement would), then, one
run after another on what is left of the same backlog:

- the baseline: ONE worker (solo pool) and one ``fulfillment.route_order`` task per
  order, as fresh orders are routed;
- batches: 1, 2 and 4 worker processes (solo pool each) on one queue of
  ``fulfillment.route_orders`` tasks of ``--batch-size`` orders each, as a backlog
  drains.

Each run is timed over its measured window (after a warm-up), from the routing
decisions stored. After each run the workers are stopped, the queue emptied, and the
database checked: PostgreSQL's deadlock counter, ``manage.py check_integrity`` (stock
ledger, network commitments, lines sent twice), and every stock row's allocated units
against the open fulfillment order lines at its location (no unit allocated twice).
Routing's own outbox events stay in the outbox (a relay process would publish them:
``OMS_OUTBOX_RELAY=process``), so only routing is measured. Queries per order are
counted in-process for one ``route_order`` and for one batch. Prints a JSON summary;
``--write`` puts it into docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB = "postgres://postgres:postgres@127.0.0.1:5432/oms_bench_routing"
DEFAULT_REDIS = "redis://127.0.0.1:6379/13"
QUEUE = "bench-routing"

ZIPS = [
    ("10001", "New York", "NY"),
    ("60601", "Chicago", "IL"),
    ("90012", "Los Angeles", "CA"),
    ("77002", "Houston", "TX"),
    ("85004", "Phoenix", "AZ"),
    ("19103", "Philadelphia", "PA"),
    ("78205", "San Antonio", "TX"),
    ("92101", "San Diego", "CA"),
    ("75201", "Dallas", "TX"),
    ("95113", "San Jose", "CA"),
    ("98101", "Seattle", "WA"),
    ("80202", "Denver", "CO"),
    ("02108", "Boston", "MA"),
    ("30303", "Atlanta", "GA"),
    ("33130", "Miami", "FL"),
]
LOCATIONS = [
    ("WH-NJ", "warehouse", "07001"),
    ("WH-TX", "warehouse", "75261"),
    ("WH-NV", "warehouse", "89502"),
    ("DC-GA", "dc", "30303"),
    ("ST-NYC", "store", "10001"),
    ("ST-CHI", "store", "60601"),
    ("ST-LA", "store", "90012"),
    ("3PL-OH", "3pl", "43215"),
]


def setup_env(database_url: str, redis_url: str) -> dict[str, str]:
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
        "OMS_OUTBOX_RELAY": "process",
        "LOG_LEVEL": "WARNING",
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


def seed(orders: int) -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils import timezone

    from core.actors import Actor
    from core.geo import coordinates_for_postal_code
    from customers.models import Customer
    from inventory import services as stock
    from inventory.models import NetworkStock
    from orders.models import Order, OrderLine
    from shipping.models import Carrier, ShippingMethod

    call_command("migrate", verbosity=0)
    actor = Actor.system("bench")
    rng = random.Random(7)
    locations = [
        stock.create_location(
            code=code,
            name=code,
            kind=kind,
            ships=True,
            address={
                "line1": "1 Dock Rd",
                "city": "X",
                "region": "",
                "postal_code": zip_code,
                "country": "US",
            },
        )
        for code, kind, zip_code in LOCATIONS
    ]
    products = [
        stock.create_product(
            sku=f"BENCH-{i:04d}", name=f"Bench product {i}", list_price=Decimal("10.00")
        )
        for i in range(200)
    ]
    for location in locations:
        for product in products:
            stock.receive_stock(location=location, product=product, quantity=100_000, actor=actor)
    carrier = Carrier.objects.create(code="SIM", name="Simulated")
    method = ShippingMethod.objects.create(
        code="STANDARD",
        name="Standard",
        service_level="standard",
        carrier=carrier,
        transit_days_min=3,
        transit_days_max=6,
        operating_days=[1, 2, 3, 4, 5],
        price=Decimal("5.00"),
    )
    customers = Customer.objects.bulk_create(
        [
            Customer(email=f"bench{i}@example.com", first_name="B", last_name=str(i))
            for i in range(1000)
        ]
    )
    places = [(z, c, r, *coordinates_for_postal_code("US", z)) for z, c, r in ZIPS]
    committed: dict[int, int] = {}
    batch = 5000
    for start in range(0, orders, batch):
        with transaction.atomic():
            chunk = []
            for i in range(start, min(start + batch, orders)):
                zip_code, city, region, lat, lng = rng.choice(places)
                chunk.append(
                    Order(
                        number=f"BR-{i:07d}",
                        channel="web",
                        status="placed",
                        customer=rng.choice(customers),
                        email="bench@example.com",
                        ship_name="Bench",
                        ship_line1="1 Main St",
                        ship_city=city,
                        ship_region=region,
                        ship_postal_code=zip_code,
                        ship_country="US",
                        ship_latitude=lat,
                        ship_longitude=lng,
                        shipping_method=method,
                        subtotal=Decimal("0"),
                        grand_total=Decimal("0"),
                        placed_at=timezone.now(),
                    )
                )
            Order.objects.bulk_create(chunk)
            lines = []
            for order in chunk:
                for number, product in enumerate(rng.sample(products, rng.randint(1, 3)), 1):
                    quantity = rng.randint(1, 3)
                    committed[product.pk] = committed.get(product.pk, 0) + quantity
                    lines.append(
                        OrderLine(
                            order=order,
                            line_number=number,
                            product=product,
                            sku=product.sku,
                            description=product.name,
                            unit_price=Decimal("0"),
                            line_total=Decimal("0"),
                            quantity_ordered=quantity,
                        )
                    )
            OrderLine.objects.bulk_create(lines)
    for product_id, quantity in committed.items():
        NetworkStock.objects.filter(product_id=product_id).update(committed=quantity)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def queries_per_order(batch_size: int) -> tuple[int, float]:
    """Queries of one ``route_order`` and, per order, of one ``route_orders`` batch,
    counted on the newest orders of the backlog (which the runs then skip)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from fulfillment.routing import route_order, route_orders
    from orders.models import Order

    newest = list(
        Order.objects.filter(status="placed")
        .order_by("-id")
        .values_list("pk", flat=True)[: batch_size + 1]
    )
    with CaptureQueriesContext(connection) as single:
        route_order(order_id=newest[0])
    with CaptureQueriesContext(connection) as batch:
        decided = route_orders(order_ids=newest[1:])
    return len(single.captured_queries), round(len(batch.captured_queries) / len(decided), 2)


def deadlocks() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()")
        return int(cursor.fetchone()[0])


# Stock rows whose allocated units differ from the open fulfillment order lines at their
# location (nothing is shipped or cancelled in the benchmark): a unit allocated twice,
# or allocated without a fulfillment order, shows up here.
DOUBLE_ALLOCATIONS = """
SELECT count(*) FROM inventory_stocklevel s
LEFT JOIN (
    SELECT fo.location_id, ol.product_id,
           sum(fl.quantity - fl.quantity_shipped - fl.quantity_rejected
               - fl.quantity_cancelled) AS units
    FROM fulfillment_fulfillmentorderline fl
    JOIN fulfillment_fulfillmentorder fo ON fo.id = fl.fulfillment_order_id
    JOIN orders_orderline ol ON ol.id = fl.order_line_id
    WHERE fo.status <> 'cancelled'
    GROUP BY fo.location_id, ol.product_id
) f ON f.location_id = s.location_id AND f.product_id = s.product_id
WHERE s.allocated <> coalesce(f.units, 0) OR s.allocated > s.on_hand
"""


def checks(env: dict[str, str]) -> dict[str, object]:
    """The invariants after a run: check_integrity and the allocation check."""
    from django.db import connection

    result = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "check_integrity",
            "--outbox-max-age",
            "100000",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    with connection.cursor() as cursor:
        cursor.execute(DOUBLE_ALLOCATIONS)
        mismatched = int(cursor.fetchone()[0])
    return {
        "check_integrity": "ok" if result.returncode == 0 else result.stdout[-2000:],
        "stock_rows_allocated_twice_or_unaccounted": mismatched,
    }


def start_workers(env: dict[str, str], count: int, prefetch: int) -> list[subprocess.Popen[bytes]]:
    return [
        subprocess.Popen(
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
                "--hostname",
                f"bench{index}@%h",
                "--loglevel=WARNING",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                f"--prefetch-multiplier={prefetch}",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for index in range(count)
    ]


def stop_workers(workers: list[subprocess.Popen[bytes]]) -> None:
    for worker in workers:
        worker.send_signal(signal.SIGTERM)  # warm shutdown: the task in hand finishes
    for worker in workers:
        try:
            worker.wait(timeout=120)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


def timed_run(
    args: argparse.Namespace,
    env: dict[str, str],
    *,
    label: str,
    workers: int,
    batch_size: int,
) -> dict[str, Any]:
    """Queue the unrouted orders (one task per order, or batches), run ``workers``
    workers, and time them over the measured window."""
    import redis
    from celery import Celery

    from fulfillment.models import RoutingDecision
    from orders.models import Order

    broker = redis.Redis.from_url(args.redis_url)
    broker.flushdb()
    ids = list(Order.objects.filter(status="placed").order_by("id").values_list("pk", flat=True))
    if batch_size == 1:
        # One task per order: enough for the window at far more than the baseline's rate.
        ids = ids[: 100 * (args.seconds + args.warmup)]
    producer = Celery(broker=args.redis_url)
    with producer.connection_for_write() as conn:
        if batch_size == 1:
            for order_id in ids:
                producer.send_task(
                    "fulfillment.route_order", args=[order_id], queue=QUEUE, connection=conn
                )
        else:
            for start in range(0, len(ids), batch_size):
                producer.send_task(
                    "fulfillment.route_orders",
                    args=[ids[start : start + batch_size]],
                    queue=QUEUE,
                    connection=conn,
                )
    deadlocks_before = deadlocks()
    load_before = os.getloadavg()[0]
    started = start_workers(env, workers, prefetch=16 if batch_size == 1 else 1)
    try:
        baseline = RoutingDecision.objects.count()
        time.sleep(args.warmup)
        first_count, first_time = RoutingDecision.objects.count(), time.monotonic()
        deadline = first_time + args.seconds
        last_count = first_count
        while time.monotonic() < deadline:
            time.sleep(2)
            last_count = RoutingDecision.objects.count()
            if last_count - baseline >= len(ids):
                break
        elapsed = time.monotonic() - first_time
        load_after = os.getloadavg()[0]
    finally:
        stop_workers(started)
        broker.flushdb()
    routed = last_count - first_count
    return {
        "run": label,
        "workers": workers,
        "orders_per_task": batch_size,
        "backlog_at_start": len(ids) if batch_size > 1 else None,
        "seconds_measured": round(elapsed, 1),
        "orders_routed": routed,
        "orders_per_second": round(routed / elapsed, 1) if elapsed else 0.0,
        "load_average": [round(load_before, 1), round(load_after, 1)],
        "deadlocks": deadlocks() - deadlocks_before,
        **checks(env),
    }


def run(args: argparse.Namespace) -> dict[str, object]:
    env = setup_env(args.database_url, args.redis_url)
    sys.path.insert(0, str(ROOT))
    recreate_database(args.database_url)
    started = time.monotonic()
    seed(args.orders)
    seeded_in = time.monotonic() - started
    single_queries, batch_queries = queries_per_order(args.batch_size)
    runs = [timed_run(args, env, label="one order per task", workers=1, batch_size=1)]
    for workers in args.workers:
        runs.append(
            timed_run(
                args,
                env,
                label=f"batches of {args.batch_size}",
                workers=workers,
                batch_size=args.batch_size,
            )
        )
    one_batch_worker = next((r["orders_per_second"] for r in runs[1:] if r["workers"] == 1), 0)
    for r in runs[1:]:
        if one_batch_worker:
            r["scale_factor"] = round(r["orders_per_second"] / one_batch_worker, 2)
    return {
        "backlog_orders": args.orders,
        "setup_seconds": round(seeded_in, 1),
        "cpus": os.cpu_count(),
        "queries_per_order": {"one order per task": single_queries, "batch": batch_queries},
        "batch_size": args.batch_size,
        "runs": runs,
    }


def write_docs(result: dict[str, object], command: str) -> None:
    """Replace the routing section's figures in docs/benchmarks.md."""
    docs = ROOT / "docs" / "benchmarks.md"
    text = docs.read_text()
    start = text.index("<!-- routing-figures -->")
    end = text.index("<!-- /routing-figures -->")
    runs: list[dict[str, object]] = result["runs"]  # type: ignore[assignment]
    queries: dict[str, object] = result["queries_per_order"]  # type: ignore[assignment]
    rows = [
        (
            "| run | workers | measured | orders routed | orders/s | scale | queries/order "
            "| load avg (start → end) | deadlocks | check_integrity | double allocations |"
        ),
        "|---|---:|---:|---:|---:|---:|---:|---|---:|---|---:|",
    ]
    for r in runs:
        per_task = r["orders_per_task"] == 1
        load: list[float] = r["load_average"]  # type: ignore[assignment]
        rows.append(
            f"| {r['run']} | {r['workers']} | {r['seconds_measured']} s "
            f"| {r['orders_routed']:,} | **{r['orders_per_second']}** "
            f"| {r.get('scale_factor', '–')} "
            f"| {queries['one order per task'] if per_task else queries['batch']} "
            f"| {load[0]} → {load[1]} | {r['deadlocks']} "
            f"| {'ok' if r['check_integrity'] == 'ok' else 'FAILED'} "
            f"| {r['stock_rows_allocated_twice_or_unaccounted']} |"
        )
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    body = (
        f"<!-- routing-figures -->\nCommand: `{command}`. Run on {stamp}, backlog of "
        f"{result['backlog_orders']:,} orders (setup {result['setup_seconds']} s), "
        f"{result['cpus']} CPUs shared with other engineers' test runs (see the load "
        "averages).\n\n" + "\n".join(rows) + "\n"
    )
    docs.write_text(text[:start] + body + text[end:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument(
        "--workers",
        type=lambda text: [int(n) for n in text.split(",")],
        default=[1, 2, 4],
        help="worker counts of the batch runs, e.g. 1,2,4",
    )
    parser.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB))
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS))
    args = parser.parse_args()
    result = run(args)
    print(json.dumps(result, indent=2))
    if args.write:
        # The command as anyone would type it: without this machine's URLs.
        shown, skip = [], False
        for arg in sys.argv[1:]:
            if skip or arg == "--write":
                skip = False
                continue
            if arg in ("--database-url", "--redis-url"):
                skip = True
                continue
            if not arg.startswith(("--database-url=", "--redis-url=")):
                shown.append(arg)
        write_docs(result, " ".join(["python bench/routing.py", *shown]))


if __name__ == "__main__":
    main()
