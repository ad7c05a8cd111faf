"""The dashboard and the reports at a million orders: time each page as a manager.

    python bench/reports.py [--database-url URL] [--repeat 10] [--write-docs]

Reads the database the console benchmark generates (``python bench/console.py generate``:
a million orders over two years, their lines, fulfillment orders and shipments, with
PostgreSQL ``COPY``); it writes its login session and, when the dashboard's daily summary
does not hold the last 90 days yet, fills it first (``manage.py refresh_daily_summary``,
timed; the pages are then measured as beat keeps them: past days summarized, today
live). It stops with the command to run when the database lacks this round's migrations
(the summary table, the indexes on placement and shipping times). Logs in as the demo's
superuser (who sees what a manager sees) through Django's test client and, for the
dashboard (``/admin/``) and each report, over the last 30 days and the last 90 days,
makes a first request (its queries counted) and then up to ``--repeat`` timed ones within
``--budget`` seconds (p50/p95). ``--write-docs`` replaces the section "Dashboard and
reports at a million orders" in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.console import DEFAULT_DB, percentile, replace_section, setup_django  # noqa: E402

DOCS = ROOT / "docs" / "benchmarks.md"
SECTION = "## Dashboard and reports at a million orders"
TARGET_P95_MS = 1000.0
PERIODS = (("30 days", 30), ("90 days", 90))


def pages() -> list[tuple[str, str]]:
    from analytics.reports import REPORTS

    return [
        ("Dashboard", "/admin/"),
        *((kind.title, f"/admin/reports/{kind.slug}/") for kind in REPORTS),
    ]


def prepare_summary() -> float | None:
    """Fill the daily summary when it does not hold the last 90 days; its duration in
    seconds (None when it was already filled). Stops when the schema is behind."""
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor
    from django.utils import timezone

    from analytics import summary
    from analytics.models import DailySummaryDay

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT to_regclass('analytics_dailyordersummary'), to_regclass('order_placed_at'),"
            " to_regclass('shipment_shipped_at')"
        )
        missing = None in cursor.fetchone()
    if missing or MigrationExecutor(connection).migration_plan(
        MigrationExecutor(connection).loader.graph.leaf_nodes()
    ):
        raise SystemExit(
            "This database's schema is behind the code (the daily summary, its indexes or "
            "another migration). Migrate it first (a database generated before the summary "
            "and its indexes were written has their empty placeholders "
            "recorded as applied: `manage.py migrate analytics 0002 --fake && manage.py "
            "migrate orders 0027 --fake && manage.py migrate fulfillment 0008 --fake && "
            "manage.py migrate`, with DATABASE_URL set to it)."
        )
    today = timezone.localdate()
    held = DailySummaryDay.objects.filter(day__gte=today - dt.timedelta(days=90)).count()
    if held >= 90:
        return None
    began = time.perf_counter()
    days = summary.refresh_days(summary.days_with_orders())
    seconds = time.perf_counter() - began
    print(f"daily summary: {days} days filled in {seconds:.0f} s", flush=True)
    return seconds


def measure(database_url: str, repeat: int, budget: float) -> dict[str, Any]:
    setup_django(database_url)
    from django.contrib.auth.models import User
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, override_settings
    from django.utils import timezone

    from orders.models import Order, OrderLine

    summary_seconds = prepare_summary()

    client = Client()
    # A superuser sees what a manager sees (every panel and report), whether or not the
    # database's role groups were synced after the reports' permissions came.
    client.force_login(User.objects.filter(is_superuser=True).order_by("pk").first())
    today = timezone.localdate()
    results = []
    with override_settings(DEBUG=False):
        for name, url in pages():
            for period, days in PERIODS:
                start = today - dt.timedelta(days=days - 1)
                full = f"{url}?start_date={start}&end_date={today}"
                with CaptureQueriesContext(connection) as captured:
                    response = client.get(full)
                queries = len(captured.captured_queries)
                times: list[float] = []
                spent = 0.0
                for _ in range(repeat):
                    began = time.perf_counter()
                    client.get(full)
                    elapsed = time.perf_counter() - began
                    times.append(elapsed * 1000)
                    spent += elapsed
                    if spent > budget and len(times) >= 3:
                        break
                row = {
                    "name": name,
                    "period": period,
                    "status": response.status_code,
                    "queries": queries,
                    "p50": round(statistics.median(times), 1),
                    "p95": round(percentile(times, 0.95), 1),
                    "runs": len(times),
                }
                print(
                    f"{name:<28} {period:<8} {row['status']} q {queries:3} "
                    f"p50 {row['p50']:8.1f} ms  p95 {row['p95']:8.1f} ms ({len(times)} runs)",
                    flush=True,
                )
                results.append(row)
    return {
        "summary_seconds": summary_seconds,
        "orders": Order.objects.count(),
        "lines": OrderLine.objects.count(),
        "results": results,
        "load": os.getloadavg(),
        "cpus": os.cpu_count(),
        "when": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def markdown(measured: dict[str, Any], command: str) -> str:
    rows = "\n".join(
        f"| {r['name']} | {r['period']} | {r['queries']} | {r['p50']:,.0f} | {r['p95']:,.0f} | "
        f"{'yes' if r['p95'] < TARGET_P95_MS and r['status'] == 200 else 'NO'} |"
        for r in measured["results"]
    )
    load = ", ".join(f"{value:.1f}" for value in measured["load"])
    seconds = measured.get("summary_seconds")
    summarized = (
        f" (filled for this run in {seconds:,.0f} s by `manage.py refresh_daily_summary`)"
        if seconds
        else ""
    )
    return f"""{SECTION}

`{command}` (`bench/reports.py`) times the manager's dashboard and every report page on
the console benchmark's database ({measured["orders"]:,} orders, {measured["lines"]:,} lines
over two years, with their fulfillment orders and shipments; `bench/console.py generate`),
through Django's test client with the test settings, over the last 30 and the last 90
days. Target: p95 under 1 s. Measured {measured["when"]} on {measured["cpus"]} CPUs with a
load average of {load} (the machine is shared: the figures are upper bounds).

| Page | Period | Queries | p50 ms | p95 ms | Under 1 s |
| --- | --- | ---: | ---: | ---: | --- |
{rows}

Each page runs a fixed number of queries, whatever the orders in the period. The dashboard
reads its order figures (orders and revenue per day, cancellations, fill and return rates)
and sales by channel from the daily summary for past days and from the orders for today
(docs/analytics.md, "How it is computed"){summarized}; everything else reads the tables of
record through the indexes on the orders' placement time and the shipments' departure
time, and PostgreSQL adds up the shipping figures in one query each. Sales by SKU, by
category and by location group every order line of the period (a per-day-and-SKU summary
would hold about as many rows as the lines at 5,000 SKUs): they read the lines within the
period's range of order ids, taken from the placement-time index, instead of scanning all
three million. Every page runs in one transaction with 64 MB of work memory and no JIT
(`OMS_REPORTS_WORK_MEM`), so its sorts stay in memory; report pages show their first 500
rows (the downloads have all).
"""


def write_docs(text: str) -> None:
    replace_section(DOCS, SECTION, text)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument(
        "--database-url", default=os.environ.get("BENCH_CONSOLE_DATABASE_URL", DEFAULT_DB)
    )
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--budget", type=float, default=15.0, help="seconds per page and period")
    parser.add_argument("--write-docs", action="store_true")
    parser.add_argument("--command", default="python bench/reports.py")
    args = parser.parse_args(argv)
    measured = measure(args.database_url, args.repeat, args.budget)
    if args.write_docs:
        write_docs(markdown(measured, args.command))


if __name__ == "__main__":
    main()
