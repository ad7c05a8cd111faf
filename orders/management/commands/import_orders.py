from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.actors import Actor
from orders.imports import (
    ImportFileError,
    ImportLimits,
    describe_size,
    import_orders,
    read_dataset,
)


class Command(BaseCommand):
    help = (
        "Import orders from a CSV or XLSX file (one row per line, grouped by order_ref). "
        "Prints one line per order; exits non-zero when the file is refused or any "
        "order is refused."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path")
        parser.add_argument("--channel", default="import", choices=["import", "marketplace"])
        parser.add_argument("--commit", action="store_true", help="Write; without it, dry run.")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["path"])
        if not path.is_file():
            raise CommandError(f"No file {path}.")
        # Refused before it is read into memory, like an upload over the limit.
        limit = ImportLimits.current().file_bytes
        if path.stat().st_size > limit:
            raise CommandError(f"The file is larger than {describe_size(limit)}; split it.")
        try:
            dataset = read_dataset(path.read_bytes(), path.name)
            report = import_orders(
                dataset,
                channel=options["channel"],
                actor=Actor.system("import command"),
                dry_run=not options["commit"],
            )
        except ImportFileError as exc:
            raise CommandError(exc.message) from exc
        for result in report.orders:
            rows = ",".join(str(r) for r in result.rows)
            if result.skipped:
                self.stdout.write(f"SKIP  {result.reference} (rows {rows}): already imported")
            elif result.ok:
                self.stdout.write(f"OK    {result.reference} (rows {rows}) {result.order_number}")
            else:
                self.stdout.write(
                    f"ERROR {result.reference} (rows {rows}): {'; '.join(result.errors)}"
                )
        mode = "dry run" if report.dry_run else "imported"
        self.stdout.write(
            f"{mode}: {report.valid} ok, {report.failed} with errors, {report.skipped} skipped"
        )
        if report.failed:
            raise CommandError(
                f"{report.failed} order(s) refused; see the lines marked ERROR above."
            )
