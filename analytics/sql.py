"""The raw SQL of the analytics app (PostgreSQL only; SQLite serializes writers anyway)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.db import connection, connections, transaction

from fulfillment.models import FulfillmentOrder, Shipment
from inventory.models import Location
from orders.models import Order
from shipping.models import Carrier

# One key for every refresh of the daily summary (the single-key form of advisory locks,
# a space apart from the two-key locks of the orders app).
DAILY_SUMMARY_LOCK = 0x0A7A_1D5C


def lock_daily_summary() -> None:
    """Wait for any other refresh of the daily summary to commit: refreshes of the same
    days then run one after the other, each on the orders as the last one left them.
    Held until the end of the transaction."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [DAILY_SUMMARY_LOCK])


# --- shipping figures ------------------------------------------------------------------
# Aggregated in PostgreSQL: a quarter of a million shipments is a few hundred kilobytes of
# totals instead of a row each for Python to convert. The on-time test reads the shipment's
# time on the clock of the location that shipped it (its time zone, or the reader's zone
# when it has none), as ``analytics.selectors`` does on other databases.


def _tables() -> dict[str, str]:
    return {
        "shipment": Shipment._meta.db_table,
        "fo": FulfillmentOrder._meta.db_table,
        "order": Order._meta.db_table,
        "location": Location._meta.db_table,
        "carrier": Carrier._meta.db_table,
    }


def _narrowing(channel: str, location_id: int | None, params: dict[str, Any]) -> str:
    where = ""
    if channel:
        where += " AND o.channel = %(channel)s"
        params["channel"] = channel
    if location_id is not None:
        where += " AND fo.location_id = %(location)s"
        params["location"] = location_id
    return where


def first_shipment_totals(
    alias: str,
    start_at: dt.datetime,
    end_at: dt.datetime,
    zone: str,
    *,
    channel: str = "",
    location_id: int | None = None,
) -> list[tuple[str | None, int, int, float, float | None, float | None]]:
    """Fulfillment orders (of placed orders) whose first shipment left from ``start_at``
    up to ``end_at``, per location code and (code None) in all: (code, shipped, on time,
    hours from placement to that shipment summed, p50 hours, p90 hours). One query."""
    params: dict[str, Any] = {"start": start_at, "end": end_at, "zone": zone}
    narrowing = _narrowing(channel, location_id, params)
    query = """
        WITH firsts AS (
            -- The period's shipments (by the shipped_at index) that are their fulfillment
            -- order's first: no earlier one (by time, then id, so one per order).
            SELECT s.fulfillment_order_id AS id, s.shipped_at
            FROM {shipment} s
            WHERE s.shipped_at >= %(start)s AND s.shipped_at < %(end)s
            AND NOT EXISTS (
                SELECT 1 FROM {shipment} e
                WHERE e.fulfillment_order_id = s.fulfillment_order_id
                AND (e.shipped_at, e.id) < (s.shipped_at, s.id)
            )
        ),
        facts AS (
            SELECT
                l.code,
                (f.shipped_at AT TIME ZONE COALESCE(NULLIF(l.time_zone, ''), %(zone)s))::date
                    <= fo.ship_by_date AS on_time,
                GREATEST(EXTRACT(EPOCH FROM f.shipped_at - o.placed_at), 0)::float8 / 3600
                    AS hours
            FROM firsts f
            JOIN {fo} fo ON fo.id = f.id
            JOIN {order} o ON o.id = fo.order_id
            JOIN {location} l ON l.id = fo.location_id
            WHERE o.placed_at IS NOT NULL{narrowing}
        )
        SELECT code, COUNT(*), COUNT(*) FILTER (WHERE on_time), SUM(hours),
            percentile_cont(0.5) WITHIN GROUP (ORDER BY hours),
            percentile_cont(0.9) WITHIN GROUP (ORDER BY hours)
        FROM facts
        GROUP BY GROUPING SETS ((code), ())
        ORDER BY code NULLS FIRST
    """.format(**_tables(), narrowing=narrowing)  # noqa: S608 - table names and fixed SQL
    with connections[alias].cursor() as cursor:
        cursor.execute(query, params)
        return [
            (code, int(n), int(ok), float(hours or 0), p50, p90)
            for code, n, ok, hours, p50, p90 in cursor.fetchall()
        ]


def carrier_totals(
    alias: str,
    start_at: dt.datetime,
    end_at: dt.datetime,
    zone: str,
    *,
    channel: str = "",
    location_id: int | None = None,
) -> list[tuple[str | None, int, int, int, float]]:
    """Shipments that left from ``start_at`` up to ``end_at``, per carrier name (None: no
    carrier): (name, shipments, on time, delivered, days in transit of those delivered
    summed). One query."""
    params: dict[str, Any] = {"start": start_at, "end": end_at, "zone": zone}
    narrowing = _narrowing(channel, location_id, params)
    query = """
        SELECT c.name, COUNT(*),
            COUNT(*) FILTER (WHERE
                (s.shipped_at AT TIME ZONE COALESCE(NULLIF(l.time_zone, ''), %(zone)s))::date
                <= fo.ship_by_date),
            COUNT(s.delivered_at),
            SUM(GREATEST(EXTRACT(EPOCH FROM s.delivered_at - s.shipped_at), 0)::float8 / 86400)
        FROM {shipment} s
        JOIN {fo} fo ON fo.id = s.fulfillment_order_id
        JOIN {order} o ON o.id = s.order_id
        JOIN {location} l ON l.id = fo.location_id
        LEFT JOIN {carrier} c ON c.id = s.carrier_id
        WHERE s.shipped_at >= %(start)s AND s.shipped_at < %(end)s{narrowing}
        GROUP BY c.name
    """.format(**_tables(), narrowing=narrowing)  # noqa: S608 - table names and fixed SQL
    with connections[alias].cursor() as cursor:
        cursor.execute(query, params)
        return [
            (name, int(n), int(ok), int(done), float(days or 0))
            for name, n, ok, done, days in cursor.fetchall()
        ]


# --- the orders of a period, as a range of ids ---------------------------------------
# Orders are numbered as they come, so the orders placed in a period are nearly a range of
# ids. That range bounds the scan of their lines (and their fulfillment orders and
# lines): an index range over a tenth of a table instead of a scan of all of it. It is
# only a bound: the period's own condition still decides, so an order placed long after it
# was created (a draft) widens the range, never loses a row.


def placed_order_id_range(database: str, start: dt.datetime, end: dt.datetime) -> tuple[int, int]:
    """The lowest and highest id of the orders placed in ``[start, end)``; (0, -1) when
    there are none. On PostgreSQL, from the placement-time index alone (it carries the
    ids): ``OFFSET 0`` keeps the planner from turning min/max into a walk of the primary
    key that filters every older order."""
    table = Order._meta.db_table
    sql = (
        f"SELECT min(id), max(id) FROM (SELECT id FROM {table} "  # noqa: S608 - table name
        "WHERE placed_at >= %s AND placed_at < %s OFFSET 0) AS placed"
    )
    if connections[database].vendor != "postgresql":
        sql = f"SELECT min(id), max(id) FROM {table} WHERE placed_at >= %s AND placed_at < %s"  # noqa: S608
    with connections[database].cursor() as cursor:
        cursor.execute(sql, [start, end])
        low, high = cursor.fetchone()
    return (low, high) if low is not None else (0, -1)


# --- the session a report's queries run in ---------------------------------------------


@contextmanager
def report_session(database: str) -> Iterator[None]:
    """Run a page's report queries in one transaction with the memory a report needs.

    A report groups a few hundred thousand rows (a quarter's lines by SKU, counting
    distinct orders): with PostgreSQL's default ``work_mem`` of 4 MB those sorts spill to
    disk. ``OMS_REPORTS_WORK_MEM`` (default 64MB) is given to this transaction only, so the
    order-taking connections keep the server's default. JIT compilation is turned off
    for it too: on these queries it cost a fifth of the time and saved nothing."""
    if connections[database].vendor != "postgresql":
        yield
        return
    with transaction.atomic(using=database), connections[database].cursor() as cursor:
        cursor.execute(
            "SELECT set_config('work_mem', %s, true), set_config('jit', 'off', true)",
            [settings.OMS_REPORTS_WORK_MEM],
        )
        yield
