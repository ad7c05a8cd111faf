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
def location_activity_for_share_sql() -> str:
    """(id, is_active) of the locations whose ids are in one array parameter, in id
    order, FOR KEY SHARE (level 5 of ``inventory.locks``; PostgreSQL)."""
    return (
        f"SELECT id, is_active FROM {rows.table(Location)} WHERE id = ANY(%s) "  # noqa: S608
        "ORDER BY id FOR KEY SHARE"
    )
