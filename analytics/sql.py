"""The raw SQL of the analytics app (PostgreSQL only; SQLite serializes writers anyway)."""

from __future__ import annotations

from django.db import connection

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
