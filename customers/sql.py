"""Every statement the customers app writes by hand is here; ``core.rows`` builds the
INSERTs. Table and column names come from the models' metadata; values are parameters."""

import datetime as dt
from decimal import Decimal
from functools import cache

from django.db import connection

from core import rows
from inventory.models import Location

from .models import ApiKey, Company, Customer
from .store_credit_models import StoreCreditAccount, StoreCreditEntry, StoreCreditKind


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


@cache
def spend_sql() -> str:
    """Take an amount from a customer's store credit if the balance covers it, and
    append the ledger entry, in one statement (placement runs it). The account row stays
    locked until the transaction ends. No row back: nothing was taken. Parameters:
    amount, now, customer id, currency, amount, then the entry's amount, currency,
    order number, reason, actor kind, actor user id, actor label."""
    account = rows.table(StoreCreditAccount)
    entry = rows.table(StoreCreditEntry)
    return (
        f"WITH account AS (UPDATE {account} SET balance = balance - %s, updated_at = %s "  # noqa: S608
        "WHERE customer_id = %s AND currency = %s AND balance >= %s "
        "RETURNING customer_id, balance, updated_at) "
        f"INSERT INTO {entry} (account_id, kind, amount, balance_after, currency, "
        "order_number, reference, reason, created_at, actor_kind, actor_user_id, actor_label) "
        f"SELECT customer_id, '{StoreCreditKind.SPENT.value}', %s, balance, %s, %s, '', %s, "
        "updated_at, %s, %s, %s FROM account RETURNING id, balance_after, created_at"
    )


def spend(
    *,
    customer_id: int,
    amount: Decimal,
    currency: str,
    order_number: str,
    reason: str,
    actor_kind: str,
    actor_user_id: int | None,
    actor_label: str,
    now: dt.datetime,
) -> tuple[int, Decimal, dt.datetime] | None:
    """Run ``spend_sql``: the entry's id, the balance after and its time, or None."""
    with connection.cursor() as cursor:
        cursor.execute(
            spend_sql(),
            [
                amount,
                now,
                customer_id,
                currency,
                amount,
                -amount,
                currency,
                order_number,
                reason,
                actor_kind,
                actor_user_id,
                actor_label,
            ],
        )
        row = cursor.fetchone()
    return (row[0], row[1], row[2]) if row else None
