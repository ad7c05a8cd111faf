"""Demo integration credentials: an API key for the first demo company, one for the
dropship vendor, and fixed tracking-webhook secrets for the demo carriers.

OMS stores only a hash of an API key and shows the key once, when it is issued, so
the seed writes the keys it issues to a private file (``var/demo-api-keys.txt`` by
default; ``var/`` is not versioned) for ``demo_logins`` to print. Setting
``OMS_DEMO_KEYS_FILE`` moves it (the tests do).
"""

from __future__ import annotations

import os
from pathlib import Path

from django.conf import settings
from django.db import transaction

from customers.api_keys import create_api_key, create_vendor_api_key, find_active_key
from customers.models import ApiKey, Company
from fulfillment.models import Carrier
from inventory.models import Location

from .data import CARRIERS, COMPANIES, DEMO_WEBHOOK_SECRET_PREFIX, DROPSHIP_VENDOR_CODE

COMPANY_KEY_NAME = "Demo integration"
VENDOR_KEY_NAME = "Demo vendor portal"
COMPANY_ACCOUNT = COMPANIES[0].account_number
FILE_HEADER = (
    "# OMS demo API keys, written by `manage.py seed_demo`. OMS keeps only their hashes,\n"
    "# so this file is the only copy: keep it private. `manage.py demo_logins` prints them.\n"
)


def keys_file() -> Path:
    return Path(
        getattr(settings, "OMS_DEMO_KEYS_FILE", settings.BASE_DIR / "var" / "demo-api-keys.txt")
    )


def read_keys_file(path: Path | None = None) -> dict[str, str]:
    """The ``NAME=value`` lines of the keys file; empty when there is none."""
    path = path or keys_file()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    values = {}
    for line in text.splitlines():
        name, sep, value = line.partition("=")
        if sep and not name.startswith("#"):
            values[name.strip()] = value.strip()
    return values


def _write_keys_file(path: Path, values: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    body = FILE_HEADER + "".join(f"{name}={value}\n" for name, value in values.items())
    # Readable by its owner only, from the moment it exists.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(body)


@transaction.atomic
def ensure_demo_api_keys() -> tuple[int, int]:
    """Issue the demo keys that do not exist yet; returns (created, already there).

    A key counts as existing by its name, even revoked: an operator who revoked it
    meant it. The file is written inside the transaction, so a key is never issued
    without its only copy being kept.
    """
    path = keys_file()
    values = read_keys_file(path)
    created = existing = 0
    company = Company.objects.filter(account_number=COMPANY_ACCOUNT).first()
    if company is not None:
        if ApiKey.objects.filter(company=company, name=COMPANY_KEY_NAME).exists():
            existing += 1
        else:
            issued = create_api_key(company=company, name=COMPANY_KEY_NAME)
            values.update(COMPANY_ACCOUNT=company.account_number, COMPANY_API_KEY=issued.raw_key)
            created += 1
    vendor = Location.objects.filter(code=DROPSHIP_VENDOR_CODE).first()
    if vendor is not None:
        if ApiKey.objects.filter(vendor=vendor, name=VENDOR_KEY_NAME).exists():
            existing += 1
        else:
            issued = create_vendor_api_key(vendor=vendor, name=VENDOR_KEY_NAME)
            values.update(VENDOR_CODE=vendor.code, VENDOR_API_KEY=issued.raw_key)
            created += 1
    if created:
        _write_keys_file(path, values)
    return created, existing


def active_demo_keys() -> dict[str, str]:
    """The keys of the file that still open the API (not revoked, owner active)."""
    values = read_keys_file()
    for name in ("COMPANY_API_KEY", "VENDOR_API_KEY"):
        raw = values.get(name, "")
        if raw and find_active_key(raw) is None:
            values.pop(name)
    return values


def demo_webhook_secret(carrier_code: str) -> str:
    return f"{DEMO_WEBHOOK_SECRET_PREFIX}{carrier_code.lower()}"


@transaction.atomic
def ensure_webhook_secrets() -> tuple[int, int]:
    """Give each demo carrier without a webhook secret its demo secret.

    No service edits carriers' settings (the admin does); a secret an operator set is
    left alone. Returns (set, already set).
    """
    created = existing = 0
    for carrier in Carrier.objects.filter(code__in=[spec.code for spec in CARRIERS]):
        if carrier.webhook_secret:
            existing += 1
            continue
        carrier.webhook_secret = demo_webhook_secret(carrier.code)
        carrier.save(update_fields=["webhook_secret"])
        created += 1
    return created, existing
