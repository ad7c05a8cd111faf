"""Row locks for stock, always taken in one global order.

Every writer takes its locks in this order, each level at once in one sorted call and
never going back up, so two transactions can wait on each other's rows but never in a
cycle: no deadlocks, whatever the concurrency.

1. The order row (``orders_order``, FOR NO KEY UPDATE). Rows that belong to one order
   (its lines, holds, fulfillment orders and their lines, shipments, a draft's network
   reservations) are changed only under it and take no lock of their own.
2. The company's credit-decision locks (transaction advisory locks, per company: see
   ``orders.holds``). Placement takes them first of all: its order row is new, so no
   one can be waiting for it.
3. Request keys: a new order's external reference and the API's idempotency record,
   unique-index inserts that wait for a concurrent holder of the same key.
4. ``NetworkStock`` rows, by product id, in ONE call over every product the
   transaction may touch (``network_stock_for_update`` here, or
   ``inventory.commitments.lock_network_rows``). A second call could take a lower id
   after a higher one: routing locks the union of its order's products up front.
5. ``Location`` rows by id: FOR KEY SHARE (``location_activity_for_share``), or FOR
   UPDATE when a location opens or closes.
6. ``StockLevel`` rows by id (``stock_levels_for_update``), then a stock row's own
   reservations.
7. ``CompanyExposure`` slots, updated by a deferred trigger when the transaction
   commits: always the last locks taken.

A writer may skip levels, never go back to an earlier one. ``no_key=True`` (FOR NO
KEY UPDATE) lets inserts that reference these rows through a foreign key (ledger rows,
reservations) proceed while the counters are locked. The scheduled backorder run's
single-run lock (``fulfillment.routing``) is a session lock taken outside any
transaction, so it sits above all of these.
"""

from collections.abc import Iterable

from django.db import connection
from django.db.models import Q, QuerySet

from core import rows as sql_rows

from . import sql
from .models import Location, NetworkStock, StockLevel


def network_stock_for_update(product_ids: Iterable[int]) -> dict[int, NetworkStock]:
    """Lock (creating missing ones) the network rows of ``product_ids``: level 4, all
    of the transaction's products in this one call."""
    ids = sorted(set(product_ids))
    NetworkStock.objects.bulk_create(
        [NetworkStock(product_id=pid) for pid in ids], ignore_conflicts=True
    )
    rows = NetworkStock.objects.select_for_update(no_key=True).filter(product_id__in=ids)
    return {row.product_id: row for row in rows.order_by("product_id")}


def location_activity_for_share(location_ids: Iterable[int]) -> dict[int, bool]:
    """Whether each location is active, read from the database under FOR KEY SHARE.

    A stock change decides from this flag whether its units count in network
    availability, so it must come from the row, not from a caller's (possibly stale)
    instance. ``set_location_active`` locks the location FOR UPDATE, which conflicts
    with KEY SHARE: the flag cannot flip until the stock change commits. KEY SHARE is
    the lock the ledger's foreign keys take on the row anyway, so it adds no contention
    between stock changes.
    """
    ids = sorted(set(location_ids))
    if connection.vendor != "postgresql":  # SQLite (the demo) serialises writers.
        return dict(Location.objects.filter(pk__in=ids).values_list("pk", "is_active"))
    return dict(sql_rows.fetch(sql.location_activity_for_share_sql(), [ids]))


def ensure_stock_levels(pairs: Iterable[tuple[int, int]]) -> None:
    """Create missing (location_id, product_id) rows; a concurrent creator is harmless."""
    StockLevel.objects.bulk_create(
        [StockLevel(location_id=loc, product_id=prod) for loc, prod in sorted(set(pairs))],
        ignore_conflicts=True,
    )


def stock_levels_for_update(pairs: Iterable[tuple[int, int]]) -> dict[tuple[int, int], StockLevel]:
    """Lock the stock rows of (location_id, product_id) pairs, creating missing ones."""
    wanted = sorted(set(pairs))
    ensure_stock_levels(wanted)
    locations = {loc for loc, _ in wanted}
    products = {prod for _, prod in wanted}
    if len(locations) == 1 or len(products) == 1:
        match = Q(location_id__in=locations, product_id__in=products)  # exactly the pairs
    else:
        # Only the pairs asked for: a cross product would lock rows nobody changes.
        match = Q(pk__in=[])
        for loc, prod in wanted:
            match |= Q(location_id=loc, product_id=prod)
    rows: QuerySet[StockLevel] = (
        StockLevel.objects.select_for_update(no_key=True).filter(match).order_by("id")
    )
    found = {(row.location_id, row.product_id): row for row in rows}
    return {pair: found[pair] for pair in wanted}
