"""Audit history (django-simple-history) attributes changes to staff users only.

API clients are not ``User`` rows; their changes are recorded by the services' own
events and ledgers, so the history row carries no user for them.
"""

from typing import Any

from django.contrib.auth.models import User
from simple_history.models import HistoricalRecords


def staff_user(request: Any = None, **kwargs: Any) -> User | None:
    user = getattr(request, "user", None)
    return user if isinstance(user, User) else None


def audit_history(**kwargs: Any) -> HistoricalRecords:
    return HistoricalRecords(get_user=staff_user, **kwargs)
