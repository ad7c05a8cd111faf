"""Check the database's invariants; print each violation and exit non-zero if any.

Stock buckets equal their ledger sums, network availability and commitments equal
what the locations and the open orders say, no bucket is negative, order lines'
buckets add up, no line is sent to locations twice, and no outbox event waits too
long (see ``oms.integrity``). Read-only: safe to run against production.
"""

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from oms.integrity import DEFAULT_OUTBOX_MAX_AGE, check_integrity


class Command(BaseCommand):
    help = "Check stock, order and outbox invariants; exit 1 if any is violated."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--outbox-max-age",
            type=float,
            default=DEFAULT_OUTBOX_MAX_AGE.total_seconds() / 60,
            metavar="MINUTES",
            help="Report unpublished outbox events older than this (default: %(default)s).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        violations = check_integrity(outbox_max_age=timedelta(minutes=options["outbox_max_age"]))
        for violation in violations:
            self.stdout.write(str(violation))
        if violations:
            raise CommandError(f"{len(violations)} integrity violations.")
        self.stdout.write(self.style.SUCCESS("Integrity check passed: no violations."))
