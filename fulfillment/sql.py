"""Every statement the fulfillment app writes by hand is here; ``core.rows`` builds the
INSERTs. Callers keep their logic and take the text from here, so the app's SQL can be
read and reviewed in one place. Everything else in the app goes through the ORM.
"""

from functools import cache

from core import rows
from inventory.models import StockLevel

# The scheduled backorder run's single-run lock: a PostgreSQL session advisory lock,
# taken outside any transaction (``fulfillment.routing.backorder_run_lock``). Parameter:
# the lock key. The first gives whether it was free (and is now held).
TRY_SESSION_LOCK = "SELECT pg_try_advisory_lock(%s)"
RELEASE_SESSION_LOCK = "SELECT pg_advisory_unlock(%s)"

# A routing batch's order lines: their allocated and backordered units, set from
# three arrays (line ids, allocated, backordered) in one statement.
ORDER_LINE_QUANTITIES_UPDATE = (
    "UPDATE orders_orderline AS l SET quantity_allocated = v.allocated, "
    "quantity_backordered = v.backordered "
    "FROM unnest(%s::bigint[], %s::integer[], %s::integer[]) AS v(id, allocated, backordered) "
    "WHERE l.id = v.id"
)


@cache
def stock_levels_for_update_sql() -> str:
    """A routing batch's locks on stock rows (level 6 of ``inventory.locks``), by
    (location id, product id) pairs given as two arrays, in id order; every column as
    ``core.rows.columns`` lists them."""
    return (
        f"SELECT {rows.columns(StockLevel, 's')} FROM {rows.table(StockLevel)} s "  # noqa: S608
        "WHERE (s.location_id, s.product_id) IN "
        "(SELECT * FROM unnest(%s::bigint[], %s::bigint[])) "
        "ORDER BY s.id FOR NO KEY UPDATE"
    )


# A routing batch's stock rows (locked): their allocated units, from two arrays (ids,
# allocated) and the update time.
STOCK_ALLOCATED_UPDATE = (
    "UPDATE inventory_stocklevel AS s SET allocated = v.allocated, updated_at = %s "
    "FROM unnest(%s::bigint[], %s::integer[]) AS v(id, allocated) WHERE s.id = v.id"
)

# A routing batch's network rows (locked): availability and commitments, from three
# arrays (product ids, available, committed) and the update time.
NETWORK_UPDATE = (
    "UPDATE inventory_networkstock AS n SET available = v.available, "
    "committed = v.committed, updated_at = %s "
    "FROM unnest(%s::bigint[], %s::integer[], %s::integer[]) "
    "AS v(product_id, available, committed) "
    "WHERE n.product_id = v.product_id"
)
