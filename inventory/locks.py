"""Row locks for stock, always taken in one global order.

The order is: order row (orders app) → ``NetworkStock`` rows by product id →
``Location`` rows by id → ``StockLevel`` rows by id. Every writer follows it, so two
transactions can wait on each other's rows but never in a cycle: no deadlocks, whatever
the concurrency.
``no_key=True`` (FOR NO KEY UPDATE) lets inserts that reference these rows through a
foreign key (ledger rows, reservations) proceed while the counters are locked.
"""

from collections.abc import Iterable

from django.db import connection
from django.db.models import Q, QuerySet

from .models import Location, NetworkStock, StockLevel


def network_stock_for_update(product_ids: Iterable[int]) -> dict[int, NetworkStock]:
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
    table = connection.ops.quote_name(Location._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, is_active FROM {table} WHERE id = ANY(%s) "  # noqa: S608 (table name)
            "ORDER BY id FOR KEY SHARE",
            [ids],
        )
        return dict(cursor.fetchall())


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
