"""Load the demo data set: locations, carriers, catalogue, stock, customers, companies,
price lists and tax rates, historical orders, one staff login per role, demo API keys,
and a live operation (today's orders placed, routed, shipped, picked up, cancelled,
and drafts) written through the same services as production.

Safe to run again: only what is missing is written (see ``oms.demo.builders``).

The demo's staff logins have published passwords, so the seed refuses to run with
``DEBUG`` off (production settings) unless ``--allow-production`` says it is meant;
the users it then creates get random passwords, printed once. Carrier webhook
secrets are always random, printed when they are made (and by ``demo_logins``).
"""

import logging
import time
from argparse import ArgumentParser
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from analytics.summary import days_with_orders, refresh_days
from core.errors import DomainError
from oms.demo.builders import DEFAULT_CUSTOMERS, DEFAULT_LIVE_ORDERS, DEFAULT_ORDERS, DemoSeeder
from oms.demo.common import StepResult

# With no broker, the live orders' tasks (routing, e-mails, partners' packing slips) run
# inline and each logs a line at INFO; the seed's own table says what happened.
CHATTY_LOGGERS = ("celery.app.trace", "weasyprint", "fontTools")


@contextmanager
def quiet_inline_tasks(verbosity: int) -> Iterator[None]:
    loggers = [logging.getLogger(name) for name in CHATTY_LOGGERS] if verbosity < 2 else []
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(max(logger.getEffectiveLevel(), logging.WARNING))
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


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
        parser.add_argument(
            "--live-orders",
            type=int,
            default=DEFAULT_LIVE_ORDERS,
            help=f"Orders placed today through the services, then routed, partly shipped, "
            f"picked up or cancelled (default {DEFAULT_LIVE_ORDERS}; 0: no live operation).",
        )
        parser.add_argument(
            "--allow-production",
            action="store_true",
            help="Seed even though DEBUG is off. The demo users then get random passwords, "
            "printed once.",
        )
        parser.add_argument("--quiet", action="store_true", help="Print nothing.")

    def handle(self, *args: Any, **options: Any) -> None:
        orders, customers = options["orders"], options["customers"]
        live_orders = options["live_orders"]
        if orders < 0 or customers < 0 or live_orders < 0:
            raise CommandError("--orders, --customers and --live-orders take zero or more.")
        production = not settings.DEBUG
        if production and not options["allow_production"]:
            raise CommandError(
                "DEBUG is off: these look like production settings, and the demo data "
                "includes staff logins (a superuser among them). Nothing was written. "
                "For the demo, run with the local settings (DJANGO_SETTINGS_MODULE="
                "oms.settings.local, as `make run` does); to seed this database anyway, "
                "add --allow-production (the demo users then get random passwords)."
            )
        quiet = options["quiet"] or options["verbosity"] == 0
        started = time.perf_counter()
        if not quiet:
            self.stdout.write(
                f"Seeding the demo: {customers} customers, {orders} historical orders, "
                f"{live_orders} live orders."
            )
        seeder = DemoSeeder(
            orders=orders,
            customers=customers,
            live_orders=live_orders,
            report=None if quiet else self._row,
            random_passwords=production,
        )
        try:
            with quiet_inline_tasks(options["verbosity"]):
                results = seeder.run()
        except DomainError as exc:
            # The data set is fixed; a refusal means it and the services disagree.
            raise CommandError(f"The demo data was refused: {exc.message} {exc.details}") from exc
        except DatabaseError as exc:
            # Finished batches are committed; running the seed again resumes after them.
            raise CommandError(f"The database refused the demo data: {exc}") from exc
        # The dashboard reads past days from the daily summary: right from the first visit.
        refresh_days(days_with_orders())
        if quiet:
            return
        self._new_credentials(seeder)
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

    def _new_credentials(self, seeder: DemoSeeder) -> None:
        """What only this run can show: random passwords, new webhook secrets."""
        if seeder.random_passwords and seeder.new_passwords:
            self.stdout.write(
                self.style.WARNING(
                    "Staff logins with random passwords, shown this once (change them in "
                    "the admin, or with `manage.py changepassword USER`):"
                )
            )
            for username, password in seeder.new_passwords.items():
                self.stdout.write(f"  {username:<12} {password}")
        if seeder.new_webhook_secrets:
            self.stdout.write("New carrier webhook secrets (send as X-Carrier-Token):")
            for code, secret in seeder.new_webhook_secrets.items():
                self.stdout.write(f"  {code:<12} {secret}")

    def _row(self, result: StepResult) -> None:
        self.stdout.write(
            f"  {result.name:<18} {result.created:>6} created {result.existing:>6} already there"
            f" {result.seconds:>7.1f} s"
        )
