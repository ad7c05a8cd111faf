"""Order intake under pressure: a hot SKU, more clients than workers, and batch intake.

The steps, each a subcommand; ``bench/pressure.sh`` chains them against the production
server settings (``gunicorn.conf.py``) and runs the SQL limit beside them:

    batch   the batch figure on its own: a fresh database and server, one run of single
            orders (16 clients) and one of batches in the same run, the stock check
    batch-cpu  CPU per order of batch intake in one process, set-based and one order
            at a time, on a seeded database
    load    N clients for S seconds in one of three modes, writing a JSON summary:
              mixed  one order per request, 3 random SKUs of 50 (as bench/intake.py)
              hot    one order per request, the hot SKU plus 2 random others
              batch  POST /api/v1/orders/batch/ with --batch-size orders per request
            with orders/s, request latency p50/p99, 5xx and connection errors, the
            deadlocks the database counted meanwhile, and CPU per order
    check   the stock invariants after the runs: each SKU's network commitment equals
            its orders' units, exactly, and check_integrity finds nothing
    report  the "Intake under pressure" section of docs/benchmarks.md

The data set, database and server helpers are bench/intake.py's.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import intake

REPO = intake.REPO
BATCH_PATH = "/api/v1/orders/batch/"
HOT_SKU_INDEX = 0  # BENCH-001
BEGIN = "<!-- Intake under pressure: written by bench/pressure.sh; kept by make bench. -->"
END = "<!-- End of intake under pressure. -->"


def _order(rng: random.Random, skus: list[str], po: str, *, hot: bool) -> dict[str, Any]:
    others = [s for s in skus if s != skus[HOT_SKU_INDEX]] if hot else skus
    chosen = rng.sample(others, intake.LINES_PER_ORDER - (1 if hot else 0))
    if hot:
        chosen = [skus[HOT_SKU_INDEX], *chosen]
    return {
        "po_number": po,
        "shipping_address": intake.SHIP_TO,
        "shipping_method": "STANDARD",
        "lines": [{"sku": sku, "quantity": rng.randint(1, 3)} for sku in chosen],
    }


def _deadlocks() -> int | None:
    try:
        conn, name = intake._admin_connection()
    except SystemExit:
        return None
    with conn:
        row = conn.execute(
            "SELECT deadlocks FROM pg_stat_database WHERE datname = %s", [name]
        ).fetchone()
    return int(row[0]) if row else None


class Run:
    """One timed run of N clients; each client keeps its connection while the server
    keeps it (gunicorn.conf.py closes it after each response)."""

    def __init__(self, args: argparse.Namespace, state: dict[str, Any], *, seconds: float):
        self.args = args
        self.state = state
        self.seconds = seconds
        self.lock = threading.Lock()
        self.latencies: list[float] = []
        self.orders = 0
        self.statuses: Counter[str] = Counter()
        self.samples: dict[str, str] = {}
        self.elapsed = 0.0

    def _request(self, rng: random.Random, index: int, sequence: int) -> tuple[str, bytes, dict]:
        mode, skus = self.args.mode, self.state["skus"]
        po = f"PO-{index}-{sequence}"
        if mode == "batch":
            items = [
                {
                    "idempotency_key": uuid.uuid4().hex,
                    "order": _order(rng, skus, f"{po}-{n}", hot=False),
                }
                for n in range(self.args.batch_size)
            ]
            return BATCH_PATH, json.dumps({"orders": items}).encode(), {}
        body = json.dumps(_order(rng, skus, po, hot=mode == "hot")).encode()
        return intake.ORDERS_PATH, body, {"Idempotency-Key": uuid.uuid4().hex}

    def _placed(self, status: int, payload: bytes, statuses: Counter[str]) -> int:
        """Orders placed by one response; refused items of a batch are counted by status."""
        if self.args.mode != "batch":
            return 1 if status == 201 else 0
        if status != 200:
            return 0
        results = json.loads(payload)["results"]
        for result in results:
            if result["status"] != 201:
                statuses[f"item {result['status']}"] += 1
        return sum(1 for result in results if result["status"] == 201)

    def _client(self, index: int, start: threading.Barrier, stop_at: list[float]) -> None:
        rng = random.Random(index * 7919 + int(time.time()))
        headers = {
            "Authorization": f"Bearer {self.state['api_key']}",
            "Content-Type": "application/json",
        }
        latencies: list[float] = []
        statuses: Counter[str] = Counter()
        samples: dict[str, str] = {}
        placed = 0
        conn = http.client.HTTPConnection("127.0.0.1", self.args.port, timeout=120)
        start.wait()
        sequence = 0
        while time.monotonic() < stop_at[0]:
            sequence += 1
            path, body, extra = self._request(rng, index, sequence)
            began = time.perf_counter()
            try:
                conn.request("POST", path, body=body, headers={**headers, **extra})
                response = conn.getresponse()
                payload = response.read()
            except (OSError, http.client.HTTPException) as exc:
                statuses[f"connection error ({type(exc).__name__})"] += 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.args.port, timeout=120)
                continue
            took = time.perf_counter() - began
            statuses[str(response.status)] += 1
            count = self._placed(response.status, payload, statuses)
            if count:
                latencies.append(took)
                placed += count
            elif str(response.status) not in samples:
                samples[str(response.status)] = payload[:300].decode(errors="replace")
            if response.will_close:
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.args.port, timeout=120)
        conn.close()
        with self.lock:
            self.latencies.extend(latencies)
            self.orders += placed
            self.statuses.update(statuses)
            for status, sample in samples.items():
                self.samples.setdefault(status, sample)

    def run(self) -> Run:
        clients = self.args.clients
        start = threading.Barrier(clients + 1)
        stop_at = [float("inf")]
        threads = [
            threading.Thread(target=self._client, args=(i, start, stop_at), daemon=True)
            for i in range(clients)
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
        ordered = sorted(self.latencies)
        if not ordered:
            return None
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] * 1000


def load(args: argparse.Namespace) -> None:
    state = json.loads(Path(args.state).read_text())
    if args.warmup > 0:
        Run(args, state, seconds=args.warmup).run()
    meter = intake.CpuMeter(args.server_pid, tuple(args.relay_pid or ()))
    deadlocks_before = _deadlocks()
    before = meter.sample()
    run = Run(args, state, seconds=args.seconds).run()
    after = meter.sample()
    deadlocks_after = _deadlocks()
    errors = {k: v for k, v in sorted(run.statuses.items()) if k not in ("200", "201")}
    summary: dict[str, Any] = {
        "mode": args.mode,
        "clients": args.clients,
        "batch_size": args.batch_size if args.mode == "batch" else 1,
        "seconds": round(run.elapsed, 2),
        "orders": run.orders,
        "orders_per_s": round(run.orders / run.elapsed, 1) if run.elapsed else 0.0,
        "p50_ms": run.percentile(0.50),
        "p99_ms": run.percentile(0.99),
        "errors": errors,
        "server_errors": sum(v for k, v in run.statuses.items() if k.startswith("5")),
        "connection_errors": sum(v for k, v in run.statuses.items() if k.startswith("conn")),
        "deadlocks": (
            deadlocks_after - deadlocks_before
            if deadlocks_before is not None and deadlocks_after is not None
            else None
        ),
        "load_after": round(os.getloadavg()[0], 1),
        "error_samples": run.samples,
    }
    if before and after and run.orders:
        server = intake.CpuMeter.used(before["server"], after["server"]) / run.orders * 1000
        database = intake.CpuMeter.used(before["database"], after["database"]) / run.orders * 1000
        summary["cpu_ms_per_order"] = {"server": round(server, 2), "database": round(database, 2)}
    Path(args.out).write_text(json.dumps(summary, indent=2))
    shown = ", ".join(f"{k}: {v}" for k, v in errors.items()) or "none"
    print(
        f"OMS {args.mode}{f' x{args.batch_size}' if args.mode == 'batch' else ''} "
        f"clients={args.clients} orders={run.orders} orders/s={summary['orders_per_s']} "
        f"p50={intake._ms(summary['p50_ms'])} p99={intake._ms(summary['p99_ms'])} "
        f"deadlocks={summary['deadlocks']} errors: {shown}"
    )
    for status, sample in run.samples.items():
        print(f"  first {status} response: {sample}")


def check(args: argparse.Namespace) -> None:
    """Stock exact after every run: nothing routes orders here (no worker), so each
    SKU's network commitment is exactly the units of its orders' lines."""
    intake._django()
    from django.db.models import Sum

    from inventory.models import NetworkStock
    from orders.models import OrderLine

    ordered = dict(
        OrderLine.objects.order_by()
        .values("product__sku")
        .annotate(units=Sum("quantity_ordered"))
        .values_list("product__sku", "units")
    )
    committed = dict(NetworkStock.objects.values_list("product__sku", "committed"))
    wrong = {
        sku: (committed.get(sku, 0), units)
        for sku, units in ordered.items()
        if committed.get(sku, 0) != units
    }
    integrity = subprocess.run(
        [sys.executable, "manage.py", "check_integrity"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    hot = json.loads(Path(args.state).read_text())["skus"][HOT_SKU_INDEX]
    result = {
        "skus": len(ordered),
        "hot_sku": hot,
        "hot_units": ordered.get(hot, 0),
        "hot_committed": committed.get(hot, 0),
        "mismatches": {sku: {"committed": c, "ordered": u} for sku, (c, u) in wrong.items()},
        "check_integrity_ok": integrity.returncode == 0,
        "check_integrity_output": (integrity.stdout + integrity.stderr)[-600:],
    }
    Path(args.out).write_text(json.dumps(result, indent=2))
    print(
        f"stock: {len(wrong)} SKU(s) off; hot SKU {hot}: {result['hot_committed']} committed for "
        f"{result['hot_units']} ordered; check_integrity "
        f"{'clean' if result['check_integrity_ok'] else 'FAILED'}"
    )


# --- report ---------------------------------------------------------------------------


def _read(path: Path) -> dict[str, Any] | None:
    return json.loads(path.read_text()) if path.exists() else None


def _row(label: str, r: dict[str, Any] | None) -> str:
    if r is None:
        return f"| {label} | – | – | – | – | – | – |"
    cpu = r.get("cpu_ms_per_order")
    cpu_text = f"{cpu['server']} + {cpu['database']} (~{_capacity(r)} orders/s)" if cpu else "–"
    errors = ", ".join(f"{k}: {v}" for k, v in r["errors"].items()) or "none"
    return (
        f"| {label} | **{r['orders_per_s']}** | {intake._ms(r['p50_ms'])} | "
        f"{intake._ms(r['p99_ms'])} | {r['deadlocks']} | {errors} | {cpu_text} |"
    )


def _capacity(r: dict[str, Any] | None) -> int | None:
    """Orders/s the machine's cores could take at this CPU per order with nothing else
    running: the figure that other work on a shared machine hardly moves."""
    cpu = (r or {}).get("cpu_ms_per_order")
    if not cpu or not cpu["server"] + cpu["database"]:
        return None
    return round((os.cpu_count() or 1) * 1000 / (cpu["server"] + cpu["database"]))


def _sql(results: Path, name: str) -> float | None:
    path = results / name
    if not path.exists():
        return None
    found = re.search(r"tps = ([\d.]+)", path.read_text())
    return round(float(found.group(1)), 1) if found else None


def _pct(ours: float | None, base: float | None) -> str:
    if not ours or not base:
        return "–"
    return f"{100 * ours / base:.0f} %"


def report(args: argparse.Namespace) -> None:
    results = Path(args.results)
    meta = json.loads((results / "meta.json").read_text())
    runs = {p.stem: json.loads(p.read_text()) for p in results.glob("run-*.json")}
    stock = _read(results / "check.json")

    def get(name: str) -> dict[str, Any] | None:
        return runs.get(f"run-{name}")

    mixed16, mixed64 = get("mixed-16"), get("mixed-64")
    hot16, hot64 = get("hot-16"), get("hot-64")
    many64, many256 = mixed64, get("mixed-256")
    batch = get(f"batch-{meta['batch_clients']}")
    sql_mixed, sql_hot = _sql(results, "sql-16.txt"), _sql(results, "sql-hot-16.txt")

    def rate(r: dict[str, Any] | None) -> float | None:
        return r["orders_per_s"] if r else None

    def clean(*rs: dict[str, Any] | None) -> bool:
        return all(
            r is not None
            and not r["server_errors"]
            and not r["connection_errors"]
            and r["deadlocks"] == 0
            for r in rs
        )

    def met(ok: bool) -> str:
        return "yes" if ok else "**no**"

    def at_least(ours: float | None, base: float | None, share: float) -> bool:
        return bool(ours and base and ours >= share * base)

    stock_ok = bool(stock and not stock["mismatches"] and stock["check_integrity_ok"])

    def share(ours: dict[str, Any] | None, base: dict[str, Any] | None) -> str:
        return f"{_pct(rate(ours), rate(base))} ({rate(ours)} vs {rate(base)} orders/s)"

    def p99(r: dict[str, Any] | None) -> str:
        return intake._ms(r["p99_ms"]) if r else "–"

    def count(name: str, *rs: dict[str, Any] | None) -> str:
        return " + ".join(str(r[name]) if r else "–" for r in rs)

    hot_result = (
        f"deadlocks {count('deadlocks', hot16, hot64)}, "
        f"5xx {count('server_errors', hot16, hot64)}, "
        f"stock {'exact' if stock_ok else 'NOT exact'}"
    )
    batch_result = (
        f"{rate(batch)} orders/s ({_pct(rate(batch), sql_mixed)} of the SQL limit's "
        f"{sql_mixed} tps)"
    )
    targets = [
        (
            "hot SKU ≥ 80 % of mixed SKUs (16 clients)",
            share(hot16, mixed16),
            at_least(rate(hot16), rate(mixed16), 0.8),
        ),
        (
            "hot SKU ≥ 80 % of mixed SKUs (64 clients)",
            share(hot64, mixed64),
            at_least(rate(hot64), rate(mixed64), 0.8),
        ),
        (
            "hot SKU: zero deadlocks, zero 5xx, exact stock",
            hot_result,
            clean(hot16, hot64) and stock_ok,
        ),
        (
            "64 clients ≥ 90 % of 16 clients",
            f"{share(many64, mixed16)}, p99 {p99(many64)}",
            at_least(rate(many64), rate(mixed16), 0.9),
        ),
        (
            "256 clients ≥ 90 % of 16 clients",
            f"{share(many256, mixed16)}, p99 {p99(many256)}",
            at_least(rate(many256), rate(mixed16), 0.9),
        ),
        (
            "no connection errors or 5xx at 64 and 256 clients",
            (
                f"{count('connection_errors', many64, many256)} connection errors, "
                f"{count('server_errors', many64, many256)} 5xx"
            ),
            clean(many64, many256),
        ),
        ("batch intake ≥ 1,000 orders/s", batch_result, at_least(rate(batch), 1000, 1.0)),
        (
            "(estimate) batch ≥ 1,000 orders/s with the machine to itself, by CPU per order",
            f"~{_capacity(batch)} orders/s (one order at a time: ~{_capacity(mixed16)})",
            at_least(_capacity(batch), 1000, 1.0),
        ),
    ]
    if stock:
        stock_text = (
            f"Stock after all runs: {stock['skus']} SKUs, {len(stock['mismatches'])} with a "
            "network commitment other than their orders' units; the hot SKU "
            f"{stock['hot_sku']} has {stock['hot_committed']} units committed for "
            f"{stock['hot_units']} ordered; `check_integrity` "
            f"{'found nothing' if stock['check_integrity_ok'] else 'reported violations'}."
        )
    else:
        stock_text = "Stock after all runs: not checked (the check did not run)."
    lines = [
        BEGIN,
        "# Intake under pressure",
        "",
        "A hot SKU, more clients than the server has threads, and batch intake for B2B/EDI",
        "(`POST /api/v1/orders/batch/`), against the production server settings",
        "(`gunicorn.conf.py`: 4 workers × 4 threads, one pooled database connection per",
        "thread), with the SQL limit measured in the same run.",
        "",
        f"- Date: {meta['date']} (commit `{meta['commit']}`); command: `{meta['command']}`",
        f"  ({meta['seconds']} s per measurement).",
        f"- Machine: {os.cpu_count()} CPU cores shared by the server, the database and the load",
        f"  generator, and by other work: load average {meta['load']} when the run started.",
        "  Absolute figures move with that load; compare the ratios taken in the same run.",
        "",
        "| target | result | met |",
        "|---|---|---|",
        *[f"| {name} | {result} | {met(ok)} |" for name, result, ok in targets],
        "",
        "| run | orders/s | p50 | p99 | deadlocks | errors | CPU ms/order, server + db |",
        "|---|---:|---:|---:|---:|---|---|",
        _row("mixed SKUs, 16 clients", mixed16),
        _row("mixed SKUs, 64 clients", mixed64),
        _row("mixed SKUs, 256 clients", many256),
        _row("hot SKU, 16 clients", hot16),
        _row("hot SKU, 64 clients", hot64),
        _row(f"batch of {meta['batch_size']}, {meta['batch_clients']} clients", batch),
        f"| SQL limit, 16 clients (bare SQL of one order) | {sql_mixed or '–'} tps | | | | | |",
        f"| SQL limit, hot SKU, 16 clients | {sql_hot or '–'} tps | | | | | |",
        "",
        stock_text,
        "",
        "Latency is per request (for a batch: the whole batch); errors count per request,",
        "and per refused order of a batch (`item NNN`).",
        END,
    ]
    doc = REPO / "docs" / "benchmarks.md"
    text = doc.read_text() if doc.exists() else ""
    section = "\n".join(lines) + "\n"
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        tail = rest.split(END, 1)[1].lstrip("\n")
        text = head + section + ("\n" + tail if tail else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    doc.write_text(text)
    print(f"wrote {doc.relative_to(REPO)}")


def meta(args: argparse.Namespace) -> None:
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    Path(args.out).write_text(
        json.dumps(
            {
                "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
                "commit": commit,
                "command": args.command_line,
                "seconds": args.seconds,
                "load": " / ".join(f"{x:.1f}" for x in os.getloadavg()),
                "batch_size": args.batch_size,
                "batch_clients": args.batch_clients,
            }
        )
    )


# --- the batch figure on its own --------------------------------------------------------


def _batch_body(rng: random.Random, skus: list[str], size: int, tag: str) -> bytes:
    items = [
        {"idempotency_key": uuid.uuid4().hex, "order": _order(rng, skus, f"{tag}-{n}", hot=False)}
        for n in range(size)
    ]
    return json.dumps({"orders": items}).encode()


def batch_cpu(args: argparse.Namespace) -> None:
    """CPU per order of batch intake in one process, straight through the WSGI
    application (no HTTP server, no load generator), and of its database backend, for
    the set-based placement and for the same batches placed one order at a time (the
    path storefront batches still take): the steadiest before/after on a shared machine.
    Needs a seeded database (``bench/intake.py seed``) and its state file."""
    intake._django()

    from django.db import connection

    from oms.wsgi import application
    from orders import batch_placement

    state = json.loads(Path(args.state).read_text())
    rng = random.Random(17)

    def post(tag: str) -> None:
        body = _batch_body(rng, state["skus"], args.batch_size, tag)
        status, payload = intake.post_in_process(application, BATCH_PATH, body, state["api_key"])
        placed = json.loads(payload).get("placed") if status.startswith("200") else None
        if placed != args.batch_size:
            sys.exit(f"batch failed: {status} {payload[:300]!r}")

    def backend_seconds() -> float | None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            pid = cursor.fetchone()[0]
        measured = intake._proc_cpu_seconds(pid)
        return measured[1] if measured else None

    def measure(way: str) -> dict[str, Any]:
        for n in range(args.warmup):
            post(f"WARM-{way}-{n}")
        orders = args.batches * args.batch_size
        database_before = backend_seconds()
        began = time.process_time()
        for n in range(args.batches):
            post(f"{way}-{n}")
        server = (time.process_time() - began) / orders * 1000
        database_after = backend_seconds()
        database = (
            (database_after - database_before) / orders * 1000
            if database_before is not None and database_after is not None
            else None
        )
        return {"server_ms": round(server, 3), "database_ms": database and round(database, 3)}

    found: dict[str, Any] = {"batch_size": args.batch_size, "batches": args.batches}
    found["set_based"] = measure("SET")
    supported = batch_placement.supported
    batch_placement.supported = lambda: False  # type: ignore[assignment] # the per-order path
    try:
        found["one_at_a_time"] = measure("ONE")
    finally:
        batch_placement.supported = supported  # type: ignore[assignment]
    found["load"] = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    cores = os.cpu_count() or 1
    for way in ("one_at_a_time", "set_based"):
        r = found[way]
        total = r["server_ms"] + (r["database_ms"] or 0)
        r["orders_per_s_by_cpu"] = round(cores * 1000 / total) if total else None
        print(
            f"{way.replace('_', ' ')}: CPU per order {r['server_ms']:.2f} ms in Python + "
            f"{r['database_ms'] if r['database_ms'] is not None else '?'} ms database "
            f"(~{r['orders_per_s_by_cpu']} orders/s on {cores} cores)"
        )
    print(f"load average {found['load']}")
    if args.out:
        Path(args.out).write_text(json.dumps(found, indent=2))


def _port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def batch_run(args: argparse.Namespace) -> None:
    """The batch figure on its own, as ``bench/pressure.sh`` measures it (production
    server settings, the outbox relay beside it), with the one-order-per-request
    intake beside it in the same run: a fresh database, the seed, gunicorn, one run of
    single orders (16 clients) and one of batches, the stock check, then a summary
    (``--out``: JSON). Short runs only: ``--seconds`` per run."""
    work = Path(tempfile.mkdtemp(prefix="oms-batch-"))
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "oms.settings.base",
        "DATABASE_URL": os.environ.get(
            "BENCH_DATABASE_URL", "postgres://postgres:postgres@127.0.0.1:5432/oms_bench_batch"
        ),
        "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13"),
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DEBUG": "false",
        "SECURE_SSL_REDIRECT": "false",
        "SESSION_COOKIE_SECURE": "false",
        "CSRF_COOKIE_SECURE": "false",
        "LOG_LEVEL": os.environ.get("LOG_LEVEL", "WARNING"),
        "OMS_OUTBOX_RELAY": "process",
        "OMS_API_THROTTLE_RATE": "10000000/min",
    }
    os.environ.update(env)
    python, bin_dir = sys.executable, Path(sys.executable).parent
    state = work / "state.json"

    def step(*command: str) -> None:
        subprocess.run(command, cwd=REPO, env=env, check=True)

    step(python, "bench/intake.py", "createdb")
    step(python, "bench/intake.py", "flushredis")
    step(python, "manage.py", "migrate", "--noinput", "-v", "0")
    step(python, "bench/intake.py", "seed", "--state", str(state))
    port = args.port
    while _port_in_use(port):  # another benchmark's server: take the next port
        port += 1
    logs = (work / "relay.log").open("ab"), (work / "gunicorn.log").open("ab")
    relay = subprocess.Popen(
        [python, "manage.py", "relay_outbox"], cwd=REPO, env=env, stdout=logs[0], stderr=logs[0]
    )
    server = subprocess.Popen(
        [str(bin_dir / "gunicorn"), "oms.wsgi:application", "--bind", f"127.0.0.1:{port}"],
        cwd=REPO,
        env=env,
        stdout=logs[1],
        stderr=logs[1],
    )
    summary: dict[str, Any] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "load_before": " / ".join(f"{x:.1f}" for x in os.getloadavg()),
        "seconds": args.seconds,
    }
    try:
        step(python, "bench/intake.py", "wait", "--port", str(port))
        for mode, clients in (("mixed", 16), ("batch", args.batch_clients)):
            out = work / f"run-{mode}-{clients}.json"
            run_args = argparse.Namespace(
                state=str(state),
                port=port,
                mode=mode,
                clients=clients,
                batch_size=args.batch_size,
                seconds=args.seconds,
                warmup=args.warmup,
                server_pid=server.pid,
                relay_pid=[relay.pid],
                out=str(out),
            )
            load(run_args)
            summary[f"{mode}-{clients}"] = json.loads(out.read_text())
    finally:
        for process in (server, relay):
            process.terminate()
            process.wait(timeout=30)
    check(argparse.Namespace(state=str(state), out=str(work / "check.json")))
    summary["check"] = json.loads((work / "check.json").read_text())
    summary["load_after"] = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    batch = summary[f"batch-{args.batch_clients}"]
    mixed = summary["mixed-16"]
    print(
        f"batch of {args.batch_size}, {args.batch_clients} clients: {batch['orders_per_s']} "
        f"orders/s, CPU {batch.get('cpu_ms_per_order')} ms/order (~{_capacity(batch)} "
        f"orders/s by CPU); one order per request, 16 clients: {mixed['orders_per_s']} "
        f"orders/s (~{_capacity(mixed)}); load {summary['load_before']} -> "
        f"{summary['load_after']}"
    )
    if args.out:
        Path(args.out).write_text(json.dumps(summary, indent=2))
    if not args.keep_database:
        step(python, "bench/intake.py", "dropdb")
    shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="step", required=True)
    p = sub.add_parser("load")
    p.add_argument("--state", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--mode", choices=("mixed", "hot", "batch"), default="mixed")
    p.add_argument("--clients", type=int, default=16)
    p.add_argument("--batch-size", type=int, default=100)
    p.add_argument("--seconds", type=float, default=20)
    p.add_argument("--warmup", type=float, default=3)
    p.add_argument("--server-pid", type=int)
    p.add_argument("--relay-pid", type=int, action="append")
    p.add_argument("--out", required=True)
    p.set_defaults(func=load)
    p = sub.add_parser("check")
    p.add_argument("--state", required=True)
    p.add_argument("--out", required=True)
    p.set_defaults(func=check)
    p = sub.add_parser("meta")
    p.add_argument("--out", required=True)
    p.add_argument("--command-line", default="bash bench/pressure.sh")
    p.add_argument("--seconds", type=float, required=True)
    p.add_argument("--batch-size", type=int, required=True)
    p.add_argument("--batch-clients", type=int, required=True)
    p.set_defaults(func=meta)
    p = sub.add_parser("batch-cpu", help="CPU per order of batch intake, in process")
    p.add_argument("--state", required=True)
    p.add_argument("--batch-size", type=int, default=100)
    p.add_argument("--batches", type=int, default=10)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--out")
    p.set_defaults(func=batch_cpu)
    p = sub.add_parser("batch", help="the batch figure on its own (server, load, check)")
    p.add_argument("--port", type=int, default=58300, help="or the next free one")
    p.add_argument("--batch-size", type=int, default=100)
    p.add_argument("--batch-clients", type=int, default=8)
    p.add_argument("--seconds", type=float, default=15)
    p.add_argument("--warmup", type=float, default=3)
    p.add_argument("--keep-database", action="store_true")
    p.add_argument("--out")
    p.set_defaults(func=batch_run)
    p = sub.add_parser("report")
    p.add_argument("--results", required=True)
    p.set_defaults(func=report)
    args = parser.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
