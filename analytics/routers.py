"""Reports read from a replica when there is one.

``REPORTS_DATABASE_URL`` adds a ``reports`` database (a read replica of the default one);
the reports pages read from it (``using(reports_database())``), and so does every read
made inside ``reading_reports()`` (the dashboard); everything else reads the default
database. Without it, both are the default database. The router keeps migrations and
writes off the replica.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.conf import settings

REPORTS = "reports"


def reports_database() -> str:
    """The database alias the reports read from."""
    return REPORTS if REPORTS in settings.DATABASES else "default"


_reading_reports: ContextVar[bool] = ContextVar("reading_reports", default=False)


@contextmanager
def reading_reports() -> Iterator[None]:
    """Reads made inside go to the reports database (writes still go to the default)."""
    token = _reading_reports.set(True)
    try:
        yield
    finally:
        _reading_reports.reset(token)


class ReportsRouter:
    """Nothing is read from the replica but what is asked for by name or read inside
    ``reading_reports()``; nothing is written to it, and it is never migrated (it follows
    the default)."""

    def db_for_read(self, model: type, **hints: Any) -> str | None:
        return reports_database() if _reading_reports.get() else None

    def db_for_write(self, model: type, **hints: Any) -> str | None:
        return "default"

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool | None:
        return True

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool | None:
        return db != REPORTS
