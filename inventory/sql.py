"""Every statement the inventory app writes by hand is here; ``core.rows`` builds the
INSERTs. Callers keep their logic (what to lock, when, what a result means) and take
the text from these builders, so the app's SQL can be read, reviewed and tested in
one place. Table and column names come from the models' metadata; values are always
parameters. A builder for ``count`` rows spells them out, so that PostgreSQL's generic
plan for the prepared statement is as good as a custom one.
"""

from functools import cache

from django.db import connection

from core import rows

from .models import Location, NetworkStock


@cache
def network_lock_sql(count: int) -> str:
    """The network rows of ``count`` product ids (parameters), locked FOR NO KEY UPDATE
    in product-id order (level 4 of ``inventory.locks``), every column as
    ``rows.columns`` lists them."""
    lock = " FOR NO KEY UPDATE" if connection.features.has_select_for_no_key_update else ""
    return (
        f"SELECT {rows.columns(NetworkStock, 'n')} FROM {rows.table(NetworkStock)} n "  # noqa: S608
        f"WHERE n.product_id IN ({rows.placeholders(count)}) ORDER BY n.product_id{lock}"
    )


@cache
def network_committed_update_sql(count: int) -> str:
    """Set ``committed`` of ``count`` network rows (already locked). Parameters: the
    (product id, new committed) pairs, the update time, then the product ids."""
    cases = " ".join(["WHEN %s THEN CAST(%s AS integer)"] * count)
    return (
        f"UPDATE {rows.table(NetworkStock)} SET committed = CASE product_id {cases} END, "  # noqa: S608
        f"updated_at = %s WHERE product_id IN ({rows.placeholders(count)})"
    )


@cache
def network_commit_all_sql(count: int) -> str:
    """Lock, check and commit in one statement, all or nothing: the network rows are
    locked in product-id order (``locked``); if any product is short (``short``),
    nothing is updated; the rows come back as they were before the update, with the
    number of rows updated. The update's ``NOT EXISTS`` is a one-time condition, so
    it is decided, and every row locked in order, before the update touches a row.
    Parameters: the (product id, quantity) pairs, the product ids sorted, the update
    time. One statement per number of products: with the demand spelled out as a
    VALUES list, PostgreSQL's generic plan for it is as good as a custom one, so a
    prepared statement is not planned again on every execution."""
    network = rows.table(NetworkStock)
    demand = ", ".join(["(%s::bigint, %s::integer)"] * count)
    return (
        f"WITH demand(product_id, quantity) AS (VALUES {demand}), "  # noqa: S608
        f"locked AS ({network_lock_sql(count)}), "
        "short AS (SELECT d.product_id FROM demand d "
        "LEFT JOIN locked l ON l.product_id = d.product_id "
        "WHERE l.product_id IS NULL OR GREATEST(l.available - l.committed, 0) < d.quantity), "
        f"applied AS (UPDATE {network} n SET committed = n.committed + d.quantity, "
        "updated_at = %s FROM demand d "
        "WHERE n.product_id = d.product_id AND NOT EXISTS (SELECT 1 FROM short) "
        "RETURNING n.product_id) "
        "SELECT l.*, (SELECT count(*) FROM applied) FROM locked l ORDER BY l.product_id"
    )


@cache
def location_activity_for_share_sql() -> str:
    """(id, is_active) of the locations whose ids are in one array parameter, in id
    order, FOR KEY SHARE (level 5 of ``inventory.locks``; PostgreSQL)."""
    return (
        f"SELECT id, is_active FROM {rows.table(Location)} WHERE id = ANY(%s) "  # noqa: S608
        "ORDER BY id FOR KEY SHARE"
    )
