"""Demo integration credentials: an API key for the first demo company, one for the
dropship vendor, and a random tracking-webhook secret for each demo carrier.

OMS stores only a hash of an API key and shows the key once, when it is issued, so
the seed writes the keys it issues to a private file (``var/demo-api-keys.txt`` by
default; ``var/`` is not versioned) for ``demo_logins`` to print. The carriers'
webhook secrets go to the same file. Setting ``OMS_DEMO_KEYS_FILE`` moves it (the
tests do).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from django.conf import settings
from django.db import transaction

from customers.api_keys import create_api_key, create_vendor_api_key, find_active_key
from customers.models import ApiKey, Company
from inventory.models import Location
from shipping.models import Carrier

from .data import CARRIERS, COMPANIES, DROPSHIP_VENDOR_CODE

COMPANY_KEY_NAME = "Demo integration"
VENDOR_KEY_NAME = "Demo vendor portal"
COMPANY_ACCOUNT = COMPANIES[0].account_number
FILE_HEADER = (
    "# OMS demo API keys and carrier webhook secrets, written by `manage.py seed_demo`.\n"
    "# OMS keeps only the keys' hashes, so this file is their only copy: keep it private.\n"
    "# `manage.py demo_logins` prints them.\n"
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


# Earlier versions of the seed gave each demo carrier this published secret plus its
# code: anyone could post its tracking events. A carrier still on it gets a new one.
PUBLISHED_WEBHOOK_SECRET_PREFIX = "demo-webhook-"  # noqa: S105 - the leaked value


def webhook_secret_name(carrier_code: str) -> str:
    """The keys file's name for a carrier's webhook secret."""
    return f"CARRIER_{carrier_code.upper()}_WEBHOOK_SECRET"


def demo_webhook_secrets() -> dict[str, str]:
    """The webhook secrets the seed generated that the carriers still use, by code."""
    values = read_keys_file()
    carriers = Carrier.objects.filter(code__in=[spec.code for spec in CARRIERS]).order_by("code")
    return {
        carrier.code: carrier.webhook_secret
        for carrier in carriers
        if carrier.webhook_secret
        and values.get(webhook_secret_name(carrier.code)) == carrier.webhook_secret
    }


@transaction.atomic
def ensure_webhook_secrets() -> tuple[dict[str, str], int]:
    """Give each demo carrier without a webhook secret (or still on the published one) a
    random secret, kept in the keys file; returns (the new secrets by carrier code, how
    many carriers already had their own).

    No service edits carriers' settings (the admin does); a secret an operator set is
    left alone. As for the API keys, the file is written inside the transaction.
    """
    path = keys_file()
    values = read_keys_file(path)
    issued: dict[str, str] = {}
    existing = 0
    for carrier in Carrier.objects.filter(code__in=[spec.code for spec in CARRIERS]).order_by(
        "code"
    ):
        published = PUBLISHED_WEBHOOK_SECRET_PREFIX + carrier.code.lower()
        if carrier.webhook_secret and carrier.webhook_secret != published:
            existing += 1
            continue
        carrier.webhook_secret = secrets.token_urlsafe(32)
        carrier.save(update_fields=["webhook_secret"])
        issued[carrier.code] = carrier.webhook_secret
        values[webhook_secret_name(carrier.code)] = carrier.webhook_secret
    if issued:
        _write_keys_file(path, values)
    return issued, existing
