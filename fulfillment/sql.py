"""Every statement the fulfillment app writes by hand is here; ``core.rows`` builds the
INSERTs. Callers keep their logic and take the text from here, so the app's SQL can be
read and reviewed in one place. Everything else in the app goes through the ORM.
"""

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
