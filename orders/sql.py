"""Every statement the orders app writes by hand is here; ``core.rows`` builds the
INSERTs. Callers keep their logic (when a statement runs, what its result means) and
take the text from these builders, so the app's SQL can be read, reviewed and tested in
one place. Table and column names come from the models' metadata; values are
parameters, except the constants named here.

The credit exposure rule
------------------------
A company's open exposure is what its orders whose status is one of
``EXPOSURE_STATUSES`` still have to invoice (``grand_total`` less ``invoiced_on_terms``,
never below zero), plus the balances due of its unpaid invoices on terms
(``OpenReceivable``, kept by billing). An amount is counted once: when billing invoices
part of an open order on terms, the same transaction raises the order's
``invoiced_on_terms`` and adds the invoice's balance, so the exposure does not move
until the invoice is paid or credited. That constant is the rule's one statement; the
SQL that applies it is built from it here:

* on PostgreSQL the trigger function ``orders_track_company_exposure``
  (``exposure_function_sql``) and the triggers that call it (``exposure_triggers_sql``)
  keep each company's sum in ``CompanyExposure``; migration
  ``0018_exposure_rule_from_sql_module`` creates them from this text, and
  ``tests/orders/test_exposure_rule.py`` reads the function back from the database and
  checks that it is this text, with these statuses;
* on SQLite (the demo) ``sqlite_exposure_sql`` sums the open orders;
* both read the unpaid invoices' balances and the company's invoices overdue past a
  cut-off date in the same statement (``open_exposure_sql``).

A change to the rule is a change to ``EXPOSURE_STATUSES`` plus a migration that runs
``exposure_function_sql`` and ``exposure_triggers_sql`` again (and recounts the sums).
"""

from functools import cache

from django.db import connection

from core import rows
from inventory.models import Product

from .models import CompanyExposure, IdempotencyKey, OpenReceivable, Order, OrderStatus

# The credit rule: these orders count in their company's open exposure.
EXPOSURE_STATUSES = (OrderStatus.PLACED, OrderStatus.PROCESSING)

# CompanyExposure rows per company: a transaction adds to one of them (by its id), so
# concurrent commits of one company's orders seldom wait for each other.
EXPOSURE_SLOTS = 8

EXPOSURE_FUNCTION = "orders_track_company_exposure"


def _status_list() -> str:
    """``('placed', 'processing')``: the exposure statuses as an SQL list (constants
    of ``OrderStatus``, never input)."""
    return "(" + ", ".join(f"'{status}'" for status in EXPOSURE_STATUSES) + ")"


def exposure_function_body() -> str:
    """The PL/pgSQL body (between the ``$$``) of the trigger function that keeps the
    ``CompanyExposure`` slots: what PostgreSQL stores as the function's source. An open
    order counts what it has not invoiced on terms yet."""
    table = CompanyExposure._meta.db_table
    statuses = _status_list()
    return f"""
DECLARE
    my_slot smallint := mod(txid_current(), {EXPOSURE_SLOTS})::smallint;
    removed numeric := 0;
    added numeric := 0;
BEGIN
    IF TG_OP <> 'INSERT' AND OLD.company_id IS NOT NULL AND OLD.status IN {statuses} THEN
        removed := GREATEST(OLD.grand_total - OLD.invoiced_on_terms, 0);
    END IF;
    IF TG_OP <> 'DELETE' AND NEW.company_id IS NOT NULL AND NEW.status IN {statuses} THEN
        added := GREATEST(NEW.grand_total - NEW.invoiced_on_terms, 0);
    END IF;
    IF TG_OP = 'UPDATE' AND OLD.company_id IS NOT DISTINCT FROM NEW.company_id THEN
        added := added - removed;
        removed := 0;
    END IF;
    IF removed <> 0 THEN
        INSERT INTO {table} (company_id, slot, open_orders_total)
        VALUES (OLD.company_id, my_slot, -removed)
        ON CONFLICT (company_id, slot) DO UPDATE SET open_orders_total =
            {table}.open_orders_total + EXCLUDED.open_orders_total;
    END IF;
    IF added <> 0 THEN
        INSERT INTO {table} (company_id, slot, open_orders_total)
        VALUES (NEW.company_id, my_slot, added)
        ON CONFLICT (company_id, slot) DO UPDATE SET open_orders_total =
            {table}.open_orders_total + EXCLUDED.open_orders_total;
    END IF;
    RETURN NULL;
END;
"""  # noqa: S608 - table and statuses from this module


def exposure_function_sql() -> str:
    """``CREATE OR REPLACE FUNCTION`` of the exposure trigger function (PostgreSQL)."""
    return (
        f"CREATE OR REPLACE FUNCTION {EXPOSURE_FUNCTION}() RETURNS trigger AS "
        f"$${exposure_function_body()}$$ LANGUAGE plpgsql"
    )


def exposure_triggers_sql() -> list[str]:
    """The statements that (re)create the three triggers calling the exposure function
    on ``orders_order``. They are deferred to commit, so the slot rows are the last
    locks any transaction takes (``inventory.locks``), and events that cannot change a
    total are not even queued."""
    statuses = _status_list()
    orders = Order._meta.db_table
    statements = []
    for name, event, when in (
        ("insert", "INSERT", f"NEW.company_id IS NOT NULL AND NEW.status IN {statuses}"),
        (
            "update",
            "UPDATE OF status, grand_total, invoiced_on_terms, company_id",
            (
                "(OLD.status, OLD.grand_total, OLD.invoiced_on_terms, OLD.company_id)"
                " IS DISTINCT FROM "
                "(NEW.status, NEW.grand_total, NEW.invoiced_on_terms, NEW.company_id)"
            ),
        ),
        ("delete", "DELETE", f"OLD.company_id IS NOT NULL AND OLD.status IN {statuses}"),
    ):
        statements += [
            f"DROP TRIGGER IF EXISTS orders_order_exposure_{name} ON {orders}",
            (
                f"CREATE CONSTRAINT TRIGGER orders_order_exposure_{name} AFTER {event} "
                f"ON {orders} DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
                f"WHEN ({when}) EXECUTE FUNCTION {EXPOSURE_FUNCTION}()"
            ),
        ]
    return statements


def exposure_slots_sum_sql(company_id: str) -> str:
    """The sum of the trigger-kept slots of the company ``company_id`` (an SQL
    expression: a placeholder or a column) names: a few rows, however many orders are
    open."""
    return (
        "SELECT COALESCE(SUM(e.open_orders_total), 0) "  # noqa: S608
        f"FROM {rows.table(CompanyExposure)} e WHERE e.company_id = {company_id}"
    )


def sqlite_exposure_sql() -> str:
    """A company's open exposure other than one order, summed in whole cents (SQLite).
    Parameters: the company id, the order id left out (0 for none).

    SQLite keeps decimals as floating point and would SUM them into a float with
    binary noise (188621.1399999999999636…, which a hold reason once showed); each
    total rounded to whole cents sums exactly."""
    return (
        "SELECT COALESCE(SUM(CAST(ROUND("  # noqa: S608
        "MAX(o.grand_total - o.invoiced_on_terms, 0) * 100) AS INTEGER)), 0) "
        f"FROM {rows.table(Order)} o "
        f"WHERE o.company_id = %s AND o.status IN {_status_list()} AND o.id <> %s"
    )


# How many overdue invoices a hold reason names at most (the rest are counted).
OVERDUE_NAMED = 5


def receivables_sql(*, cents: bool) -> str:
    """Three scalar expressions over a company's unpaid invoices on terms: their
    balances' sum (in whole cents with ``cents``, for SQLite), how many are due before
    a cut-off date, and the numbers of the first ``OVERDUE_NAMED`` of those, oldest due
    first, joined by ", ". Parameters: the company id, then the company id and the
    cut-off date twice."""
    table = rows.table(OpenReceivable)
    balance = "CAST(ROUND(r.balance_due * 100) AS INTEGER)" if cents else "r.balance_due"
    join = (
        "string_agg(d.invoice_number, ', ' ORDER BY d.due_date, d.invoice_number)"
        if connection.vendor == "postgresql"
        else "group_concat(d.invoice_number, ', ')"
    )
    return (
        f"(SELECT COALESCE(SUM({balance}), 0) FROM {table} r WHERE r.company_id = %s), "  # noqa: S608
        f"(SELECT COUNT(*) FROM {table} r WHERE r.company_id = %s AND r.due_date < %s), "
        f"(SELECT {join} FROM (SELECT r.invoice_number, r.due_date FROM {table} r "
        "WHERE r.company_id = %s AND r.due_date < %s "
        f"ORDER BY r.due_date, r.invoice_number LIMIT {OVERDUE_NAMED}) d)"
    )


@cache
def open_exposure_sql() -> str:
    """A company's credit standing in one row: its open orders' exposure, its unpaid
    invoices' balances, how many of them are overdue past a cut-off date and the first
    ones' numbers (``receivables_sql``). On PostgreSQL the open orders are the committed
    sum of its slots; parameters: the company id, then ``receivables_sql``'s. Elsewhere
    ``sqlite_exposure_sql`` (amounts in cents); parameters: the company id, the order
    left out, then ``receivables_sql``'s."""
    if connection.vendor == "postgresql":
        return f"SELECT ({exposure_slots_sum_sql('%s')}), {receivables_sql(cents=False)}"
    return f"SELECT ({sqlite_exposure_sql()}), {receivables_sql(cents=True)}"


@cache
def credit_slot_sql(slots: int, space: int) -> str:
    """A scalar expression taking one of ``slots`` transaction advisory locks
    (``space`` + slot, company key): the first free one, else waiting for one at
    random; its value is the slot's number. Parameters: the company key, twice."""
    return (
        f"COALESCE((SELECT s FROM generate_series(0, {slots - 1}) s "  # noqa: S608 (integers)
        f"WHERE pg_try_advisory_xact_lock({space} + s, %s) LIMIT 1), "
        f"(SELECT w.s FROM (SELECT floor(random() * {slots})::int AS s) w "
        f"WHERE pg_advisory_xact_lock({space} + w.s, %s) IS NOT NULL))"
    )


# Every credit slot of a company, in slot order. Parameters: the lock space, the
# company key, the last slot number.
LOCK_ALL_CREDIT_SLOTS = (
    "SELECT bool_and(pg_advisory_xact_lock(%s + s, %s) IS NOT NULL) FROM generate_series(0, %s) s"
)


@cache
def products_by_sku_sql(count: int, credit_slot: str = "") -> str:
    """The products of ``count`` SKUs (parameters); with ``credit_slot`` (an SQL
    expression, its parameters first), the same statement takes a credit slot of the
    buyer's company first, and each row ends with its number (one row of NULL product
    columns if no SKU matches)."""
    products = f"{rows.table(Product)} p"
    match = f"p.sku IN ({rows.placeholders(count)})"
    if not credit_slot:
        return f"SELECT {rows.columns(Product, 'p')} FROM {products} WHERE {match}"  # noqa: S608
    return (
        f"WITH credit AS MATERIALIZED (SELECT {credit_slot} AS slot) "  # noqa: S608
        f"SELECT {rows.columns(Product, 'p')}, credit.slot FROM credit "
        f"LEFT JOIN {products} ON {match}"
    )


ORDER_NUMBER_SEQUENCE = "order_number_seq"

NEXT_ORDER_NUMBER = f"SELECT nextval('{ORDER_NUMBER_SEQUENCE}')"


def order_number_sql(prefix: str, width: int) -> str:
    """A scalar expression taking the next order number from the sequence: ``prefix``
    and the number, zero-padded to ``width`` digits (PostgreSQL)."""
    return (
        f"(SELECT '{prefix}' || CASE WHEN s.n < {10 ** (width - 1)} "  # noqa: S608 - constants
        f"THEN lpad(s.n::text, {width}, '0') ELSE s.n::text END "
        f"FROM nextval('{ORDER_NUMBER_SEQUENCE}') AS s(n))"
    )


@cache
def idempotency_key_insert_sql() -> str:
    """Insert an idempotency key with its response unless the key exists: returns the
    new row's id, or no row. ``ON CONFLICT DO NOTHING`` waits for a concurrent holder
    of the same key to finish. Parameters: scope, company id, key, request hash,
    response status, response body, order id, creation time."""
    return (
        f"INSERT INTO {rows.table(IdempotencyKey)} "  # noqa: S608 - table name from the model
        "(scope, company_id, key, request_hash, response_status, response_body, order_id,"
        " created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (scope, key) DO NOTHING RETURNING id"
    )


# --- Batch intake (``orders.batch_placement``, ``orders.api.batch``) ----------------------
# A chunk of a batch takes its order numbers in one statement, writes the request keys
# of all its orders in one statement (before any stock row is locked, as single
# placement does), and stores their responses in one more.

# The next ``%s`` order numbers from the sequence, one row each, in the order taken.
NEXT_ORDER_NUMBERS = (
    f"SELECT nextval('{ORDER_NUMBER_SEQUENCE}') FROM generate_series(1, %s) ORDER BY 1"  # noqa: S608
)


@cache
def idempotency_keys_claim_sql() -> str:
    """Insert many idempotency keys with a placeholder response (status 201, no body,
    no order yet), sorted by key so that two transactions claiming overlapping keys
    wait for each other in one order, never in a cycle; a key that exists (or that a
    concurrent transaction holds, once it commits) is skipped. Returns the keys
    inserted. Parameters: scope, company id, creation time, the keys (text[]), their
    request hashes (text[], same order)."""
    return (
        f"INSERT INTO {rows.table(IdempotencyKey)} "  # noqa: S608 - table name from the model
        "(scope, company_id, key, request_hash, response_status, response_body, order_id,"
        " created_at) SELECT %s, %s, k.key, k.hash, 201, '', NULL, %s"
        " FROM unnest(%s::text[], %s::text[]) AS k(key, hash) ORDER BY k.key"
        " ON CONFLICT (scope, key) DO NOTHING RETURNING key"
    )


@cache
def idempotency_responses_update_sql() -> str:
    """Store the responses of keys claimed by ``idempotency_keys_claim_sql`` in this
    transaction. Parameters: a JSON array of ``[key, body, order id]`` (one text value:
    response bodies are JSON themselves, which an array of text would escape character
    by character on the way), then the scope."""
    table = rows.table(IdempotencyKey)
    return (
        f"UPDATE {table} AS t SET response_body = r.body, order_id = r.order_id "  # noqa: S608
        "FROM (SELECT e->>0 AS key, e->>1 AS body, (e->>2)::bigint AS order_id"
        " FROM json_array_elements(%s::json) AS e) AS r"
        " WHERE t.scope = %s AND t.key = r.key"
    )


@cache
def idempotency_keys_release_sql() -> str:
    """Delete keys this transaction claimed for orders it then refused, so that they
    leave nothing behind. Parameters: the scope, the keys (text[])."""
    return f"DELETE FROM {rows.table(IdempotencyKey)} WHERE scope = %s AND key = ANY(%s)"  # noqa: S608
