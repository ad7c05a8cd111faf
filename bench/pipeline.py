"""The background pipeline under load: 16 API clients place orders against the production
server settings while one relay process publishes the outbox and one Celery worker
(consuming every queue) routes the orders and e-mails their customers. Measures:

- commit -> e-mail: from each order's placement (its transaction) to its customer's first
  message sent, p50 / p99 / max, over every order placed in the run;
- the relay under that load: events published per second, and each event's wait from
  its write to its publication (p50 / p99);
- the relay's capacity: a backlog of events published as fast as the relay can
  (``core.outbox.drain``), events per second;
- how long after the last order the pipeline is empty again.

Writes its section of docs/benchmarks.md ("Background pipeline"). Usage:

    .venv/bin/python bench/pipeline.py [--clients 16] [--seconds 30] [--backlog 20000]

Settings (environment): BENCH_PIPELINE_DATABASE_URL (a loopback database whose name
contains "bench", dropped and recreated; default oms_bench_pipeline),
BENCH_PIPELINE_REDIS_URL (a loopback Redis database, emptied before and after; default
database 11), BENCH_PIPELINE_PORT (58300, or the next free port),
BENCH_PIPELINE_WORKER_CONCURRENCY (2: the processes of the one worker).
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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
BIN = Path(PYTHON).parent
DEFAULT_DATABASE = "postgres://postgres:postgres@127.0.0.1:5432/oms_bench_pipeline"
DEFAULT_REDIS = "redis://127.0.0.1:6379/11"
TARGET_P99_SECONDS = 3.0
DRAIN_TIMEOUT = 180.0
BEGIN, END = "<!-- pipeline:begin -->", "<!-- pipeline:end -->"


def environment(work: Path) -> dict[str, str]:
    """Production settings from the environment, as for bench/run.sh; mail is kept in
    the worker's memory (the moment it is handed over is what counts)."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "oms.settings.base",
        "DATABASE_URL": os.environ.get("BENCH_PIPELINE_DATABASE_URL", DEFAULT_DATABASE),
        "REDIS_URL": os.environ.get("BENCH_PIPELINE_REDIS_URL", DEFAULT_REDIS),
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DEBUG": "false",
        "SECURE_SSL_REDIRECT": "false",
        "SESSION_COOKIE_SECURE": "false",
        "CSRF_COOKIE_SECURE": "false",
        "LOG_LEVEL": "WARNING",
        "OMS_OUTBOX_RELAY": "process",
        "OMS_API_THROTTLE_RATE": "10000000/min",
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        # Tasks split by kind, as in production: the one worker consumes every queue.
        "CELERY_QUEUE": "",
        "PROMETHEUS_MULTIPROC_DIR": str(work / "metrics"),
    }


def run(command: list[str], env: dict[str, str], **kwargs: Any) -> None:
    subprocess.run(command, cwd=REPO, env=env, check=True, **kwargs)


def start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)


def stop(process: subprocess.Popen[bytes] | None) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def free_port(port: int) -> int:
    """``port``, or the next one nothing listens on or holds (a closed connection's
    socket included)."""
    import socket

    while True:
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                port += 1
                continue
            return port


def query(env: dict[str, str], sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    import psycopg

    with psycopg.connect(env["DATABASE_URL"], autocommit=True) as conn:
        cursor = conn.execute(sql, params)
        return list(cursor.fetchall()) if cursor.description else []


def percentile(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def pipeline_idle(env: dict[str, str]) -> tuple[int, int]:
    """(placed orders without a message sent yet, outbox events not yet published)."""
    [(waiting, unpublished)] = query(
        env,
        """
        SELECT
          (SELECT count(*) FROM orders_order o WHERE o.placed_at IS NOT NULL
             AND NOT EXISTS (SELECT 1 FROM oms_notification n
                             WHERE n.order_id = o.id AND n.status = 'sent')),
          (SELECT count(*) FROM oms_outboxevent WHERE published_at IS NULL)
        """,
    )
    return int(waiting), int(unpublished)


def measure_load(
    args: argparse.Namespace, clients: int, rate: float, env: dict[str, str], work: Path
) -> dict[str, Any]:
    port = free_port(int(os.environ.get("BENCH_PIPELINE_PORT", "58300")))
    concurrency = os.environ.get("BENCH_PIPELINE_WORKER_CONCURRENCY", "2")
    relay = start([PYTHON, "manage.py", "relay_outbox"], env, work / "relay.log")
    worker = start(
        [
            PYTHON,
            "-m",
            "celery",
            "-A",
            "oms",
            "worker",
            f"--concurrency={concurrency}",
            "--hostname=pipeline@%h",
            "--loglevel=WARNING",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        env,
        work / "worker.log",
    )
    server = start(
        [
            str(BIN / "gunicorn"),
            "oms.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ],
        env,
        work / "gunicorn.log",
    )
    try:
        run([PYTHON, "bench/intake.py", "wait", "--port", str(port)], env)
        started = datetime.now(UTC)
        if rate:
            paced_load(port, clients, rate, args.seconds, work)
        else:
            run(
                [
                    PYTHON,
                    "bench/intake.py",
                    "load",
                    "--state",
                    str(work / "state.json"),
                    "--port",
                    str(port),
                    "--clients",
                    str(clients),
                    "--seconds",
                    str(args.seconds),
                    "--warmup",
                    "0",
                    "--out",
                    str(work / "load.json"),
                ],
                env,
            )
        load_ended = time.monotonic()
        ended = datetime.now(UTC)
        waiting = unpublished = -1
        while time.monotonic() - load_ended < DRAIN_TIMEOUT:
            waiting, unpublished = pipeline_idle(env)
            if waiting == 0 and unpublished == 0:
                break
            time.sleep(0.5)
        drained_after = time.monotonic() - load_ended
    finally:
        stop(server)
        stop(relay)
        stop(worker)
    tasks = task_times(work / "metrics")
    load = json.loads((work / "load.json").read_text())
    latencies = [
        float(seconds)
        for (seconds,) in query(
            env,
            """
            SELECT EXTRACT(EPOCH FROM min(n.sent_at) - o.placed_at)
            FROM orders_order o JOIN oms_notification n ON n.order_id = o.id
            WHERE o.placed_at >= %s AND n.status = 'sent'
            GROUP BY o.id, o.placed_at
            """,
            (started,),
        )
    ]
    lags = [
        float(seconds)
        for (seconds,) in query(
            env,
            """
            SELECT EXTRACT(EPOCH FROM published_at - created_at) FROM oms_outboxevent
            WHERE created_at >= %s AND published_at IS NOT NULL
            """,
            (started,),
        )
    ]
    [(events, orders)] = query(
        env,
        """
        SELECT (SELECT count(*) FROM oms_outboxevent
                WHERE published_at BETWEEN %s AND %s),
               (SELECT count(*) FROM orders_order WHERE placed_at >= %s)
        """,
        (started, ended, started),
    )
    window = (ended - started).total_seconds()
    return {
        "clients": clients,
        "rate": rate,
        "seconds": args.seconds,
        "worker_concurrency": int(concurrency),
        "orders": int(orders),
        "orders_per_s": round(load.get("orders_per_s", orders / window), 1),
        "api_p99_ms": load.get("p99_ms"),
        "errors": load.get("errors", {}),
        "emailed": len(latencies),
        "email_p50_s": round(percentile(latencies, 0.50), 2),
        "email_p99_s": round(percentile(latencies, 0.99), 2),
        "email_max_s": round(max(latencies, default=0.0), 2),
        "relay_events_per_s": round(int(events) / window, 1),
        "relay_lag_p50_s": round(percentile(lags, 0.50), 3),
        "relay_lag_p99_s": round(percentile(lags, 0.99), 3),
        "not_emailed_at_end": waiting,
        "unpublished_at_end": unpublished,
        "drained_after_s": round(drained_after, 1),
        "tasks": tasks,
    }


def paced_load(port: int, clients: int, rate: float, seconds: float, work: Path) -> None:
    """``clients`` API clients placing ``rate`` orders per second between them, each on a
    schedule of its own (the bodies of bench/intake.py); writes load.json as it does."""
    import http.client
    import random
    import threading
    import uuid

    sys.path.insert(0, str(REPO / "bench"))
    import intake

    state = json.loads((work / "state.json").read_text())
    interval = clients / rate
    lock = threading.Lock()
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    began = time.monotonic()

    def client(index: int) -> None:
        rng = random.Random(index)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        due = began + interval * index / clients
        sequence = 0
        while due < began + seconds:
            time.sleep(max(0.0, due - time.monotonic()))
            due += interval
            sequence += 1
            body = intake.order_body(
                rng, state["skus"], intake.LINES_PER_ORDER, f"PO-{index}-{sequence}", card=False
            )
            headers = {
                "Authorization": f"Bearer {state['api_key']}",
                "Content-Type": "application/json",
                "Idempotency-Key": uuid.uuid4().hex,
            }
            sent = time.perf_counter()
            try:
                conn.request("POST", intake.ORDERS_PATH, body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                status = str(response.status)
            except (OSError, http.client.HTTPException) as exc:
                status = f"connection error ({type(exc).__name__})"
                response = None
            with lock:
                statuses[status] = statuses.get(status, 0) + 1
                if status == "201":
                    latencies.append(time.perf_counter() - sent)
            if response is None or response.will_close:
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        conn.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - began
    (work / "load.json").write_text(
        json.dumps(
            {
                "orders_per_s": round(len(latencies) / elapsed, 1),
                "p99_ms": percentile(latencies, 0.99) * 1000,
                "errors": {k: v for k, v in statuses.items() if k != "201"},
            }
        )
    )


def task_times(directory: Path) -> dict[str, dict[str, float]]:
    """Runs and seconds of each task in the worker, from its metrics (oms.metrics); the
    directory is emptied for the next run."""
    from prometheus_client import CollectorRegistry, multiprocess

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=str(directory))
    found: dict[str, dict[str, float]] = {}
    for family in registry.collect():
        if family.name != "oms_celery_task_duration_seconds":
            continue
        for sample in family.samples:
            task = found.setdefault(sample.labels["task"], {"runs": 0, "seconds": 0.0})
            if sample.name.endswith("_count"):
                task["runs"] += sample.value
            elif sample.name.endswith("_sum"):
                task["seconds"] += sample.value
    for path in directory.iterdir():
        path.unlink()
    return {name: {k: round(v, 2) for k, v in t.items()} for name, t in sorted(found.items())}


def measure_relay(args: argparse.Namespace, env: dict[str, str]) -> dict[str, Any]:
    """A backlog of order.placed events (four consuming tasks each) published by one
    relay as fast as it can; no worker runs, so the broker only stores the messages."""
    [(order_id,)] = query(env, "SELECT min(id) FROM orders_order")
    query(
        env,
        """
        INSERT INTO oms_outboxevent (topic, payload, created_at, attempts, last_error)
        SELECT 'order.placed', jsonb_build_object('order_id', %s::bigint), now(), 0, ''
        FROM generate_series(1, %s)
        """,
        (order_id, args.backlog),
    )
    script = (
        "import time, django; django.setup(); from core import outbox; "
        "t = time.perf_counter(); n = outbox.drain(); "
        "print(n, time.perf_counter() - t)"
    )
    result = subprocess.run(
        [PYTHON, "-c", script], cwd=REPO, env=env, check=True, capture_output=True, text=True
    )
    published, seconds = result.stdout.split()
    return {
        "backlog": args.backlog,
        "published": int(published),
        "seconds": round(float(seconds), 2),
        "events_per_s": round(int(published) / float(seconds)),
    }


def _drained(load: dict[str, Any]) -> str:
    if load["not_emailed_at_end"] or load["unpublished_at_end"]:
        return (
            f"not within {DRAIN_TIMEOUT:g} s ({load['not_emailed_at_end']} orders not"
            f" e-mailed, {load['unpublished_at_end']} events unpublished)"
        )
    return f"{load['drained_after_s']} s"


ROWS: list[tuple[str, Any]] = [
    ("orders placed", lambda r: f"{r['orders']:,}"),
    ("orders/s (API)", lambda r: r["orders_per_s"]),
    ("API errors", lambda r: ", ".join(f"{k}: {v}" for k, v in r["errors"].items()) or "none"),
    ("orders e-mailed", lambda r: f"{r['emailed']:,}"),
    ("**commit → e-mail, p50**", lambda r: f"**{r['email_p50_s']} s**"),
    (
        f"**commit → e-mail, p99** (target ≤ {TARGET_P99_SECONDS:g} s)",
        lambda r: (
            f"**{r['email_p99_s']} s** "
            + ("(met)" if r["email_p99_s"] <= TARGET_P99_SECONDS else "(missed)")
        ),
    ),
    ("commit → e-mail, slowest", lambda r: f"{r['email_max_s']} s"),
    ("relay: events published/s under the load", lambda r: r["relay_events_per_s"]),
    (
        "relay: event written → published, p50 / p99",
        lambda r: f"{r['relay_lag_p50_s']} s / {r['relay_lag_p99_s']} s",
    ),
    ("pipeline empty again after the last order", _drained),
]


def section(loads: list[dict[str, Any]], relay: dict[str, Any], command: str) -> str:
    first = loads[0]
    header = " | ".join(
        f"{load['clients']} clients"
        + (f", paced at {load['rate']:g} orders/s" if load.get("rate") else ", full speed")
        for load in loads
    )
    table = [f"| | {header} |", "| --- |" + " --- |" * len(loads)]
    table += [
        f"| {label} | " + " | ".join(str(cell(load)) for load in loads) + " |"
        for label, cell in ROWS
    ]
    rows = "\n".join(table)
    orders = max(first["orders"], 1)
    tasks = first.get("tasks", {})
    task_rows = "\n".join(
        ["| task | messages | seconds | per order |", "| --- | --- | --- | --- |"]
        + [
            f"| `{name}` | {t['runs']:,.0f} | {t['seconds']:,.1f} | "
            f"{t['seconds'] / orders * 1000:,.0f} ms |"
            for name, t in sorted(tasks.items(), key=lambda item: -item[1]["seconds"])
        ]
    )
    busy = sum(t["seconds"] for t in tasks.values()) / orders
    email = tasks.get("oms.notify_order_event", {}).get("seconds", 0.0) / orders
    paced = [load for load in loads if load.get("rate")]
    met = [f"{load['rate']:g}" for load in paced if load["email_p99_s"] <= TARGET_P99_SECONDS]
    missed = [f"{load['rate']:g}" for load in paced if load["email_p99_s"] > TARGET_P99_SECONDS]
    verdict = ""
    if met:
        verdict += f" The target holds at {', '.join(met)} orders/s."
    if missed:
        verdict += f" It is missed at {', '.join(missed)} orders/s and at full speed."
    capacity = (
        f"The worker spends {busy * 1000:,.0f} ms of task time per order at full speed, "
        f"{email * 1000:,.0f} ms of it on the customer's e-mail, on the same {os.cpu_count()} "
        "cores as the server and the database. Once orders come faster than the worker "
        "finishes them its queues grow for as long as they come, and commit → e-mail grows "
        f"with them.{verdict} Split queues make the cure cheap: workers of their own for "
        "`notifications` (and `routing`), on other cores or hosts (docs/operations.md, "
        '"Background workers").'
    )
    return f"""{BEGIN}
## Background pipeline

`{command}`, {datetime.now(UTC):%Y-%m-%d}, on this machine ({os.cpu_count()} cores, shared
by the database, Redis, the server, the relay, the worker and the load generator). Production
settings: the server as in gunicorn.conf.py, one relay process (`manage.py relay_outbox`),
**one Celery worker** (`celery -A oms worker --concurrency {first["worker_concurrency"]}`,
every queue), routing on, e-mail handed to an in-memory mail backend. API clients place
orders for {first["seconds"]:g} s each run, as fast as they are answered ("full speed")
or at a fixed rate between them ("paced"):

{rows}

Commit → e-mail runs from each order's placement to its customer's first message handed
to the mail backend: the relay's poll, the broker, the worker's queues (the order's
routing, authorisation and webhook tasks share the one worker), rendering and sending.

Where the one worker's time went ({first["clients"]} clients; seconds of task runs, from
`oms_celery_task_duration_seconds`; a message carries every event of a relay poll):

{task_rows}

{capacity}

**Relay capacity:** a backlog of {relay["backlog"]:,} `order.placed` events published by
one relay in {relay["seconds"]} s: **{relay["events_per_s"]:,} events/s** (500 events a
poll, one message per consuming task per poll; no worker running).
{END}
"""


def write_docs(text: str) -> None:
    doc = REPO / "docs" / "benchmarks.md"
    current = doc.read_text()
    if BEGIN in current and END in current:
        head, _, rest = current.partition(BEGIN)
        _, _, tail = rest.partition(END + "\n")
        doc.write_text(head + text + tail)
    else:
        doc.write_text(current.rstrip("\n") + "\n\n" + text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[16])
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument(
        "--rates",
        type=float,
        nargs="*",
        default=[],
        help="also runs at these paced rates (orders/s), with the first client count",
    )
    parser.add_argument("--backlog", type=int, default=20000)
    parser.add_argument("--command-line", default="python bench/pipeline.py")
    parser.add_argument("--no-docs", action="store_true", help="print, do not write the docs")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="oms-pipeline.") as tmp:
        work = Path(tmp)
        (work / "metrics").mkdir()
        env = environment(work)
        env.pop("CELERY_QUEUE")
        intake = {**env, "BENCH_DATABASE_URL": env["DATABASE_URL"]}
        run([PYTHON, "bench/intake.py", "createdb"], intake)
        try:
            run([PYTHON, "bench/intake.py", "flushredis"], intake)
            run([PYTHON, "manage.py", "migrate", "--noinput", "-v", "0"], env)
            run([PYTHON, "bench/intake.py", "seed", "--state", str(work / "state.json")], intake)
            loads = []
            runs = [(clients, 0.0) for clients in args.clients]
            runs += [(args.clients[0], rate) for rate in args.rates]
            for clients, rate in runs:
                loads.append(measure_load(args, clients, rate, env, work))
                print(json.dumps(loads[-1], indent=2))
            run([PYTHON, "bench/intake.py", "flushredis"], intake)
            relay = measure_relay(args, env)
            print(json.dumps(relay, indent=2))
        except BaseException:
            for log in ("worker.log", "relay.log", "gunicorn.log"):
                path = work / log
                if path.exists():
                    print(f"--- {log}", path.read_text(errors="replace")[-2000:], file=sys.stderr)
            raise
        finally:
            run([PYTHON, "bench/intake.py", "flushredis"], intake)
            run([PYTHON, "bench/intake.py", "dropdb"], intake)
    text = section(loads, relay, args.command_line)
    if args.no_docs:
        print(text)
    else:
        write_docs(text)
        print("wrote docs/benchmarks.md (Background pipeline)")


if __name__ == "__main__":
    main()
