"""Issuing, checking and revoking B2B API keys."""

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from core import rows
from core.errors import InvalidInput, NotFound
from inventory.models import Location, LocationKind

from .models import ApiKey, Company, Customer
from .sql import active_key_sql

KEY_PREFIX = "oms"


def hash_key(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedKey:
    api_key: ApiKey
    raw_key: str


@transaction.atomic
def create_api_key(*, company: Company, name: str, buyer: Customer | None = None) -> IssuedKey:
    """Issue a key for ``company``. The raw key is returned once and never stored.

    Orders placed with it are recorded for ``buyer`` (default: the company's first
    active buyer), who must belong to the company.
    """
    if not company.is_active:
        raise InvalidInput(f"{company.name} is not active.")
    if buyer is None:
        buyer = company.buyers.filter(is_active=True).order_by("id").first()
        if buyer is None:
            raise InvalidInput(f"{company.name} has no buyer to place orders for.")
    elif buyer.company_id != company.pk:
        raise InvalidInput(f"{buyer.email} is not a buyer of {company.name}.")
    prefix = secrets.token_hex(6)
    raw_key = f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    api_key = ApiKey.objects.create(
        company=company,
        buyer=buyer,
        name=name.strip() or "API key",
        prefix=prefix,
        key_hash=hash_key(raw_key),
    )
    return IssuedKey(api_key=api_key, raw_key=raw_key)


@transaction.atomic
def create_vendor_api_key(*, vendor: Location, name: str) -> IssuedKey:
    """Issue a key for a dropship vendor or 3PL to confirm its fulfillment orders."""
    if vendor.kind not in (LocationKind.DROPSHIP_VENDOR, LocationKind.THIRD_PARTY):
        raise InvalidInput(f"{vendor.code} is not a dropship vendor or 3PL.")
    prefix = secrets.token_hex(6)
    raw_key = f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    api_key = ApiKey.objects.create(
        vendor=vendor,
        name=name.strip() or "vendor key",
        prefix=prefix,
        key_hash=hash_key(raw_key),
    )
    return IssuedKey(api_key=api_key, raw_key=raw_key)


@transaction.atomic
def create_storefront_api_key(*, name: str) -> IssuedKey:
    """Issue a key for the web storefront, which places B2C orders for the customers
    it names in each order."""
    prefix = secrets.token_hex(6)
    raw_key = f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    api_key = ApiKey.objects.create(
        is_storefront=True,
        name=name.strip() or "storefront",
        prefix=prefix,
        key_hash=hash_key(raw_key),
    )
    return IssuedKey(api_key=api_key, raw_key=raw_key)


@transaction.atomic
def create_erp_api_key(*, name: str) -> IssuedKey:
    """Issue a key for an ERP or back-office system: it records purchase orders and
    their receipts for any location, and nothing else (no orders, no fulfillment)."""
    prefix = secrets.token_hex(6)
    raw_key = f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    api_key = ApiKey.objects.create(
        is_erp=True,
        name=name.strip() or "ERP",
        prefix=prefix,
        key_hash=hash_key(raw_key),
    )
    return IssuedKey(api_key=api_key, raw_key=raw_key)


def find_active_key(raw_key: str) -> ApiKey | None:
    """The active key matching ``raw_key`` with its company, buyer and vendor loaded,
    or None. One query."""
    parts = raw_key.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX:
        return None
    found = rows.fetch(active_key_sql(), [parts[1]])
    if not found:
        return None
    row = found[0]
    api_key = rows.instance(ApiKey, row)
    assert api_key is not None  # noqa: S101 - the key's own columns are never NULL
    if not hmac.compare_digest(api_key.key_hash, hash_key(raw_key)):
        return None
    offset = rows.width(ApiKey)
    company = rows.instance(Company, row, offset)
    offset += rows.width(Company)
    buyer = rows.instance(Customer, row, offset)
    vendor = rows.instance(Location, row, offset + rows.width(Customer))
    api_key.company = company
    api_key.buyer = buyer
    api_key.vendor = vendor
    if buyer is not None and company is not None and buyer.company_id == company.pk:
        buyer.company = company
    if api_key.is_storefront or api_key.is_erp:
        return api_key  # no owner row whose being active could switch it off
    owner = company or vendor
    return api_key if owner is not None and owner.is_active else None


@transaction.atomic
def revoke_api_key(*, api_key_id: int) -> ApiKey:
    api_key = ApiKey.objects.select_for_update().filter(pk=api_key_id).first()
    if api_key is None:
        raise NotFound("No such API key.")
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
    return api_key
