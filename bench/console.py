"""The console at a million orders: generate a large order history with COPY, then time
the agent's pages beside a plain ``ModelAdmin`` over the same tables, in the same run.

    python bench/console.py generate [--orders 1000000]   # rebuild the database
    python bench/console.py measure [--repeat 15] [--write-docs]
    python bench/console.py all [--orders N] [--write-docs]

``generate`` drops and recreates ``--database-url`` (its name must contain "bench"),
migrates it, loads the small demo data set (locations, carriers, shipping methods, one
staff login per role) and then writes, with PostgreSQL ``COPY``: companies (one per 50
orders), customers (one per 5 orders, a third of them company buyers, phones written in
five formats), 5,000 SKUs, the orders (channels, statuses, POs, external references and
ship-to phones in a realistic mix, two years of history), their lines (1 to 5 a order,
3 on average), a fulfillment order, its lines and a shipment with a tracking number for
every shipped order, and open holds on a share of the open orders. Secondary indexes
are dropped during the load and rebuilt after it (as a restore does), then the tables
are vacuumed and analysed. One order of 50 lines is placed, routed and held through the
services, so its page is a real one.

``measure`` logs in as the demo's agent through Django's test client and times each
page (a first request counted, then up to ``--repeat`` timed runs within ``--budget``
seconds; p50/p95) and counts its queries: the order
list unfiltered, filtered, searched by every kind of search, a deep page, and the
order page of 50 lines. The same requests go to a plain ``ModelAdmin`` over the same
tables, registered on a second admin site that only this script's URLconf mounts.
``--write-docs`` replaces the section "The console at a million orders" in
docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import hashlib
import json
import os
import random
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB = "postgres://postgres:postgres@127.0.0.1:5432/bench_console"
DOCS = ROOT / "docs" / "benchmarks.md"
SECTION = "## The console at a million orders"
TARGET_P95_MS = 250.0
SKU_COUNT = 5_000
BIG_ORDER_LINES = 50


def words(text: str) -> list[str]:
    return text.split()


FIRST = words(
    "Ana José María Zoë Chloé Noémie Renée Björn Jürgen Søren Łukasz Ömer Ayşe Çağla "
    "Émile James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth "
    "William Barbara Richard Susan Joseph Jessica Thomas Sarah Charles Karen Daniel "
    "Nancy Matthew Lisa Mark Priya Rahul Mei Wei Hiroshi Yuki Kwame Amara Diego Lucía "
    "Mateo Valentina Ngozi Tomás"
)
LAST = words(
    "García Müller Núñez Gómez Peña Dubois Lefèvre Schröder Öztürk Kowalski Nørgaard "
    "Smith Johnson Williams Brown Jones Miller Davis Rodriguez Martinez Hernandez "
    "Lopez Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez "
    "Thompson White Harris Sanchez Clark Ramirez Lewis Robinson Walker Young Allen "
    "King Wright Scott Nakamura Tanaka Okafor Mensah Silva Costa Rossi Bianchi Novak "
    "Horvat O'Brien"
)
COMPANY_WORDS = words(
    "Blue Harbor Summit Cedar Granite Maple Northwind Crescent Pioneer Atlas Beacon "
    "Sierra Evergreen Redwood Harbor Lakeside Ironwood Silverline Keystone Meridian "
    "Café Lumière Château Außen Fjörd Sól"
)
COMPANY_KINDS = (
    "Supply",
    "Hospitality",
    "Outfitters",
    "Logistics",
    "Hotels",
    "Dental Group",
    "Bakery",
    "Builders",
)
COMPANY_SUFFIXES = ("Inc.", "LLC", "Co.", "GmbH", "SARL", "Ltd", "")
PRODUCT_WORDS = words(
    "Mug Tumbler Bottle Tote Notebook Pen Hoodie Cap Apron Blanket Lamp Chair Desk "
    "Shelf Bowl Plate Kettle Towel Pillow Jacket Backpack Umbrella Speaker Cable "
    "Charger Candle"
)
COLOURS = words("Red Blue Green Black White Grey Navy Olive Sand Teal")
CITIES = (
    ("Denver", "CO", "80202", "303"),
    ("Reno", "NV", "89502", "775"),
    ("Austin", "TX", "78701", "512"),
    ("Seattle", "WA", "98101", "206"),
    ("Chicago", "IL", "60601", "312"),
    ("Atlanta", "GA", "30303", "404"),
    ("Boston", "MA", "02108", "617"),
    ("Portland", "OR", "97204", "503"),
    ("Phoenix", "AZ", "85004", "602"),
    ("New York", "NY", "10001", "212"),
)
STREETS = words("Elm Oak Pine Maple Cedar Main Market Lake Hill Park River Spring")
HOLD_REASONS = {
    "fraud_review": "Billing and shipping countries differ; card issued abroad.",
    "payment": "Card authorisation declined; waiting for a new card.",
    "credit_limit": "Order would take the company over its credit limit.",
    "address": "Carrier could not validate the street address.",
    "b2b_approval": "Above the buyer's approval threshold.",
    "manual": "Customer asked us to wait before shipping.",
}


# --- settings and database -------------------------------------------------------


def setup_django(database_url: str) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "oms.settings.test"
    os.environ["DATABASE_URL"] = database_url
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def recreate_database(database_url: str) -> None:
    import psycopg

    name = database_url.rsplit("/", 1)[1]
    if "bench" not in name:
        raise SystemExit("refusing to drop a database whose name lacks 'bench'")
    server = database_url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def manage(database_url: str, *args: str) -> None:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "oms.settings.test",
        "DATABASE_URL": database_url,
    }
    subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], cwd=ROOT, env=env, check=True)


# --- COPY --------------------------------------------------------------------------


class Table:
    """COPY rows into a model's table: the varying columns given per row, every other
    column its field's default (or NULL, or empty text), worked out once."""

    def __init__(self, model: Any, varying: Sequence[str], now: dt.datetime) -> None:
        from django.db.models import NOT_PROVIDED

        self.model = model
        self.table = model._meta.db_table
        by_column = {f.column: f for f in model._meta.concrete_fields}
        missing = [c for c in varying if c not in by_column]
        if missing:
            raise SystemExit(f"{self.table}: no columns {missing}")
        constant: dict[str, Any] = {}
        for column, field in by_column.items():
            if column in varying or field.primary_key or getattr(field, "generated", False):
                continue
            if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
                value: Any = now
            elif field.default is not NOT_PROVIDED:
                value = field.get_default()
            elif field.null:
                value = None
            elif field.get_internal_type() in ("CharField", "TextField", "EmailField"):
                value = ""
            else:
                raise SystemExit(f"{self.table}.{column}: required and not generated")
            if isinstance(value, dict | list):
                value = json.dumps(value)
            constant[column] = value
        self.columns = [*varying, *constant]
        self.constant = tuple(constant.values())

    def copy(self, conn: Any, rows: Iterable[tuple[Any, ...]]) -> int:
        names = ", ".join(f'"{c}"' for c in self.columns)
        count = 0
        with (
            conn.cursor() as cursor,
            cursor.copy(f'COPY "{self.table}" ({names}) FROM STDIN') as copy,
        ):
            for row in rows:
                copy.write_row(row + self.constant)
                count += 1
        return count


def drop_secondary_indexes(conn: Any, tables: Sequence[str]) -> list[str]:
    """Drop the indexes that back no constraint; return their definitions."""
    rows = conn.execute(
        """
        SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
        FROM pg_index i
        JOIN pg_class t ON t.oid = i.indrelid
        WHERE t.relname = ANY(%s)
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
        """,
        [list(tables)],
    ).fetchall()
    for name, _ in rows:
        conn.execute(f"DROP INDEX {name}")
    return [definition for _, definition in rows]


# --- generation --------------------------------------------------------------------


def phone_formats(area: str, n: int) -> list[str]:
    exchange, line = 200 + (n // 10_000) % 800, n % 10_000
    digits = f"{area}{exchange:03d}{line:04d}"
    return [
        f"+1 {area}-{exchange:03d}-{line:04d}",
        f"({area}) {exchange:03d}-{line:04d}",
        f"{area}.{exchange:03d}.{line:04d}",
        digits,
        f"+1{digits}",
    ]


def ascii_fold(text: str) -> str:
    import unicodedata

    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return folded.lower().replace("'", "").replace(" ", "")


def generate(database_url: str, orders: int, seed: int) -> dict[str, Any]:  # noqa: PLR0912, PLR0915
    started = time.perf_counter()
    recreate_database(database_url)
    manage(database_url, "migrate", "--noinput", "-v", "0")
    manage(
        database_url,
        "seed_demo",
        "--orders",
        "0",
        "--customers",
        "10",
        "--live-orders",
        "0",
        "--allow-production",
        "--quiet",
    )
    prepared = time.perf_counter()
    setup_django(database_url)

    import psycopg
    from django.db import connection

    from customers.models import Company, Customer
    from fulfillment.models import FulfillmentOrder, FulfillmentOrderLine, Shipment
    from inventory.models import Location, Product
    from orders.models import Order, OrderHold, OrderLine
    from shipping.models import ShippingMethod

    rng = random.Random(seed)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    methods = list(
        ShippingMethod.objects.filter(carrier__isnull=False, is_active=True).values_list(
            "id", "carrier_id", "service_level", "price"
        )
    )
    locations = list(
        Location.objects.filter(is_active=True).order_by("id").values_list("id", flat=True)
    )
    if not methods or not locations:
        raise SystemExit("the demo data set has no carrier shipping method or location")

    def next_id(model: Any) -> int:
        last = model.objects.order_by("-id").values_list("id", flat=True).first()
        return (last or 0) + 1

    base = {
        m: next_id(m)
        for m in (
            Company,
            Customer,
            Product,
            Order,
            OrderLine,
            FulfillmentOrder,
            FulfillmentOrderLine,
            Shipment,
        )
    }
    n_companies = max(20, orders // 50)
    n_customers = max(100, orders // 5)
    timings: dict[str, float] = {}
    counts: dict[str, int] = {}
    big_tables = [
        m._meta.db_table
        for m in (
            Company,
            Customer,
            Product,
            Order,
            OrderLine,
            FulfillmentOrder,
            FulfillmentOrderLine,
            Shipment,
            OrderHold,
        )
    ]

    conn = psycopg.connect(database_url)
    conn.execute("SET synchronous_commit = off")
    conn.execute("SET maintenance_work_mem = '256MB'")
    indexes = drop_secondary_indexes(conn, big_tables)
    for table in big_tables:
        conn.execute(f'ALTER TABLE "{table}" DISABLE TRIGGER ALL')

    def timed(name: str, table: Table, rows: Iterator[tuple[Any, ...]]) -> None:
        t0 = time.perf_counter()
        counts[name] = table.copy(conn, rows)
        conn.commit()
        timings[name] = time.perf_counter() - t0
        print(f"  {name:<22} {counts[name]:>10,} rows {timings[name]:7.1f} s", flush=True)

    # Companies.
    def companies() -> Iterator[tuple[Any, ...]]:
        for i in range(n_companies):
            first_word = COMPANY_WORDS[i % len(COMPANY_WORDS)]
            words = f"{first_word} {COMPANY_WORDS[(i // 7) % len(COMPANY_WORDS)]}"
            kind = COMPANY_KINDS[(i // 3) % len(COMPANY_KINDS)]
            suffix = COMPANY_SUFFIXES[i % len(COMPANY_SUFFIXES)]
            name = f"{words} {kind} {suffix} {i}".replace("  ", " ").strip()
            yield (base[Company] + i, f"BC{i:07d}", name, "net_30", Decimal("25000.00"))

    timed(
        "companies",
        Table(Company, ["id", "account_number", "name", "payment_terms", "credit_limit"], now),
        companies(),
    )

    # Customers: a third are company buyers; phones in five formats.
    customer_rows: list[tuple[int, int | None, str, str, str, str, int]] = []

    def customers() -> Iterator[tuple[Any, ...]]:
        for i in range(n_customers):
            first, last = FIRST[i % len(FIRST)], LAST[(i // len(FIRST)) % len(LAST)]
            city = i % len(CITIES)
            phone = phone_formats(CITIES[city][3], i)[i % 5]
            company = base[Company] + (i // 3) % n_companies if i % 3 == 0 else None
            email = f"{ascii_fold(first)}.{ascii_fold(last)}{i}@example-{i % 97}.com"
            customer_rows.append((base[Customer] + i, company, email, first, last, phone, city))
            yield (
                base[Customer] + i,
                email,
                first,
                last,
                phone,
                company,
                "buyer" if company else "",
            )

    timed(
        "customers",
        Table(
            Customer,
            ["id", "email", "first_name", "last_name", "phone", "company_id", "company_role"],
            now,
        ),
        customers(),
    )

    # Products.
    prices = [Decimal(rng.randrange(400, 30_000)) / 100 for _ in range(SKU_COUNT)]

    skus, names = [], []
    for i in range(SKU_COUNT):
        word = PRODUCT_WORDS[i % len(PRODUCT_WORDS)]
        colour = COLOURS[(i // len(PRODUCT_WORDS)) % len(COLOURS)]
        skus.append(f"{word[:4].upper()}-{colour[:3].upper()}-{i:05d}")
        names.append(f"{colour} {word} {i}")

    def products() -> Iterator[tuple[Any, ...]]:
        for i in range(SKU_COUNT):
            yield (base[Product] + i, skus[i], names[i], prices[i])

    timed("products", Table(Product, ["id", "sku", "name", "list_price"], now), products())

    # Orders and everything under them, built in one pass and copied table by table.
    start = now - dt.timedelta(days=730)
    span = (now - start).total_seconds() - 3600
    order_cols = [
        "id",
        "number",
        "channel",
        "status",
        "fulfillment_status",
        "customer_id",
        "company_id",
        "po_number",
        "external_reference",
        "email",
        "ship_name",
        "ship_line1",
        "ship_city",
        "ship_region",
        "ship_postal_code",
        "ship_country",
        "ship_phone",
        "shipping_method_id",
        "subtotal",
        "shipping_total",
        "grand_total",
        "payment_method",
        "payment_status",
        "created_at",
        "updated_at",
        "placed_at",
        "completed_at",
        "cancelled_at",
    ]
    line_cols = [
        "id",
        "order_id",
        "line_number",
        "product_id",
        "sku",
        "description",
        "unit_price",
        "line_total",
        "quantity_ordered",
        "quantity_allocated",
        "quantity_shipped",
        "quantity_delivered",
        "quantity_cancelled",
    ]
    fo_cols = [
        "id",
        "number",
        "order_id",
        "location_id",
        "status",
        "ship_by_date",
        "created_at",
        "updated_at",
        "closed_at",
    ]
    fol_cols = ["id", "fulfillment_order_id", "order_line_id", "quantity", "quantity_shipped"]
    shipment_cols = [
        "id",
        "fulfillment_order_id",
        "order_id",
        "carrier_id",
        "service_level",
        "tracking_number",
        "status",
        "shipped_at",
        "delivered_at",
    ]
    hold_cols = ["order_id", "kind", "reason", "placed_at", "placed_by_label"]
    tables = {
        "orders": Table(Order, order_cols, now),
        "order lines": Table(OrderLine, line_cols, now),
        "fulfillment orders": Table(FulfillmentOrder, fo_cols, now),
        "fulfillment lines": Table(FulfillmentOrderLine, fol_cols, now),
        "shipments": Table(Shipment, shipment_cols, now),
        "holds": Table(OrderHold, hold_cols, now),
    }
    batches: dict[str, list[tuple[Any, ...]]] = {name: [] for name in tables}
    batch_size = 50_000
    line_id, fo_id, fol_id, shipment_id = (
        base[OrderLine],
        base[FulfillmentOrder],
        base[FulfillmentOrderLine],
        base[Shipment],
    )
    for name in tables:
        counts[name] = 0
        timings[name] = 0.0

    def flush(force: bool = False) -> None:
        if not force and len(batches["orders"]) < batch_size:
            return
        for name, table in tables.items():
            t0 = time.perf_counter()
            counts[name] += table.copy(conn, batches[name])
            timings[name] += time.perf_counter() - t0
            batches[name].clear()
        conn.commit()

    hold_kinds = list(HOLD_REASONS)
    t_orders = time.perf_counter()
    for i in range(orders):
        order_id = base[Order] + i
        cust_id, company, email, first, last, _phone, city = customer_rows[
            rng.randrange(n_customers)
        ]
        created = start + dt.timedelta(seconds=span * i / orders + rng.random() * 60)
        age_days = (now - created).days
        r = rng.random()
        if company:
            channel = "b2b_api" if r < 0.6 else "sales"
            po = (
                rng.choice((f"PO-{order_id}", f"po{order_id}", f"4500{order_id:07d}"))
                if rng.random() < 0.8
                else ""
            )
            payment_method = "invoice"
        else:
            channel = (
                "web"
                if r < 0.7
                else "marketplace"
                if r < 0.9
                else "agent"
                if r < 0.95
                else "import"
            )
            po = ""
            payment_method = "card"
        external = (
            f"{'AMZ' if channel == 'marketplace' else 'IMP'}-{order_id * 7919 % 10**9:09d}"
            if channel in ("marketplace", "import")
            else ""
        )
        r = rng.random()
        if r < 0.04:
            status, fstatus = "cancelled", "unfulfilled"
        elif age_days > 10:
            status, fstatus = "completed", "delivered"
        elif age_days > 3 or r < 0.5:
            status, fstatus = "processing", "unfulfilled"
        else:
            status, fstatus = "placed", "unfulfilled"
        method_id, carrier_id, service_level, ship_price = methods[i % len(methods)]
        n_lines = 1 + (i * 7) % 5
        subtotal = Decimal("0")
        lines = []
        for n in range(1, n_lines + 1):
            p = rng.randrange(SKU_COUNT)
            qty = 1 + rng.randrange(3)
            total = prices[p] * qty
            subtotal += total
            lines.append((line_id, p, qty, total))
            batches["order lines"].append(
                (
                    line_id,
                    order_id,
                    n,
                    base[Product] + p,
                    skus[p],
                    names[p],
                    prices[p],
                    total,
                    qty,
                    qty if status == "processing" else 0,
                    qty if status == "completed" else 0,
                    qty if status == "completed" else 0,
                    qty if status == "cancelled" else 0,
                )
            )
            line_id += 1
        shipping = ship_price or Decimal("0")
        city_name, region, postal, area = CITIES[city]
        ship_phone = phone_formats(area, cust_id - base[Customer])[(i + 1) % 5]
        number = f"SO-{2_000_000 + i:07d}"
        if status == "completed":
            payment_status = "none" if payment_method == "invoice" else "captured"
        elif status == "cancelled":
            payment_status = "none" if payment_method == "invoice" else "voided"
        else:
            payment_status = "none" if payment_method == "invoice" else "authorised"
        batches["orders"].append(
            (
                order_id,
                number,
                channel,
                status,
                fstatus,
                cust_id,
                company,
                po,
                external,
                email,
                f"{first} {last}",
                f"{10 + i % 9000} {STREETS[i % len(STREETS)]} St",
                city_name,
                region,
                postal,
                "US",
                ship_phone,
                method_id,
                subtotal,
                shipping,
                subtotal + shipping,
                payment_method,
                payment_status,
                created,
                created + dt.timedelta(days=min(age_days, 5)),
                created,
                created + dt.timedelta(days=5) if status == "completed" else None,
                created + dt.timedelta(hours=2) if status == "cancelled" else None,
            )
        )
        if status in ("completed", "processing"):
            closed = status == "completed"
            batches["fulfillment orders"].append(
                (
                    fo_id,
                    f"{number}-1",
                    order_id,
                    locations[i % len(locations)],
                    "closed" if closed else "in_progress",
                    created.date() + dt.timedelta(days=2),
                    created,
                    created + dt.timedelta(days=2 if closed else 0),
                    created + dt.timedelta(days=2) if closed else None,
                )
            )
            for lid, _p, qty, _t in lines:
                batches["fulfillment lines"].append((fol_id, fo_id, lid, qty, qty if closed else 0))
                fol_id += 1
            if closed:
                tracking = "1Z" + hashlib.md5(str(order_id).encode()).hexdigest()[:16].upper()
                batches["shipments"].append(
                    (
                        shipment_id,
                        fo_id,
                        order_id,
                        carrier_id,
                        service_level,
                        tracking,
                        "delivered",
                        created + dt.timedelta(days=1),
                        created + dt.timedelta(days=4),
                    )
                )
                shipment_id += 1
            fo_id += 1
        if status in ("placed", "processing") and rng.random() < 0.3:
            kind = hold_kinds[i % len(hold_kinds)]
            batches["holds"].append((order_id, kind, HOLD_REASONS[kind], created, "system"))
        flush()
    flush(force=True)
    timings["orders (build)"] = (
        time.perf_counter() - t_orders - sum(timings[name] for name in tables)
    )
    for name in tables:
        print(f"  {name:<22} {counts[name]:>10,} rows {timings[name]:7.1f} s (COPY)", flush=True)

    t0 = time.perf_counter()
    for table in big_tables:
        conn.execute(f'ALTER TABLE "{table}" ENABLE TRIGGER ALL')
    for definition in indexes:
        conn.execute(definition)
    conn.commit()
    timings["indexes"] = time.perf_counter() - t0
    print(f"  indexes rebuilt ({len(indexes)}) {timings['indexes']:7.1f} s", flush=True)
    t0 = time.perf_counter()
    conn.autocommit = True
    for table in big_tables:
        conn.execute(f'VACUUM ANALYZE "{table}"')
    for model in (Company, Customer, Product, Order, OrderLine, FulfillmentOrder, Shipment):
        table = model._meta.db_table
        conn.execute(
            f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
            f'(SELECT max(id) FROM "{table}"))'
        )
    timings["vacuum analyze"] = time.perf_counter() - t0
    conn.close()
    connection.close()

    t0 = time.perf_counter()
    big = place_big_order()
    timings["50-line order"] = time.perf_counter() - t0
    total = time.perf_counter() - started
    summary = {
        "orders": orders,
        "counts": counts,
        "timings": {k: round(v, 1) for k, v in timings.items()},
        "prepare_seconds": round(prepared - started, 1),
        "total_seconds": round(total, 1),
        "big_order": big,
    }
    (ROOT / "var").mkdir(exist_ok=True)
    (ROOT / "var" / "bench_console_generate.json").write_text(json.dumps(summary, indent=2))
    print(f"generated in {total:.0f} s", flush=True)
    return summary


def place_big_order() -> str:
    """One order of 50 lines placed, routed and held through the services."""
    from django.contrib.auth.models import User

    from core.actors import Actor
    from customers.models import Customer
    from fulfillment.routing import route_order
    from inventory.models import StockLevel
    from orders import services as order_services
    from orders.notes import add_order_note
    from orders.placement import LineRequest, OrderRequest, place_order
    from shipping.models import ShippingMethod

    actor = Actor.for_user(User.objects.get(username="agent"))
    skus = list(
        StockLevel.objects.filter(on_hand__gte=5)
        .order_by("product__sku")
        .values_list("product__sku", flat=True)
        .distinct()[:BIG_ORDER_LINES]
    )
    customer = Customer.objects.filter(company__isnull=True).order_by("id").first()
    method = ShippingMethod.objects.filter(carrier__isnull=False, is_active=True).first()
    assert customer is not None
    assert method is not None
    order = place_order(
        request=OrderRequest(
            customer=customer,
            channel="agent",
            shipping_method_code=method.code,
            shipping_address={
                "name": f"{customer.first_name} {customer.last_name}",
                "line1": "1600 Market St",
                "city": "Denver",
                "region": "CO",
                "postal_code": "80202",
                "country": "US",
                "phone": "303-555-0189",
            },
            lines=[LineRequest(sku=sku, quantity=1) for sku in skus],
        ),
        actor=actor,
    ).order
    route_order(order_id=order.pk)
    order_services.place_hold(
        order=order, kind="manual", reason="Call before shipping", actor=actor
    )
    add_order_note(order=order, body="Customer asked for one parcel.", actor=actor)
    return order.number


# --- measurement -------------------------------------------------------------------


def plain_site() -> Any:
    """A plain ``ModelAdmin`` over the same tables, as a Django project starts with."""
    from django.apps import apps
    from django.contrib import admin
    from django.db.models import QuerySet

    from orders.models import Order, OrderHold, OrderLine

    site = admin.AdminSite(name="plain")

    class PlainOnHold(admin.SimpleListFilter):
        title = "hold"
        parameter_name = "on_hold"

        def lookups(self, request: Any, model_admin: Any) -> list[tuple[str, str]]:
            return [("yes", "On hold")]

        def queryset(self, request: Any, queryset: QuerySet[Any]) -> QuerySet[Any]:
            if self.value() == "yes":
                open_holds = OrderHold.objects.filter(released_at__isnull=True)
                return queryset.filter(pk__in=open_holds.values("order_id"))
            return queryset

    class LineInline(admin.TabularInline):
        model = OrderLine
        extra = 0
        fields = ("line_number", "sku", "description", "quantity_ordered", "unit_price")
        readonly_fields = fields

    class HoldInline(admin.TabularInline):
        model = OrderHold
        extra = 0
        fields = ("kind", "reason", "placed_at", "released_at")
        readonly_fields = fields

    class PlainOrderAdmin(admin.ModelAdmin):
        list_display = (
            "number",
            "customer",
            "company",
            "channel",
            "status",
            "fulfillment_status",
            "grand_total",
            "created_at",
        )
        list_select_related = ("customer", "company")
        list_filter = ("status", "channel", PlainOnHold)
        search_fields = (
            "number",
            "email",
            "customer__first_name",
            "customer__last_name",
            "company__name",
            "ship_phone",
            "customer__phone",
            "po_number",
            "lines__sku",
            "shipments__tracking_number",
            "external_reference",
        )
        inlines = (LineInline, HoldInline)

    site.register(Order, PlainOrderAdmin)
    # The project's changelist template links to "save this filter"; the link needs its
    # page on this site too (the plain list pays nothing else for it).
    with contextlib.suppress(LookupError):
        site.register(apps.get_model("core", "SavedFilter"))
    return site


def result_label(html: str) -> str:
    """What the changelist says it holds ("12 orders", "about 1,000,000 orders")."""
    block = re.search(r'<p class="paginator">(.*?)</p>', html, re.S)
    text = re.sub(r"<[^>]+>", " ", block.group(1)) if block else ""
    found = re.search(r"((?:about |more than )?[\d,]+) orders?\b", " ".join(text.split()))
    return found.group(1) if found else "?"


def percentile(values: Sequence[float], p: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * p
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def scenarios() -> list[tuple[str, str, str]]:
    """(name, query string or change page marker, what it looks for)."""
    from customers.models import Customer
    from fulfillment.models import Shipment
    from orders.models import Order

    mid = Order.objects.filter(number__startswith="SO-2").order_by("id")
    count = mid.count()
    sample = mid[count // 2]
    b2b = mid.exclude(po_number="").filter(id__gte=sample.id).first()
    market = mid.exclude(external_reference="").filter(id__gte=sample.id).first()
    customer = Customer.objects.get(pk=sample.customer_id)
    shipment = Shipment.objects.filter(order_id__gte=sample.id).order_by("order_id").first()
    line = sample.lines.first()
    assert b2b is not None
    assert market is not None
    assert shipment is not None
    assert line is not None
    # Page 2000 of 100 rows, or the middle page of a smaller data set.
    deep = min(2000, max(1, count // 200))
    digits = "".join(ch for ch in sample.ship_phone if ch.isdigit())[-10:]
    other_phone = f"({digits[:3]}) {digits[3:6]}-{digits[6:]}"
    local = customer.email.split("@")[0]
    company = b2b.company.name if b2b.company else ""
    return [
        ("List, default", "", ""),
        ("Filter: status placed", "status__exact=placed", ""),
        ("Filter: on hold", "on_hold=yes", ""),
        ("Filter: channel marketplace", "channel__exact=marketplace", ""),
        ("Search: order number", f"q={sample.number}", sample.number),
        ("Search: order digits", f"q={sample.number.removeprefix('SO-')}", sample.number),
        ("Search: partial e-mail", f"q={local[:-2]}", sample.number),
        ("Search: partial name", f"q={customer.last_name.lower()[:-1]}", ""),
        ("Search: company name", f"q={company.split()[0].lower()} {company.split()[-1]}", ""),
        ("Search: phone, other format", f"q={other_phone}", sample.number),
        ("Search: PO, lower case", f"q={b2b.po_number.lower()}", b2b.number),
        ("Search: SKU", f"q={line.sku}", ""),
        ("Search: tracking number", f"q={shipment.tracking_number}", ""),
        ("Search: external reference", f"q={market.external_reference}", market.number),
        (f"Deep page (p={deep})", f"p={deep}", ""),
        ("Order page, 50 lines", "change", ""),
    ]


def time_page(
    client: Any, url: str, query: str, expect: str, *, repeat: int, budget: float
) -> dict[str, Any]:
    """One page on one side: a first request whose queries are counted (and whose result
    is read), then up to ``repeat`` timed requests within ``budget`` seconds."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    # Read now: the next request empties the connection's query log.
    sqls = [q["sql"] for q in captured.captured_queries]
    status = response.status_code
    found = ""
    if status == 302:
        found = "goes to the order" if "/change/" in response["Location"] else "redirect"
    elif status == 200 and query != "change":
        html = response.content.decode()
        found = result_label(html)
        if expect:
            found = ("found" if expect in html else "NOT FOUND") + f" of {found}"
    times = []
    # The benchmark process's own CPU per request (Django and rendering, not the
    # database): on a shared machine it moves far less with the load than the time.
    cpu = []
    spent = 0.0
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        client.get(url)
        elapsed = time.perf_counter() - t0
        cpu.append((time.process_time() - c0) * 1000)
        times.append(elapsed * 1000)
        spent += elapsed
        if spent > budget:
            break
    return {
        "url": url,
        "status": status,
        "found": found,
        "queries": len(sqls),
        "counts": sum(1 for sql in sqls if "COUNT(" in sql.upper()),
        "p50": round(statistics.median(times), 1),
        "p95": round(percentile(times, 0.95), 1),
        "runs": len(times),
        "cpu_p50": round(statistics.median(cpu), 1),
    }


def measure(
    database_url: str,
    repeat: int,
    budget: float,
    only: str | None = None,
    sides: Sequence[str] = ("console", "plain"),
) -> dict[str, Any]:
    setup_django(database_url)
    from django.contrib.auth.models import User
    from django.test import Client
    from django.test.utils import override_settings
    from django.urls import path

    from oms import urls as oms_urls
    from orders.models import Order, OrderLine

    plain = plain_site()

    class BenchUrls:
        urlpatterns = [path("plain/", plain.urls), *oms_urls.urlpatterns]

    big_order = Order.objects.filter(lines__line_number=BIG_ORDER_LINES).order_by("-id").first()
    assert big_order is not None, "no order of 50 lines: run generate first"
    orders = Order.objects.count()
    lines_total = OrderLine.objects.count()
    client = Client()
    client.force_login(User.objects.get(username="agent"))
    results: list[dict[str, Any]] = []
    with override_settings(ROOT_URLCONF=BenchUrls, DEBUG=False):
        for name, query, expect in scenarios():
            if only and only.lower() not in name.lower():
                continue
            row: dict[str, Any] = {"name": name}
            for side, prefix in (("console", "/admin/"), ("plain", "/plain/")):
                if side not in sides:
                    continue
                if query == "change":
                    url = f"{prefix}orders/order/{big_order.pk}/change/"
                else:
                    url = f"{prefix}orders/order/" + (f"?{query}" if query else "")
                row[side] = time_page(client, url, query, expect, repeat=repeat, budget=budget)
            print(
                f"{name:<30} "
                + " | ".join(
                    f"{side} p50 {row[side]['p50']:8.1f} p95 {row[side]['p95']:8.1f}"
                    f" cpu {row[side]['cpu_p50']:7.1f}"
                    f" q {row[side]['queries']:3} ({row[side]['counts']}) {row[side]['found']}"
                    for side in sides
                ),
                flush=True,
            )
            results.append(row)
    return {
        "orders": orders,
        "lines": lines_total,
        "big_order": big_order.number,
        "results": results,
        "load": os.getloadavg(),
        "cpus": os.cpu_count(),
        "when": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def markdown(measured: dict[str, Any], generated: dict[str, Any] | None, command: str) -> str:
    load = " / ".join(f"{value:.1f}" for value in measured["load"])
    intro = (
        f"Produced by `{command}` on {measured['when']}: {measured['orders']:,} orders, "
        f"{measured['lines']:,} order lines, on PostgreSQL, {measured['cpus']} CPUs "
        f"shared with other work (load average {load} at the end of the run). Each page "
        "is requested through Django's test client logged in as the demo's agent (no "
        "network, no browser): a first request, whose queries are counted, then timed "
        "runs (up to the repeat count, and fewer once a page has taken the time "
        "budget: n is how many); times include rendering. The plain `ModelAdmin` is "
        "what a new Django project writes over the same tables (`search_fields` "
        "across the same columns with `icontains`, the default paginator, the lines "
        "and holds as inlines), registered on a second admin site in the same process "
        "and hit in the same run."
    )
    out = [SECTION, "", intro, ""]
    if generated:
        t = generated["timings"]
        c = generated["counts"]
        rows = (
            f"{c.get('order lines', 0):,} lines, {c.get('fulfillment orders', 0):,} "
            f"fulfillment orders, {c.get('shipments', 0):,} shipments, "
            f"{c.get('holds', 0):,} open holds, {c.get('customers', 0):,} customers, "
            f"{c.get('companies', 0):,} companies"
        )
        steps = (
            f"migrate and demo data {generated['prepare_seconds']:.0f} s, building rows "
            f"{t.get('orders (build)', 0):.0f} s, COPY of orders {t.get('orders', 0):.0f} s "
            f"and lines {t.get('order lines', 0):.0f} s, rebuilding the secondary indexes "
            f"{t.get('indexes', 0):.0f} s, VACUUM ANALYZE {t.get('vacuum analyze', 0):.0f} s"
        )
        out += [
            (
                f"Generation: {generated['total_seconds']:.0f} s in all for "
                f"{generated['orders']:,} orders ({rows}): {steps}."
            ),
            "",
        ]
    out += [
        (
            f"Target: p95 ≤ {TARGET_P95_MS:.0f} ms. Times in ms; q = queries on the page, in "
            "brackets those counting rows (the console's are bounded or the planner's "
            "estimate; the plain admin's are unbounded)."
        ),
        "",
        (
            "| Page | Console p50 | p95 | n | q (COUNT) | Result "
            "| Plain p50 | p95 | n | q (COUNT) | Result |"
        ),
        "|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---|",
    ]
    for row in measured["results"]:
        c, p = row["console"], row["plain"]
        flag = "" if c["p95"] <= TARGET_P95_MS else " ⚠"
        out.append(
            f"| {row['name']} | {c['p50']:.0f} | {c['p95']:.0f}{flag} | {c['runs']} "
            f"| {c['queries']} ({c['counts']}) | {c['found'] or c['status']} "
            f"| {p['p50']:.0f} | {p['p95']:.0f} | {p['runs']} "
            f"| {p['queries']} ({p['counts']}) | {p['found'] or p['status']} |"
        )
    over = [r["name"] for r in measured["results"] if r["console"]["p95"] > TARGET_P95_MS]
    out += [
        "",
        (
            "Over the target in this run: " + ", ".join(over) + "."
            if over
            else "Every console page is within the target in this run."
        ),
        "",
        (
            'How the console stays within it (docs/console.md, "How it stays fast"): no page '
            "counts a million rows (the unfiltered list reads the planner's estimate, a filter or "
            'a search counts at most 10,001 rows, "more than 10,000"), where the plain admin '
            "counts twice on every page; a search runs once per page, in one query that takes the "
            "matches' keys newest first from indexes (trigram, reversed phone digits, "
            "`(customer_id, id)` and `(sku, order_id)`), and the page's rows are then fetched by "
            "key; a deep page skips its offset over the primary keys alone; the list loads only "
            "the columns it shows. The order page's query count does not grow with its lines "
            "(pinned in `tests/admin/test_query_counts_all.py`). The plain admin's `icontains` "
            "across joined tables reads every order for any search."
        ),
        "",
    ]
    return "\n".join(out)


def replace_section(path: Path, heading: str, text: str) -> None:
    """Put ``text`` in place of the section that starts with ``heading`` in ``path``, up to
    the next heading or marked block of another writer (``## ``, ``# `` or ``<!--``), or
    add it at the end. The other sections, whichever command wrote them, stay as they are."""
    content = path.read_text() if path.exists() else "# Benchmarks\n"
    start = content.find(heading)
    if start == -1:
        content = content.rstrip("\n") + "\n\n" + text
    else:
        after = start + len(heading)
        ends = [i for i in (content.find(m, after) for m in ("\n## ", "\n# ", "\n<!--")) if i != -1]
        end = min(ends) if ends else -1
        content = content[:start] + text + ("\n" + content[end + 1 :] if end != -1 else "")
    path.write_text(content.rstrip("\n") + "\n")


def write_docs(text: str) -> None:
    replace_section(DOCS, SECTION, text)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("step", choices=("generate", "measure", "all"))
    parser.add_argument(
        "--database-url", default=os.environ.get("BENCH_CONSOLE_DATABASE_URL", DEFAULT_DB)
    )
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument(
        "--budget", type=float, default=20.0, help="seconds per page and side, after 3 runs"
    )
    parser.add_argument(
        "--pages", help="measure again only the pages whose name contains this, e.g. Deep"
    )
    parser.add_argument(
        "--console-only",
        action="store_true",
        help="skip the plain ModelAdmin (a quick look; not for --write-docs)",
    )
    parser.add_argument("--write-docs", action="store_true")
    parser.add_argument("--command", default="make bench-console")
    args = parser.parse_args(argv)
    generated = None
    if args.step in ("generate", "all"):
        generated = generate(args.database_url, args.orders, args.seed)
        if args.step == "all":
            # A fresh process state for the measurement (caches, connections).
            subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "measure",
                    "--database-url",
                    args.database_url,
                    "--repeat",
                    str(args.repeat),
                    "--budget",
                    str(args.budget),
                    "--command",
                    args.command,
                    *(["--write-docs"] if args.write_docs else []),
                ],
                check=True,
            )
        return
    if args.console_only:
        if args.write_docs:
            parser.error("--write-docs needs both sides: drop --console-only")
        measure(args.database_url, args.repeat, args.budget, args.pages, sides=("console",))
        return
    measured = measure(args.database_url, args.repeat, args.budget, args.pages)
    previous = ROOT / "var" / "bench_console_measure.json"
    if args.pages and previous.exists():
        # Only some pages measured again: they replace their rows of the last run.
        fresh = {row["name"]: row for row in measured["results"]}
        rows = json.loads(previous.read_text())["results"]
        measured["results"] = [fresh.pop(row["name"], row) for row in rows] + list(fresh.values())
    saved = ROOT / "var" / "bench_console_generate.json"
    if saved.exists():
        generated = json.loads(saved.read_text())
    (ROOT / "var").mkdir(exist_ok=True)
    (ROOT / "var" / "bench_console_measure.json").write_text(json.dumps(measured, indent=2))
    if args.write_docs:
        write_docs(markdown(measured, generated, args.command))


if __name__ == "__main__":
    main()
