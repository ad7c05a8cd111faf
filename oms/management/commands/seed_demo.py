"""Load the demo data set: locations, carriers, catalogue, stock, customers, companies,
historical orders and one staff login per role.

Safe to run again: only what is missing is written (see ``oms.demo.builders``).
"""

import time
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from oms.core.errors import DomainError
from oms.demo.builders import DEFAULT_CUSTOMERS, DEFAULT_ORDERS, DemoSeeder, StepResult


class Command(BaseCommand):
    help = "Load the demo data set. Safe to run again: only what is missing is written."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--orders",
            type=int,
            default=DEFAULT_ORDERS,
            help=f"Historical orders over the last 180 days (default {DEFAULT_ORDERS}).",
        )
        parser.add_argument(
            "--customers",
            type=int,
            default=DEFAULT_CUSTOMERS,
            help=f"B2C customers (default {DEFAULT_CUSTOMERS}); company buyers come on top.",
        )
        parser.add_argument("--quiet", action="store_true", help="Print nothing.")

    def handle(self, *args: Any, **options: Any) -> None:
        orders, customers = options["orders"], options["customers"]
        if orders < 0 or customers < 0:
            raise CommandError("--orders and --customers take zero or more.")
        quiet = options["quiet"] or options["verbosity"] == 0
        started = time.perf_counter()
        if not quiet:
            self.stdout.write(f"Seeding the demo: {customers} customers, {orders} orders.")
        seeder = DemoSeeder(orders=orders, customers=customers, report=None if quiet else self._row)
        try:
            results = seeder.run()
        except DomainError as exc:
            # The data set is fixed; a refusal means it and the services disagree.
            raise CommandError(f"The demo data was refused: {exc.message} {exc.details}") from exc
        except DatabaseError as exc:
            # Finished batches are committed; running the seed again resumes after them.
            raise CommandError(f"The database refused the demo data: {exc}") from exc
        if quiet:
            return
        elapsed = time.perf_counter() - started
        if not any(result.created for result in results):
            self.stdout.write(
                self.style.SUCCESS(
                    f"Nothing to do: the demo data set is already in place ({elapsed:.1f} s)."
                )
            )
        else:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Demo data ready in {elapsed:.1f} s. The logins: python manage.py demo_logins"
                )
            )

    def _row(self, result: StepResult) -> None:
        self.stdout.write(
            f"  {result.name:<18} {result.created:>6} created {result.existing:>6} already there"
            f" {result.seconds:>7.1f} s"
        )
