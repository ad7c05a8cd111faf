"""``manage.py refresh_daily_summary [--since YYYY-MM-DD] [--until YYYY-MM-DD]``: fill or
rebuild the dashboard's daily summary (``analytics.summary``) for a period, by default
every day from the first order placed to yesterday (a backfill of an existing database).
Safe to run while beat refreshes it and to run again."""

import datetime as dt
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from analytics import summary


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"{value!r} is not a date (YYYY-MM-DD).") from exc


class Command(BaseCommand):
    help = (
        "Recompute the daily summary of the orders for a period, both days included "
        "(default: from the first order placed to yesterday; today is always read live)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--since", default="", help="First day, YYYY-MM-DD")
        parser.add_argument("--until", default="", help="Last day, YYYY-MM-DD (default yesterday)")

    def handle(self, *args: Any, **options: Any) -> None:
        since = _date(options["since"]) if options["since"] else None
        until = _date(options["until"]) if options["until"] else None
        if since and until and since > until:
            raise CommandError("--since is after --until.")
        started = time.perf_counter()
        days = summary.refresh_days(summary.days_with_orders(since, until))
        if options["verbosity"]:
            self.stdout.write(
                f"Daily summary: {days} days refreshed in {time.perf_counter() - started:.1f} s."
            )
