"""``manage.py export_journal --from 2026-11-01 --to 2026-11-30 [--format csv|xlsx]
[--output FILE]``: the journal of a date range for the ledger (``billing.journal``)."""

import datetime as dt
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from billing.journal import FORMATS, journal_file


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"{value!r} is not a date (YYYY-MM-DD).") from exc


class Command(BaseCommand):
    help = (
        "Write the journal (one balanced group of debit and credit rows per invoice and "
        "credit note) of a date range, inclusive, as CSV or XLSX."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--from", dest="date_from", required=True, help="YYYY-MM-DD")
        parser.add_argument("--to", dest="date_to", required=True, help="YYYY-MM-DD")
        parser.add_argument("--format", dest="file_format", choices=FORMATS, default="csv")
        parser.add_argument(
            "--output", default="", help="The file to write (CSV goes to stdout without one)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        date_from, date_to = _date(options["date_from"]), _date(options["date_to"])
        if date_from > date_to:
            raise CommandError("--from is after --to.")
        file_format, output = options["file_format"], options["output"]
        if file_format == "xlsx" and not output:
            raise CommandError("An XLSX journal needs --output FILE.")
        content = journal_file(date_from, date_to, file_format)
        if output:
            Path(output).write_bytes(content)
            self.stderr.write(f"Journal {date_from} to {date_to} written to {output}.")
        else:
            self.stdout.write(content.decode(), ending="")
