"""Routing throughput: a backlog of placed orders, one Celery worker routing them.

    python bench/routing.py [--orders 100000] [--seconds 120]

Builds a throwaway PostgreSQL database, seeds 8 locations and 200 SKUs through the
services, writes a backlog of placed orders in bulk (the benchmark's setup, not the code
under test: demand is committed to the network exactly as placement would), starts ONE
Celery worker (solo pool) on Redis, queues one routing task per order and measures how
many orders the worker routes per second over the measured window. Prints a JSON
summary; ``--write`` puts it into docs/benchmarks.md.
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


def queries_per_order() -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from fulfillment.routing import route_order
    from orders.models import Order

    order = Order.objects.filter(status="placed").order_by("-id").first()
    assert order is not None
    with CaptureQueriesContext(connection) as ctx:
        route_order(order_id=order.pk)
    return len(ctx.captured_queries)


def run(args: argparse.Namespace) -> dict[str, object]:
    env = setup_env(args.database_url, args.redis_url)
    sys.path.insert(0, str(ROOT))
    recreate_database(args.database_url)
    started = time.monotonic()
    seed(args.orders)
    seeded_in = time.monotonic() - started
    per_order_queries = queries_per_order()

    import redis
    from celery import Celery

    from fulfillment.models import RoutingDecision
    from orders.models import Order

    redis.Redis.from_url(args.redis_url).flushdb()
    worker = subprocess.Popen(
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
            "--prefetch-multiplier=16",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        producer = Celery(broker=args.redis_url)
        ids = list(
            Order.objects.filter(status="placed").order_by("id").values_list("pk", flat=True)
        )
        with producer.connection_for_write() as conn:
            for order_id in ids:
                producer.send_task(
                    "fulfillment.route_order", args=[order_id], queue=QUEUE, connection=conn
                )
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
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
    routed = last_count - first_count
    return {
        "backlog_orders": args.orders,
        "seconds_measured": round(elapsed, 1),
        "orders_routed": routed,
        "orders_per_second": round(routed / elapsed, 1) if elapsed else 0.0,
        "queries_per_order": per_order_queries,
        "setup_seconds": round(seeded_in, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--seconds", type=int, default=120)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB))
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS))
    args = parser.parse_args()
    result = run(args)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
