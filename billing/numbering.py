"""Gap-free document numbers: ``INV-2026-000123``, ``CN-2026-000004``.

A database sequence would leave gaps (a rolled-back transaction burns its value), and
an invoice register must not have any. Each (series, year) has a ``DocumentSeries``
counter row instead: ``next_number`` creates it or increments it in one statement,
which leaves the row locked (as ``SELECT … FOR UPDATE`` would) until the document's
transaction ends. A rollback undoes the increment with the document; a concurrent
issuer of the same series waits for the commit and takes the next number.

Lock order: the counter row is the last lock of the transaction that takes it, and it
is taken just before the document is inserted, so that issuers queue on it as briefly
as possible.
"""

import datetime as dt

from django.db import connection

from .sql import next_number_sql

INVOICE_SERIES = "INV"
CREDIT_NOTE_SERIES = "CN"


def format_number(series: str, year: int, number: int) -> str:
    return f"{series}-{year}-{number:06d}"


def next_number(series: str, issue_date: dt.date) -> str:
    """The next number of ``series`` in the year of ``issue_date``. Must run inside the
    transaction that writes the document (its counter row stays locked until then)."""
    if not connection.in_atomic_block:
        raise RuntimeError("document numbers are taken inside the document's transaction")
    with connection.cursor() as cursor:
        cursor.execute(next_number_sql(), [series, issue_date.year])
        (number,) = cursor.fetchone()
    return format_number(series, issue_date.year, number)
