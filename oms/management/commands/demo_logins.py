"""Print where to log in and the demo staff logins.

A password is shown only while the user still has its demo password, so a deployment
whose operators changed theirs never prints anything secret.
"""

from argparse import ArgumentParser
from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand
from django.urls import reverse

from oms.demo.users import DEMO_USERS

DEFAULT_URL = "http://127.0.0.1:8000"


class Command(BaseCommand):
    help = "Print the admin URL and the demo logins (one per staff role, plus a superuser)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--url", default=DEFAULT_URL, help=f"Where OMS is served (default {DEFAULT_URL})."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        admin_url = options["url"].rstrip("/") + reverse("admin:index")
        users = {
            user.username: user
            for user in User.objects.filter(username__in=[spec.username for spec in DEMO_USERS])
        }
        rows = [("username", "password", "role")]
        for spec in DEMO_USERS:
            user = users.get(spec.username)
            if user is None:
                shown = "(not created: run seed_demo)"
            elif not user.is_active:
                shown = "(deactivated)"
            elif user.check_password(spec.password):
                shown = spec.password
            else:
                shown = "(password changed)"
            rows.append((spec.username, shown, spec.role_label))
        widths = [max(len(row[column]) for row in rows) for column in range(3)]
        self.stdout.write(f"OMS back office: {admin_url}")
        self.stdout.write("Demo logins:")
        for position, row in enumerate(rows):
            self.stdout.write(
                "  "
                + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
            )
            if position == 0:
                self.stdout.write("  " + "  ".join("-" * w for w in widths))
