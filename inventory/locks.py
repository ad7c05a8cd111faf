"""Row locks for stock, always taken in one global order.

The order is: order row (orders app) → ``NetworkStock`` rows by product id →
``StockLevel`` rows by id. Every writer follows it, so two transactions can wait on
each other's rows but never in a cycle: no deadlocks, whatever the concurrency.
``no_key=True`` (FOR NO KEY UPDATE) lets inserts that reference these rows through a
foreign key (ledger rows, reservations) proceed while the counters are locked.
"""

from collections.abc import Iterable

from django.db.models import QuerySet

from .models import NetworkStock, StockLevel


def network_stock_for_update(product_ids: Iterable[int]) -> dict[int, NetworkStock]:
    ids = sorted(set(product_ids))
    NetworkStock.objects.bulk_create(
        [NetworkStock(product_id=pid) for pid in ids], ignore_conflicts=True
    )
    rows = NetworkStock.objects.select_for_update(no_key=True).filter(product_id__in=ids)
    return {row.product_id: row for row in rows.order_by("product_id")}


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
    rows: QuerySet[StockLevel] = (
        StockLevel.objects.select_for_update(no_key=True)
        .filter(location_id__in=locations, product_id__in=products)
        .order_by("id")
    )
    found = {(row.location_id, row.product_id): row for row in rows}
    return {pair: found[pair] for pair in wanted}
