"""Order-intake benchmark: ``POST /api/v1/orders/`` under concurrent B2B clients.

The steps, each a subcommand; ``bench/run.sh`` chains them, serves OMS with gunicorn
and runs the peers at the same client counts:

    createdb / dropdb   a throwaway database (its name must contain "bench", loopback only)
    flushredis          empty the benchmark's Redis database (the queued tasks)
    seed                a company, its buyer and API key, a shipping method, a tax rate,
                        50 SKUs stocked at 3 locations, all through the services
    queries             SQL queries per order for 1, 3 and 20 lines, measured in process
                        through the whole HTTP stack (Django test client)
    inprocess           CPU per order of one thread placing orders through the WSGI
                        application, and of its database backend (not run by run.sh)
    wait                until the served OMS answers /healthz
    load                N keep-alive clients POSTing 3-line orders for S seconds, and the
                        server's and database's CPU time per order
    cpuwatch            the peer's CPU time while its load generator runs
    meta / report       docs/benchmarks.md from the results of one run

Only the standard library is used on the client side (``http.client``), so that the
load generator adds as little CPU as possible on the machine it shares with the server.
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import os
import platform
import random
import re
import sys
import threading
import time
import urllib.parse
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres:postgres@127.0.0.1:5432/oms_bench"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
ORDERS_PATH = "/api/v1/orders/"
SKU_COUNT = 50
LINES_PER_ORDER = 3
QUERY_LINE_COUNTS = (1, 3, 20)
WARMUP_CLIENTS = 8
NOTES_MARKER = "<!-- Notes below this line are kept when the benchmark rewrites this file. -->"
# The A/B of the hot-path steps (measured once, by the commits it names) between these
# markers is kept too, before the notes.
AB_BEGIN = "<!-- A/B of the hot-path steps:"
AB_END = "<!-- End of the A/B of the hot-path steps. -->"

CARD_PAYMENT = {"method": "card", "token": "tok_approve"}
SHIP_TO = {
    "name": "Receiving dock",
    "line1": "350 Fifth Avenue",
    "city": "New York",
    "region": "NY",
    "postal_code": "10118",
    "country": "US",
    "phone": "+1 212 555 0100",
}


# --- database -----------------------------------------------------------------------


def _database_url() -> str:
    return os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)


def _admin_connection() -> tuple[Any, str]:
    """An autocommit connection to the server's maintenance database, and the bench
    database's name. Refuses anything but a loopback server and a "bench" database."""
    import psycopg

    url = urllib.parse.urlparse(_database_url())
    name = url.path.lstrip("/")
    if url.hostname not in LOOPBACK:
        sys.exit(f"refusing to touch a database that is not on loopback: {url.hostname}")
    if "bench" not in name or not re.fullmatch(r"[a-z0-9_]+", name):
        sys.exit(f"refusing to drop {name!r}: the benchmark database's name must contain 'bench'")
    conn = psycopg.connect(
        host=url.hostname,
        port=url.port or 5432,
        user=urllib.parse.unquote(url.username or "postgres"),
        password=urllib.parse.unquote(url.password or ""),
        dbname="postgres",
        autocommit=True,
    )
    return conn, name


def createdb(_: argparse.Namespace) -> None:
    conn, name = _admin_connection()
    with conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    print(f"created database {name}")


def dropdb(_: argparse.Namespace) -> None:
    conn, name = _admin_connection()
    with conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    print(f"dropped database {name}")


def flushredis(_: argparse.Namespace) -> None:
    """Empty the benchmark's Redis database (the tasks queued by the orders placed)."""
    import redis

    url = os.environ.get("REDIS_URL", "")
    if not url:
        return
    if urllib.parse.urlparse(url).hostname not in LOOPBACK:
        sys.exit(f"refusing to flush a Redis that is not on loopback: {url}")
    redis.Redis.from_url(url, socket_timeout=2).flushdb()


def _django() -> None:
    sys.path.insert(0, str(REPO))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oms.settings.base")
    import django

    django.setup()


# --- seed ---------------------------------------------------------------------------


def seed(args: argparse.Namespace) -> None:
    """The benchmark data set, written through the services (reference data that has
    no service yet, carriers, shipping methods and tax rates, through the models)."""
    _django()
    from decimal import Decimal

    from core.actors import Actor
    from customers.api_keys import create_api_key
    from customers.services import create_company, create_customer
    from inventory.models import LocationKind
    from inventory.services import create_location, create_product, receive_stock
    from orders.models import TaxRate
    from shipping.models import Carrier, ServiceLevel, ShippingMethod

    actor = Actor.system("benchmark seed")
    # A credit limit no run can reach: the benchmark measures the hold-free path.
    company = create_company(
        account_number="BENCH", name="Bench Buyer Co", credit_limit=Decimal("999999999999")
    )
    buyer = create_customer(
        email="buyer@bench.example.com", first_name="Bench", last_name="Buyer", company=company
    )
    issued = create_api_key(company=company, name="bench", buyer=buyer)
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
    TaxRate.objects.create(country="US", region="NY", rate=Decimal("0.08875"))
    locations = [
        create_location(
            code="WH-NJ",
            name="New Jersey warehouse",
            kind=LocationKind.WAREHOUSE,
            address={"line1": "1 Port Road", "city": "Avenel", "region": "NJ",
                     "postal_code": "07001", "country": "US"},
        ),
        create_location(
            code="DC-NV",
            name="Reno distribution centre",
            kind=LocationKind.DISTRIBUTION_CENTER,
            address={"line1": "1 Dock Road", "city": "Reno", "region": "NV",
                     "postal_code": "89502", "country": "US"},
        ),
        create_location(
            code="ST-CHI",
            name="Chicago store",
            kind=LocationKind.STORE,
            pickup=True,
            address={"line1": "1 Market Street", "city": "Chicago", "region": "IL",
                     "postal_code": "60607", "country": "US"},
        ),
    ]  # fmt: skip
    skus = []
    for index in range(1, SKU_COUNT + 1):
        product = create_product(
            sku=f"BENCH-{index:03d}",
            name=f"Bench item {index}",
            list_price=Decimal(f"{4 + index % 17}.99"),
            weight_grams=250 + 10 * index,
        )
        for location in locations:
            receive_stock(
                location=location,
                product=product,
                quantity=1_000_000,
                actor=actor,
                reference="bench seed",
            )
        skus.append(product.sku)
    state = {"api_key": issued.raw_key, "skus": skus, "shipping_method": "STANDARD"}
    Path(args.state).write_text(json.dumps(state))
    print(f"seeded 1 company, {len(skus)} SKUs x {len(locations)} locations")


# --- request bodies -------------------------------------------------------------------


def order_body(
    rng: random.Random, skus: list[str], lines: int, po: str, *, card: bool = False
) -> bytes:
    body: dict[str, Any] = {
        "po_number": po,
        "shipping_address": SHIP_TO,
        "shipping_method": "STANDARD",
        "lines": [{"sku": sku, "quantity": rng.randint(1, 3)} for sku in rng.sample(skus, lines)],
    }
    if card:
        # Paid by card with the test provider's token: authorised after placement by a
        # consumer of order.placed (queued, not run: no worker is measured here).
        body["payment"] = CARD_PAYMENT
    return json.dumps(body).encode()


# --- queries per order -------------------------------------------------------------------


def _statement_kind(sql: str) -> str:
    """'INSERT orders_order' style label for one captured statement."""
    words = sql.split()
    verb = words[0].upper() if words else "?"
    if verb == "WITH":
        # Several rows inserted by one statement: name every table it writes.
        tables = re.findall(r'\bINSERT\s+INTO\s+"?(\w+)', sql, re.IGNORECASE)
        if tables:
            return "INSERT " + " + ".join(tables) + " (one statement)"
        updated = re.findall(r'\bUPDATE\s+"?(\w+)', sql, re.IGNORECASE)
        if updated and "FOR NO KEY UPDATE" in sql.upper():
            return f"SELECT … FOR NO KEY UPDATE + UPDATE {updated[0]} (one statement)"
    table = ""
    pattern = {
        "SELECT": r'\bFROM\s+"?(\w+)',
        "INSERT": r'\bINTO\s+"?(\w+)',
        "UPDATE": r'^UPDATE\s+"?(\w+)',
        "DELETE": r'\bFROM\s+"?(\w+)',
    }.get(verb)
    if pattern:
        found = re.search(pattern, sql, re.IGNORECASE)
        table = found.group(1) if found else ""
    if not table and verb not in {"BEGIN", "COMMIT", "ROLLBACK"}:
        return " ".join(words)[:60]
    if verb == "SELECT" and "FOR NO KEY UPDATE" in sql.upper():
        verb = "SELECT … FOR NO KEY UPDATE"
    elif verb == "SELECT" and "FOR SHARE" in sql.upper():
        verb = "SELECT … FOR SHARE"
    return f"{verb} {table}".strip()


def queries(args: argparse.Namespace) -> None:
    """Queries per order through the whole stack (auth, throttle, view, placement),
    in process, on the benchmark database. The first order warms the per-process
    reference cache (shipping method, tax rate); later ones show the steady state."""
    _django()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    state = json.loads(Path(args.state).read_text())
    client = Client()
    headers = {"Host": "127.0.0.1", "Authorization": f"Bearer {state['api_key']}"}
    rng = random.Random(7)

    def place(lines: int) -> tuple[int, list[str]]:
        with CaptureQueriesContext(connection) as ctx:
            response = client.post(
                ORDERS_PATH,
                data=order_body(rng, state["skus"], lines, "PO-QUERIES"),
                content_type="application/json",
                headers={**headers, "Idempotency-Key": str(uuid.uuid4())},
            )
        if response.status_code != 201:
            sys.exit(f"query-count order failed: {response.status_code} {response.content!r}")
        return len(ctx.captured_queries), [q["sql"] for q in ctx.captured_queries]

    cold, _ = place(LINES_PER_ORDER)
    counts: dict[str, int] = {}
    statements: list[str] = []
    for lines in QUERY_LINE_COUNTS:
        count, sql = place(lines)
        counts[str(lines)] = count
        if lines == LINES_PER_ORDER:
            statements = [_statement_kind(s) for s in sql]
    result = {"cold_3_lines": cold, "warm": counts, "statements_3_lines": statements}
    Path(args.out).write_text(json.dumps(result, indent=2))
    print(
        "queries per order: "
        + ", ".join(f"{n} line(s) {c}" for n, c in counts.items())
        + f" (first order of a process: {cold})"
    )
    for statement in statements:
        print(f"  {statement}")


def post_in_process(
    application: Any, path: str, body: bytes, api_key: str, *, idempotency_key: str = ""
) -> tuple[str, bytes]:
    """POST ``body`` to ``path`` straight through the WSGI ``application`` (no server, no
    socket), as an API client with ``api_key``: the response's status line and body."""
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": path,
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "127.0.0.1",
        "HTTP_AUTHORIZATION": f"Bearer {api_key}",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.url_scheme": "http",
        "wsgi.version": (1, 0),
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    if idempotency_key:
        environ["HTTP_IDEMPOTENCY_KEY"] = idempotency_key
    statuses: list[str] = []
    result = application(environ, lambda status, headers, exc_info=None: statuses.append(status))
    payload = b"".join(result)
    result.close()  # as a WSGI server does: ends the request (request_finished)
    return statuses[0], payload


def inprocess(args: argparse.Namespace) -> None:
    """CPU per order of one thread placing orders straight through the WSGI application
    (no HTTP server, no load generator), and of its database backend: the steadiest
    measure of the order path's own cost on a shared machine."""
    _django()

    from django.db import connection

    from oms.wsgi import application

    state = json.loads(Path(args.state).read_text())
    rng = random.Random(11)

    def place(sequence: int) -> None:
        body = order_body(rng, state["skus"], LINES_PER_ORDER, f"PO-INPROCESS-{sequence}")
        status, payload = post_in_process(
            application, ORDERS_PATH, body, state["api_key"], idempotency_key=uuid.uuid4().hex
        )
        if not status.startswith("201"):
            sys.exit(f"in-process order failed: {status} {payload[:300]!r}")

    def backend_seconds() -> float | None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            pid = cursor.fetchone()[0]
        measured = _proc_cpu_seconds(pid)
        return measured[1] if measured else None

    for sequence in range(args.warmup):
        place(sequence)
    database_before = backend_seconds()
    began = time.process_time()
    for sequence in range(args.orders):
        place(args.warmup + sequence)
    server = (time.process_time() - began) / args.orders * 1000
    database_after = backend_seconds()
    database = (
        f"{(database_after - database_before) / args.orders * 1000:.2f} ms"
        if database_before is not None and database_after is not None
        else "not measured (the database is not on this machine)"
    )
    print(
        f"in process, {args.orders} orders of {LINES_PER_ORDER} lines: CPU per order "
        f"{server:.2f} ms in Python, database backend {database}"
    )


# --- serving and load --------------------------------------------------------------------


def wait(args: argparse.Namespace) -> None:
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    sys.exit(f"OMS did not answer on 127.0.0.1:{args.port} within {args.timeout}s")


class Phase:
    """One timed run of N clients; each client keeps one connection open."""

    def __init__(
        self,
        *,
        port: int,
        state: dict[str, Any],
        clients: int,
        seconds: float,
        reconnect: bool = False,
        card: bool = False,
    ):
        self.port = port
        self.reconnect = reconnect
        self.card = card
        self.state = state
        self.clients = clients
        self.seconds = seconds
        self.lock = threading.Lock()
        self.latencies: list[float] = []
        self.statuses: Counter[str] = Counter()
        self.samples: dict[str, str] = {}
        self.elapsed = 0.0

    def _connect(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)

    def _client(self, index: int, start: threading.Barrier, stop_at: list[float]) -> None:
        rng = random.Random(index * 7919 + int(time.time()))
        headers = {
            "Authorization": f"Bearer {self.state['api_key']}",
            "Content-Type": "application/json",
        }
        latencies: list[float] = []
        statuses: Counter[str] = Counter()
        samples: dict[str, str] = {}
        conn = self._connect()
        start.wait()
        sequence = 0
        while time.monotonic() < stop_at[0]:
            sequence += 1
            body = order_body(
                rng,
                self.state["skus"],
                LINES_PER_ORDER,
                f"PO-{index}-{sequence}",
                card=self.card,
            )
            began = time.perf_counter()
            try:
                conn.request(
                    "POST",
                    ORDERS_PATH,
                    body=body,
                    headers={**headers, "Idempotency-Key": uuid.uuid4().hex},
                )
                response = conn.getresponse()
                payload = response.read()
            except (OSError, http.client.HTTPException) as exc:
                statuses[f"connection error ({type(exc).__name__})"] += 1
                conn.close()
                conn = self._connect()
                continue
            took = time.perf_counter() - began
            status = str(response.status)
            statuses[status] += 1
            if response.status == 201:
                latencies.append(took)
            elif status not in samples:
                samples[status] = payload[:300].decode(errors="replace")
            if response.will_close or self.reconnect:
                conn.close()
                conn = self._connect()
        conn.close()
        with self.lock:
            self.latencies.extend(latencies)
            self.statuses.update(statuses)
            for status, sample in samples.items():
                self.samples.setdefault(status, sample)

    def run(self) -> Phase:
        start = threading.Barrier(self.clients + 1)
        stop_at = [float("inf")]
        threads = [
            threading.Thread(target=self._client, args=(i, start, stop_at), daemon=True)
            for i in range(self.clients)
        ]
        for thread in threads:
            thread.start()
        start.wait()
        began = time.monotonic()
        stop_at[0] = began + self.seconds
        for thread in threads:
            thread.join()
        self.elapsed = time.monotonic() - began
        return self

    def percentile(self, fraction: float) -> float | None:
        # The peer's definition, so that the two are comparable.
        ordered = sorted(self.latencies)
        if not ordered:
            return None
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] * 1000

    def summary(self) -> dict[str, Any]:
        orders = len(self.latencies)
        return {
            "clients": self.clients,
            "seconds": round(self.elapsed, 2),
            "orders": orders,
            "orders_per_s": round(orders / self.elapsed, 1) if self.elapsed else 0.0,
            "p50_ms": self.percentile(0.50),
            "p99_ms": self.percentile(0.99),
            "max_ms": max(self.latencies) * 1000 if self.latencies else None,
            "errors": {k: v for k, v in sorted(self.statuses.items()) if k != "201"},
            "load_after": round(os.getloadavg()[0], 1),
            "error_samples": self.samples,
        }


def _proc_cpu_seconds(pid: int) -> tuple[int, float] | None:
    """(parent pid, user + system CPU seconds) of a process, from /proc (Linux)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / ticks


class CpuMeter:
    """CPU seconds used by the server (gunicorn master and workers) and by the database
    backends serving the benchmark database. Unlike throughput, CPU per order hardly
    depends on what else runs on the machine, so it gives a capacity estimate that
    survives a noisy neighbour. Linux only; silently absent elsewhere."""

    def __init__(self, server_pid: int | None, extra_pids: tuple[int, ...] = ()):
        self.server_pid = server_pid
        self.extra_pids = set(extra_pids)  # counted with the server (the outbox relay)

    def _backend_pids(self) -> list[int]:
        try:
            conn, name = _admin_connection()
        except SystemExit:
            return []
        with conn:
            rows = conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s", [name]
            ).fetchall()
        return [row[0] for row in rows]

    def sample(self) -> dict[str, dict[int, float]] | None:
        if not self.server_pid or not Path("/proc").is_dir():
            return None
        server: dict[int, float] = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                found = _proc_cpu_seconds(int(entry.name))
                pid = int(entry.name)
                if found and (
                    pid == self.server_pid or found[0] == self.server_pid or pid in self.extra_pids
                ):
                    server[int(entry.name)] = found[1]
        database = {}
        for pid in self._backend_pids():
            found = _proc_cpu_seconds(pid)
            if found:
                database[pid] = found[1]
        return {"server": server, "database": database}

    @staticmethod
    def used(before: dict[int, float], after: dict[int, float]) -> float:
        return sum(t - before.get(pid, 0.0) for pid, t in after.items())


def _processes() -> dict[int, tuple[int, float, str]]:
    """pid -> (parent pid, CPU seconds, command line) for every process we can read."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        stat = _proc_cpu_seconds(int(entry.name))
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if stat:
            found[int(entry.name)] = (stat[0], stat[1], cmdline)
    return found


def cpuwatch(args: argparse.Namespace) -> None:
    """CPU used by the peer's server and database while its load generator runs.

    Best effort, from the outside: the server is every process whose command line
    contains ``--server-match``; the database is the children of the postmaster
    listening on ``--db-port`` that serve ``--db-name``. Writes nothing if the load
    generator never shows up.
    """
    if not Path("/proc").is_dir():
        return

    def targets(procs: dict[int, tuple[int, float, str]]) -> dict[int, tuple[str, float]]:
        postmasters = {pid for pid, (_, _, cmd) in procs.items() if f"-p {args.db_port}" in cmd}
        chosen = {}
        for pid, (ppid, cpu, cmd) in procs.items():
            if args.server_match in cmd and "cpuwatch" not in cmd:
                chosen[pid] = ("server", cpu)
            elif ppid in postmasters and f" {args.db_name} " in cmd:
                chosen[pid] = ("database", cpu)
        return chosen

    deadline = time.monotonic() + args.timeout
    seen = 0.0  # when the load generator appeared
    start: dict[int, tuple[str, float]] | None = None
    began = 0.0  # when the measured window opened: --skip seconds later (cold workers)
    last: dict[int, tuple[str, float]] = {}
    while time.monotonic() < deadline:
        procs = _processes()
        running = any(
            args.load_match in cmd and "cpuwatch" not in cmd for _, _, cmd in procs.values()
        )
        now = time.monotonic()
        if running and not seen:
            seen = now
        if running and start is None and now >= seen + args.skip:
            start, began = targets(procs), now
        if seen and not running:
            break
        if start is not None:
            last.update(targets(procs))
        time.sleep(0.25)
    if start is None:
        return
    ended = time.monotonic()
    used = {"server": 0.0, "database": 0.0}
    for pid, (kind, cpu) in last.items():
        used[kind] += cpu - start.get(pid, (kind, 0.0))[1]
    # The peer reports only its total orders: pro-rate them to the measured window.
    used["window_share"] = (ended - began) / (ended - seen)
    Path(args.out).write_text(json.dumps(used))


def load(args: argparse.Namespace) -> None:
    state = json.loads(Path(args.state).read_text())
    if args.warmup > 0:
        # A keep-alive connection stays with one gunicorn worker, and a worker's first
        # requests are slow (lazy imports, the ZIP code table, the broker connection).
        # Warm every worker: many short connections land on all of them.
        Phase(
            port=args.port,
            state=state,
            clients=max(args.clients, WARMUP_CLIENTS),
            seconds=args.warmup,
            reconnect=True,
            card=args.card,
        ).run()
    meter = CpuMeter(args.server_pid, tuple(args.relay_pid or ()))
    before = meter.sample()
    result = Phase(
        port=args.port, state=state, clients=args.clients, seconds=args.seconds, card=args.card
    ).run()
    after = meter.sample()
    summary = result.summary()
    summary["card"] = args.card
    if before and after and summary["orders"]:
        orders = summary["orders"]
        server = CpuMeter.used(before["server"], after["server"]) / orders * 1000
        database = CpuMeter.used(before["database"], after["database"]) / orders * 1000
        summary["cpu_ms_per_order"] = {"server": round(server, 1), "database": round(database, 1)}
        summary["capacity_orders_per_s"] = round((os.cpu_count() or 1) * 1000 / (server + database))
    Path(args.out).write_text(json.dumps(summary, indent=2))
    errors = ", ".join(f"{k}: {v}" for k, v in summary["errors"].items()) or "none"
    print(
        f"OMS{' (card payment)' if args.card else ''} "
        f"clients={summary['clients']} orders={summary['orders']} "
        f"orders/s={summary['orders_per_s']} p50={_ms(summary['p50_ms'])} "
        f"p99={_ms(summary['p99_ms'])} errors: {errors}"
    )
    if "cpu_ms_per_order" in summary:
        cpu = summary["cpu_ms_per_order"]
        print(
            f"  CPU per order: server {cpu['server']} ms, database {cpu['database']} ms "
            f"-> at most ~{summary['capacity_orders_per_s']} orders/s on "
            f"{os.cpu_count()} cores with nothing else running"
        )
    for status, sample in summary["error_samples"].items():
        print(f"  first {status} response: {sample}")


# --- report -----------------------------------------------------------------------------

PEER_LINE = re.compile(
    r"clients=(\d+) orders=(\d+) errs=(\d+) orders/s=([\d.]+) checkout p50=(\d+)ms p99=(\d+)ms"
)
SQL_TPS = re.compile(r"tps = ([\d.]+)")
SQL_LATENCY = re.compile(r"latency average = ([\d.]+) ms")
SQL_FAILED = re.compile(r"number of failed transactions: (\d+)")


def parse_peer(text: str) -> dict[str, Any] | None:
    found = PEER_LINE.search(text)
    if not found:
        return None
    return {
        "orders": int(found[2]),
        "errors": int(found[3]),
        "orders_per_s": float(found[4]),
        "p50_ms": float(found[5]),
        "p99_ms": float(found[6]),
    }


def parse_sql_limit(text: str) -> dict[str, Any] | None:
    tps = SQL_TPS.search(text)
    if not tps:
        return None
    latency = SQL_LATENCY.search(text)
    failed = SQL_FAILED.search(text)
    return {
        "tps": float(tps[1]),
        "latency_avg_ms": float(latency[1]) if latency else None,
        "failed": int(failed[1]) if failed else None,
    }


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:.0f} ms"


def _rate(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def _ratio(ours: float | None, theirs: float | None, *, percent: bool = False) -> str:
    if not ours or not theirs:
        return "–"
    if percent:
        return f"{100 * ours / theirs:.0f} %"
    return f"{ours / theirs:.1f}×"


def _read(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""


def _client_section(results: Path, clients: int, meta: dict[str, Any]) -> tuple[list[str], dict]:
    oms_file = results / f"oms-{clients}.json"
    oms = json.loads(oms_file.read_text()) if oms_file.exists() else None
    peer = parse_peer(_read(results / f"peer-{clients}.txt"))
    peer_cpu_file = results / f"peer-{clients}.cpu.json"
    if peer and peer["orders"] and peer_cpu_file.exists():
        used = json.loads(peer_cpu_file.read_text())
        orders = peer["orders"] * used["window_share"]
        peer["cpu_ms_per_order"] = {
            "server": round(used["server"] / orders * 1000, 1),
            "database": round(used["database"] / orders * 1000, 1),
        }
    sql = parse_sql_limit(_read(results / f"sql-{clients}.txt"))
    card_file = results / f"oms-card-{clients}.json"
    card = json.loads(card_file.read_text()) if card_file.exists() else None
    oms_rate = oms["orders_per_s"] if oms else None
    errors = ", ".join(f"{k}: {v}" for k, v in (oms or {}).get("errors", {}).items()) or "none"

    def load(name: str) -> str:
        text = _read(results / f"{name}-{clients}.load").strip()
        return text or "–"

    lines = [f"### {clients} client{'s' if clients != 1 else ''}", ""]
    lines += [
        "| | orders/s | p50 | p99 | errors | load avg after |",
        "|---|---:|---:|---:|---|---:|",
    ]
    if oms:
        lines.append(
            f"| **OMS** (1 request per order) | **{_rate(oms_rate)}** | {_ms(oms['p50_ms'])} "
            f"| {_ms(oms['p99_ms'])} | {errors} | {oms.get('load_after', '–')} |"
        )
    else:
        lines.append("| **OMS** | failed: see the run's output | | | | |")
    if card:
        card_errors = ", ".join(f"{k}: {v}" for k, v in card["errors"].items()) or "none"
        lines.append(
            f"| **OMS, paid by card** (`tok_approve`; 1 request per order) "
            f"| **{_rate(card['orders_per_s'])}** | {_ms(card['p50_ms'])} "
            f"| {_ms(card['p99_ms'])} | {card_errors} | {card.get('load_after', '–')} |"
        )
    if peer:
        lines.append(
            f"| peer (3 requests per order; latency of the checkout request) "
            f"| {_rate(peer['orders_per_s'])} | {_ms(peer['p50_ms'])} | {_ms(peer['p99_ms'])} "
            f"| {peer['errors'] or 'none'} | {load('peer')} |"
        )
    else:
        note = meta["peer_note"] or "no result: see the run output"
        lines.append(f"| peer | {note} | | | | |")
    if sql:
        lines.append(
            f"| SQL limit (bare SQL of one order; average latency) | {_rate(sql['tps'])} "
            f"| {_ms(sql['latency_avg_ms'])} avg | – | {sql['failed'] or 'none'} "
            f"| {load('sql')} |"
        )
    else:
        note = meta["sql_note"] or "no result: see the run output"
        lines.append(f"| SQL limit | {note} | | | | |")
    lines += [
        "",
        (
            f"OMS ÷ peer: **{_ratio(oms_rate, peer and peer['orders_per_s'])}**; "
            f"OMS ÷ SQL limit: **{_ratio(oms_rate, sql and sql['tps'], percent=True)}**."
        ),
        "",
    ]
    if oms and "cpu_ms_per_order" in oms:
        cpu = oms["cpu_ms_per_order"]
        lines += [
            (
                f"CPU per order (server + database): OMS {cpu['server']} + {cpu['database']} "
                f"ms, so at most ~{oms['capacity_orders_per_s']} orders/s on {meta['cpus']} "
                "cores if nothing else ran (load generator excluded)"
            ),
        ]
        if peer and "cpu_ms_per_order" in peer:
            theirs = peer["cpu_ms_per_order"]
            ours_total = cpu["server"] + cpu["database"]
            theirs_total = theirs["server"] + theirs["database"]
            lines[-1] += (
                f"; peer {theirs['server']} + {theirs['database']} ms. "
                f"**The peer spends {_ratio(theirs_total, ours_total)} the CPU of OMS per order.**"
            )
        else:
            lines[-1] += "."
        lines.append("")
    if card:
        card_rate = card["orders_per_s"]
        peer_rate = peer and peer["orders_per_s"]
        lines += [
            (
                f"Paid by card: OMS ÷ peer: **{_ratio(card_rate, peer_rate)}**; "
                f"OMS ÷ SQL limit: **{_ratio(card_rate, sql and sql['tps'], percent=True)}**; "
                f"card ÷ no payment instruction: {_ratio(card_rate, oms_rate, percent=True)}"
                + (
                    f"; CPU per order {card['cpu_ms_per_order']['server']} + "
                    f"{card['cpu_ms_per_order']['database']} ms."
                    if "cpu_ms_per_order" in card
                    else "."
                )
            ),
            "",
        ]
    return lines, {"oms": oms, "peer": peer, "sql": sql, "card": card}


def _verdicts(by_clients: dict[int, dict], counts: dict[str, Any] | None) -> list[str]:
    top = max(by_clients) if by_clients else None
    lines = ["| target | result | met |", "|---|---|---|"]
    if top is not None:
        row = by_clients[top]
        oms, peer = row["oms"], row["peer"]
        rate = oms["orders_per_s"] if oms else None
        p99 = oms["p99_ms"] if oms else None
        lines.append(
            f"| ≥ 120 orders/s at 16 clients | {_rate(rate)} orders/s at {top} clients "
            f"| {_yes(rate is not None and rate >= 120 and top >= 16)} |"
        )
        lines.append(
            f"| p99 < 200 ms (at {top} clients) | {_ms(p99)} "
            f"| {_yes(p99 is not None and p99 < 200)} |"
        )
        ratio = rate / peer["orders_per_s"] if rate and peer and peer["orders_per_s"] else None
        shown = "–" if ratio is None else f"{ratio:.1f}×"
        lines.append(
            f"| ≥ 4× the peer's orders/s (at {top} clients) | {shown} "
            f"| {_yes(ratio is not None and ratio >= 4)} |"
        )
        if oms and peer and "cpu_ms_per_order" in oms and "cpu_ms_per_order" in peer:
            ours = sum(oms["cpu_ms_per_order"].values())
            theirs = sum(peer["cpu_ms_per_order"].values())
            lines.append(
                f"| (same, by CPU) ≥ 4× fewer CPU-ms per order than the peer "
                f"(at {top} clients) | {theirs / ours:.1f}× | {_yes(theirs / ours >= 4)} |"
            )
        card = row.get("card")
        if card:
            card_ratio = (
                card["orders_per_s"] / peer["orders_per_s"]
                if peer and peer["orders_per_s"]
                else None
            )
            shown = "–" if card_ratio is None else f"{card_ratio:.1f}×"
            lines.append(
                f"| (paid by card) ≥ 4× the peer's orders/s (at {top} clients) | {shown} "
                f"| {_yes(card_ratio is not None and card_ratio >= 4)} |"
            )
        capacity = oms.get("capacity_orders_per_s") if oms else None
        if capacity:
            lines.append(
                f"| (estimate) ≥ 120 orders/s with the machine to itself, from CPU per order "
                f"| ~{capacity} orders/s | {_yes(capacity >= 120)} |"
            )
    if counts:
        worst = max(counts["warm"].values())
        constant = len(set(counts["warm"].values())) == 1
        lines.append(
            f"| ≤ 15 SQL queries per order, whatever its lines | "
            f"{', '.join(f'{c} for {n} line(s)' for n, c in counts['warm'].items())} "
            f"| {_yes(worst <= 15 and constant)} |"
        )
    return lines


def _yes(ok: bool) -> str:
    return "yes" if ok else "**no**"


REPORT = """\
# Order-intake benchmark

<!-- Written by `make bench` (bench/intake.py report); edit only the notes at the end. -->

How fast B2B clients can place orders through `POST /api/v1/orders/`, next to a peer
Django commerce stack (django-oscar 4.2.1 + django-oscar-api 3.3.0) and to the bare SQL
of one order, measured one after the other in the same invocation at the same client
counts.

## This run

- Date: {date} (commit `{commit}`).
- Machine: {cpus} CPU cores, shared by the server, the database and the load generator;
  load average {load_before} when the run started. Other work on the machine adds noise:
  compare the ratios taken side by side, not absolute numbers from different runs.
- Software: Python {python}, PostgreSQL {postgres}.
- Command: `{command}` ({seconds} s per measurement, clients {clients}; paid by card at
  {card_clients} clients; invoicing: {invoicing_orders} orders through one worker).

## Against the targets

{verdicts}

## Throughput and latency

{sections}
{queries}{invoicing}
## How it is measured

- **OMS**: production settings (`oms.settings.base` from environment variables,
  `DEBUG=false`, persistent database connections) on a fresh database on the local
  PostgreSQL server. As in production (`OMS_OUTBOX_RELAY=process`), requests write their
  outbox rows and an outbox relay process beside the server publishes them to Redis in
  batches; no Celery worker runs, so the measured path ends at the API response and the
  relay's publication. Served by gunicorn with the repository's `gunicorn.conf.py`: 4
  workers × 4 threads (gthread), at most 4 connections per worker, restarted with the
  relay for each client count (and once more, at {card_clients} clients, with every
  order paid by card). Each client thread POSTs orders, one at a time over
  HTTP/1.1 (reconnecting when the server closes the connection after a response, as this
  configuration does), of 3 distinct random SKUs (of 50, stocked at 3 locations),
  quantities 1–3, a fresh `Idempotency-Key` each (paid by card: with
  `"payment": {{"method": "card", "token": "tok_approve"}}`, which the API reads with
  its full serializers, and whose authorisation is queued for a worker, not run), for
  the whole measurement after a
  {warmup} s warm-up that is not counted. orders/s counts 201 responses; the latencies
  are those of the 201 responses.
- **Peer**: its own script, unchanged: gunicorn with 4 workers × 4 threads on its own
  PostgreSQL cluster. One order is three requests (add to basket, read basket, checkout); its
  p50/p99 are those of the checkout request alone, so its latency per order is higher
  than shown. It has no warm-up beyond its readiness probe.
- **SQL limit**: pgbench running the least SQL one order needs (an order row, three
  lines with conditional stock updates, an outbox row) on its own cluster, with no
  application in between: the ceiling for this machine. Its latency is pgbench's
  average.
- **CPU per order**: the CPU time of OMS's gunicorn processes and outbox relay
  ("server") and of the database backends serving the benchmark database during the
  measured phase, divided by the orders placed. For the peer, the same, watched from the
  outside while its load generator runs, leaving out its first {warmup} s (its workers
  start cold) and pro-rating its orders to that window, which flatters the peer a
  little. CPU per order moves much less than throughput when other work shares the
  machine (contention still inflates it somewhat); cores × 1000 ÷ CPU-ms per order is a
  ceiling for a machine with nothing else on it (lock waits and disk flushes come on
  top).
- The three never run at the same time. Percentiles use the peer's definition (the
  value at rank ⌊p·n⌋ of the sorted latencies).
- Settings of `bench/run.sh`: `BENCH_CLIENTS` (default "1 4 16"), `BENCH_SECONDS`
  (default 20), `BENCH_WARMUP` (default 3), `BENCH_DATABASE_URL` (a loopback database
  whose name contains `bench`: dropped and recreated), `BENCH_REDIS_URL` (default
  database 14: emptied before and after), `BENCH_PORT` (default 58100, else the next
  free port), `OMS_BENCH_PEER_DIR` (the peer scripts, default `../shared/bench-peer`
  from the repository root; skipped with a note when absent). The peers start their own
  PostgreSQL clusters, so they need root.

{ab}## Notes

{marker}

{notes}
"""

INVOICING = """\
## Invoicing throughput

One Celery worker (solo pool, production settings, Redis) working off a backlog: {orders}
shipped card orders of 3 lines each, their `shipment.created` events waiting in the
outbox (`bench/invoicing.py`). For each shipment the worker issues the invoice, then,
from its `invoice.issued` event, renders and stores the PDF, e-mails it (an in-memory
e-mail backend) and captures its total from the test provider. Timed from the first
message (one per shipment, to `billing.invoice_shipment_event`) until every invoice,
stored PDF and succeeded capture exists; {warmup} shipments before it warm the worker
and are not counted.

| | seconds | per second |
|---|---:|---:|
| invoices issued | {to_invoices} | {invoices_rate} |
| PDFs stored and e-mailed | {to_pdfs} | {pdfs_rate} |
| captures succeeded | {to_captures} | {captures_rate} |
| **all done: invoices per second through one worker, PDF included** | **{seconds}** | **{rate}** |

The worker's CPU: {cpu} ms per invoice (all of it: invoice, PDF, e-mail, capture), so
about {capacity} invoices per second for one worker with a core to itself. Load
average {load} at the end, on the same shared machine: the CPU per invoice is the
figure that moves least with other work. Workers scale out: an invoice locks its own
order's row, and the yearly numbering row only from taking its number to its commit.
"""

QUERIES = """\
## SQL queries per order

Counted in process through the whole HTTP stack (authentication, throttle, view,
placement, response) on the benchmark database with the same settings, as Django
logs them: `BEGIN` and `COMMIT` included. Not included: the connection health check
(`SELECT 1`) that `CONN_HEALTH_CHECKS` sends before the first query of each request.

| lines per order | queries |
|---:|---:|
{rows}

The first order a process places also loads its reference data (shipping method, tax
rate): {cold} queries for 3 lines. The statements of a 3-line order:

{statements}
"""


def _ab_block(text: str) -> str:
    """The A/B section of ``text`` (its markers included), or empty."""
    if AB_BEGIN not in text or AB_END not in text:
        return ""
    start = text.index(AB_BEGIN)
    return text[start : text.index(AB_END, start) + len(AB_END)]


def report(args: argparse.Namespace) -> None:
    results = Path(args.results)
    meta = json.loads((results / "meta.json").read_text())
    counts_file = results / "queries.json"
    counts = json.loads(counts_file.read_text()) if counts_file.exists() else None

    sections: list[str] = []
    by_clients: dict[int, dict] = {}
    for clients in meta["clients"]:
        lines, row = _client_section(results, clients, meta)
        sections += lines
        by_clients[clients] = row

    queries_text = ""
    if counts:
        queries_text = QUERIES.format(
            rows="\n".join(f"| {n} | {c} |" for n, c in counts["warm"].items()),
            cold=counts["cold_3_lines"],
            statements="\n".join(
                f"{i}. `{s}`" for i, s in enumerate(counts["statements_3_lines"], 1)
            ),
        )
    invoicing_text = ""
    invoicing_file = results / "invoicing.json"
    if invoicing_file.exists():
        inv = json.loads(invoicing_file.read_text())

        def per_second(seconds: float) -> str:
            return f"{inv['orders'] / seconds:.1f}" if seconds else "–"

        cpu = inv.get("worker_cpu_ms_per_invoice")
        invoicing_text = INVOICING.format(
            orders=inv["orders"],
            warmup=inv.get("warmup_orders", 5),
            to_invoices=inv["seconds_to_invoices"],
            invoices_rate=per_second(inv["seconds_to_invoices"]),
            to_pdfs=inv["seconds_to_pdfs"],
            pdfs_rate=per_second(inv["seconds_to_pdfs"]),
            to_captures=inv["seconds_to_captures"],
            captures_rate=per_second(inv["seconds_to_captures"]),
            seconds=inv["seconds"],
            rate=inv["invoices_per_second"],
            cpu=cpu if cpu is not None else "–",
            capacity=f"{1000 / cpu:.1f}" if cpu else "–",
            load=inv.get("load_after", "–"),
        )
        invoicing_text = "\n" + invoicing_text
    doc = Path(args.doc)
    notes = ""
    if doc.exists() and NOTES_MARKER in doc.read_text():
        notes = doc.read_text().split(NOTES_MARKER, 1)[1].strip("\n")
    ab = _ab_block(doc.read_text()) if doc.exists() else ""
    text = REPORT.format(
        date=meta["date"],
        commit=meta["commit"],
        cpus=meta["cpus"],
        load_before=meta["load_before"],
        python=meta["python"],
        postgres=meta["postgres"],
        command=meta["command"],
        seconds=meta["seconds"],
        clients=", ".join(str(c) for c in meta["clients"]),
        warmup=meta["warmup"],
        verdicts="\n".join(_verdicts(by_clients, counts)),
        sections="\n".join(sections),
        queries=queries_text,
        invoicing=invoicing_text,
        card_clients=", ".join(str(c) for c in meta.get("card_clients", [])) or "no",
        invoicing_orders=meta.get("invoicing_orders") or "not run",
        marker=NOTES_MARKER,
        ab=ab + "\n\n" if ab else "",
        notes=notes or "_No notes yet._",
    )
    doc.write_text(text)
    print(f"wrote {doc}")


def meta(args: argparse.Namespace) -> None:
    """What the report says about the run: when, where, what."""
    import subprocess

    def output(*command: str) -> str:
        try:
            return subprocess.run(
                command, capture_output=True, text=True, check=True, cwd=REPO
            ).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return "unknown"

    conn, _ = _admin_connection()
    with conn:
        postgres = conn.execute("SHOW server_version").fetchone()[0].split()[0]
    load_avg = os.getloadavg()
    data = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": os.environ.get("BENCH_COMMIT") or output("git", "rev-parse", "--short", "HEAD"),
        "cpus": os.cpu_count(),
        "load_before": " / ".join(f"{x:.1f}" for x in load_avg),
        "python": platform.python_version(),
        "postgres": postgres,
        "command": args.command_line,
        "seconds": args.seconds,
        "warmup": args.warmup,
        "clients": [int(c) for c in args.clients.split()],
        "card_clients": [int(c) for c in args.card_clients.split()],
        "invoicing_orders": args.invoicing_orders,
        "peer_note": args.peer_note,
        "sql_note": args.sql_note,
    }
    Path(args.out).write_text(json.dumps(data, indent=2))


# --- command line --------------------------------------------------------------------------


def _inprocess_parser(sub: Any) -> None:
    p = sub.add_parser("inprocess")
    p.add_argument("--state", required=True)
    p.add_argument("--orders", type=int, default=1000)
    p.add_argument("--warmup", type=int, default=50)
    p.set_defaults(func=inprocess)


def _meta_parser(sub: Any) -> None:
    p = sub.add_parser("meta")
    p.add_argument("--out", required=True)
    p.add_argument("--command-line", required=True)
    p.add_argument("--seconds", required=True)
    p.add_argument("--warmup", required=True)
    p.add_argument("--clients", required=True)
    p.add_argument("--card-clients", default="")
    p.add_argument("--invoicing-orders", type=int, default=0)
    p.add_argument("--peer-note", default="")
    p.add_argument("--sql-note", default="")
    p.set_defaults(func=meta)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="step", required=True)
    for name, step in (("createdb", createdb), ("dropdb", dropdb), ("flushredis", flushredis)):
        sub.add_parser(name).set_defaults(func=step)
    p = sub.add_parser("seed")
    p.add_argument("--state", required=True)
    p.set_defaults(func=seed)
    p = sub.add_parser("queries")
    p.add_argument("--state", required=True)
    p.add_argument("--out", required=True)
    p.set_defaults(func=queries)
    _inprocess_parser(sub)
    p = sub.add_parser("wait")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--timeout", type=float, default=60)
    p.set_defaults(func=wait)
    p = sub.add_parser("load")
    p.add_argument("--state", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--clients", type=int, required=True)
    p.add_argument("--seconds", type=float, default=20)
    p.add_argument("--warmup", type=float, default=3)
    p.add_argument("--server-pid", type=int, help="gunicorn master: measure its CPU per order")
    p.add_argument(
        "--relay-pid", type=int, action="append", help="outbox relay, counted with the server"
    )
    p.add_argument("--card", action="store_true", help="every order paid by card (tok_approve)")
    p.add_argument("--out", required=True)
    p.set_defaults(func=load)
    p = sub.add_parser("cpuwatch")
    p.add_argument("--server-match", required=True)
    p.add_argument("--load-match", required=True)
    p.add_argument("--db-port", type=int, required=True)
    p.add_argument("--db-name", required=True)
    p.add_argument("--timeout", type=float, default=900)
    p.add_argument("--skip", type=float, default=3, help="seconds of load left unmeasured")
    p.add_argument("--out", required=True)
    p.set_defaults(func=cpuwatch)
    _meta_parser(sub)
    p = sub.add_parser("report")
    p.add_argument("--results", required=True)
    p.add_argument("--doc", default=str(REPO / "docs" / "benchmarks.md"))
    p.set_defaults(func=report)
    args = parser.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
