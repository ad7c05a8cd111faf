"""Demo staff logins: one per role, plus a superuser.

The passwords are defined here once; ``seed_demo`` creates the users with them and
``demo_logins`` prints them only while a user still has its demo password. Seeding
with ``DEBUG`` off (``--allow-production``) gives them random passwords instead,
printed once by the seed.
"""

import secrets
from dataclasses import dataclass

from django.contrib.auth.models import Group, User
from django.db import transaction

from inventory.models import Location, StaffLocation
from oms.roles import sync_staff_groups

from .common import StepResult


@dataclass(frozen=True)
class DemoUser:
    username: str
    password: str
    first_name: str
    last_name: str
    group: str | None  # a role from ``oms.roles``; None for the superuser
    is_superuser: bool = False

    @property
    def email(self) -> str:
        return f"{self.username}@example.com"

    @property
    def role_label(self) -> str:
        return "superuser" if self.is_superuser else str(self.group)


# Fixed, public demo passwords: the demo is meant to be logged into from its README.
# Anyone running it in earnest changes them (``demo_logins`` then stops printing them).
DEMO_USERS: tuple[DemoUser, ...] = (
    DemoUser("agent", "demo-agent-2026", "Alex", "Rivera", "agent"),
    DemoUser("sales", "demo-sales-2026", "Sam", "Okafor", "sales_rep"),
    DemoUser("warehouse", "demo-warehouse-2026", "Wes", "Nakamura", "warehouse"),
    DemoUser("finance", "demo-finance-2026", "Fran", "Lindqvist", "finance"),
    DemoUser("risk", "demo-risk-2026", "Riley", "Chen", "risk"),
    DemoUser("manager", "demo-manager-2026", "Morgan", "Hayes", "manager"),
    DemoUser("admin", "demo-admin-2026", "Ada", "Admin", None, is_superuser=True),
)

# Where demo staff work: the fulfillment queue opens on these locations' work.
DEMO_STAFF_LOCATIONS: tuple[tuple[str, str], ...] = (("warehouse", "DC-NJ"),)


@transaction.atomic
def ensure_demo_users(*, random_passwords: bool = False) -> tuple[dict[str, str], int]:
    """Create the missing demo users; returns (the created users' passwords by username,
    how many were already there).

    With ``random_passwords`` each new user gets a random password rather than its
    published demo one. An existing user is left exactly as it is (password, groups,
    flags): whoever runs the demo may have changed it on purpose.
    """
    # The groups normally exist after ``migrate``; syncing again costs nothing and
    # makes the seed independent of how the database was created.
    sync_staff_groups()
    existing = set(
        User.objects.filter(username__in=[u.username for u in DEMO_USERS]).values_list(
            "username", flat=True
        )
    )
    created: dict[str, str] = {}
    for spec in DEMO_USERS:
        if spec.username in existing:
            continue
        password = secrets.token_urlsafe(12) if random_passwords else spec.password
        user = User.objects.create_user(
            username=spec.username,
            email=spec.email,
            password=password,
            first_name=spec.first_name,
            last_name=spec.last_name,
            is_staff=True,
            is_superuser=spec.is_superuser,
        )
        if spec.group:
            user.groups.add(Group.objects.get(name=spec.group))
        created[spec.username] = password
    return created, len(existing)


@transaction.atomic
def assign_demo_staff_locations(result: StepResult) -> None:
    """Assign demo staff to their locations. A user who already has any location keeps
    exactly the ones they have: whoever runs the demo may have changed them on purpose."""
    for username, code in DEMO_STAFF_LOCATIONS:
        user = User.objects.filter(username=username).first()
        location = Location.objects.filter(code=code).first()
        if user is None or location is None:
            continue
        if StaffLocation.objects.filter(user=user).exists():
            result.existing += 1
            continue
        StaffLocation.objects.create(user=user, location=location)
        result.created += 1
