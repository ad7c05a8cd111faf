"""Reports read from a replica when there is one.

``REPORTS_DATABASE_URL`` adds a ``reports`` database (a read replica of the default one);
the reports pages, their exports and the dashboard read from it, everything else from
the default database. Without it, ``reports_database()`` is the default database. The
router keeps migrations and writes off the replica.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

REPORTS = "reports"


def reports_database() -> str:
    """The database alias the reports read from."""
    return REPORTS if REPORTS in settings.DATABASES else "default"


class ReportsRouter:
    """Nothing is read from or written to the replica unless asked for by name
    (``using(reports_database())``); it is never migrated (it follows the default)."""

    def db_for_read(self, model: type, **hints: Any) -> str | None:
        return None

    def db_for_write(self, model: type, **hints: Any) -> str | None:
        return "default"

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool | None:
        return True

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool | None:
        return db != REPORTS
