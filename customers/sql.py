"""Every statement the customers app writes by hand is here; ``core.rows`` builds the
INSERTs. Table and column names come from the models' metadata; values are parameters."""

from functools import cache

from core import rows
from inventory.models import Location

from .models import ApiKey, Company, Customer


@cache
def active_key_sql() -> str:
    """The key by its prefix with its company, buyer and vendor: one statement, written
    once per process (it runs on every API request). Parameter: the key's prefix."""
    return (
        f"SELECT {rows.columns(ApiKey, 'k')}, {rows.columns(Company, 'c')}, "  # noqa: S608
        f"{rows.columns(Customer, 'b')}, {rows.columns(Location, 'v')} "
        f"FROM {rows.table(ApiKey)} k "
        f"LEFT JOIN {rows.table(Company)} c ON c.id = k.company_id "
        f"LEFT JOIN {rows.table(Customer)} b ON b.id = k.buyer_id "
        f"LEFT JOIN {rows.table(Location)} v ON v.id = k.vendor_id "
        "WHERE k.prefix = %s AND k.revoked_at IS NULL"
    )
