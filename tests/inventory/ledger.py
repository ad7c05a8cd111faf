"""Assertions on the stock ledger shared by the inventory tests.

The invariants are the ones the inventory models promise: each counter equals the sum
of its ledger rows (and the latest row's ``balance_after``), no bucket is negative,
commitments stay within on hand, active reservations add up to the reserved bucket,
and each SKU's network availability is the sum over active locations of what they can
promise.
"""

from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Sum

from core.actors import Actor
from inventory.locks import (
    location_activity_for_share,
    network_stock_for_update,
    stock_levels_for_update,
)
from inventory.models import (
    Location,
    MovementReason,
    NetworkStock,
    Product,
    ReservationStatus,
    StockBucket,
    StockLevel,
    StockMovement,
    StockReservation,
)
from inventory.services import StockChangeSet

BUCKETS: tuple[str, ...] = tuple(StockBucket.values)


@dataclass(frozen=True)
class StockSnapshot:
    """Everything a stock service may write, to compare before and after a refusal."""

    levels: dict[tuple[int, int], tuple[int, ...]]
    movements: int
    networks: dict[int, tuple[int, int]]
    reservations: frozenset[tuple[int, str, int]]
    locations: dict[int, bool]


def take_snapshot() -> StockSnapshot:
    return StockSnapshot(
        levels={
            (row[0], row[1]): tuple(row[2:])
            for row in StockLevel.objects.values_list("location_id", "product_id", *BUCKETS)
        },
        movements=StockMovement.objects.count(),
        networks={
            pid: (available, committed)
            for pid, available, committed in NetworkStock.objects.values_list(
                "product_id", "available", "committed"
            )
        },
        reservations=frozenset(StockReservation.objects.values_list("id", "status", "quantity")),
        locations=dict(Location.objects.values_list("id", "is_active")),
    )


def expected_network_available(product_id: int) -> int:
    """Sum over active locations of max(on_hand - allocated - reserved - safety, 0)."""
    return sum(
        max(level.on_hand - level.allocated - level.reserved - level.safety_stock, 0)
        for level in StockLevel.objects.filter(product_id=product_id, location__is_active=True)
    )


def assert_ledger_reconciles(levels: Iterable[StockLevel] | None = None) -> None:
    """Every bucket of every given stock row (default: all) agrees with its ledger."""
    rows = list(StockLevel.objects.all() if levels is None else levels)
    ids = [row.pk for row in rows]
    sums: dict[tuple[int, str], int] = defaultdict(int)
    latest: dict[tuple[int, str], int] = {}
    movements = (
        StockMovement.objects.filter(stock_level_id__in=ids)
        .order_by("id")
        .values_list("stock_level_id", "bucket", "delta", "balance_after")
    )
    for level_id, bucket, delta, balance_after in movements:
        sums[(level_id, bucket)] += delta
        latest[(level_id, bucket)] = balance_after
    reserved = dict(
        StockReservation.objects.filter(stock_level_id__in=ids, status=ReservationStatus.ACTIVE)
        .values("stock_level_id")
        .annotate(total=Sum("quantity"))
        .values_list("stock_level_id", "total")
    )
    for row in rows:
        for bucket in BUCKETS:
            value = getattr(row, bucket)
            where = f"{bucket} of stock row {row.pk}"
            assert value >= 0, f"{where} is negative: {value}"
            assert sums[(row.pk, bucket)] == value, (
                f"{where} is {value} but its ledger sums to {sums[(row.pk, bucket)]}"
            )
            assert latest.get((row.pk, bucket), 0) == value, (
                f"{where} is {value} but the latest balance_after is {latest.get((row.pk, bucket))}"
            )
        assert row.allocated + row.reserved <= row.on_hand, f"stock row {row.pk} over-committed"
        assert reserved.get(row.pk, 0) == row.reserved, (
            f"stock row {row.pk} reserves {row.reserved} but its active reservations hold "
            f"{reserved.get(row.pk, 0)}"
        )


def assert_network_matches(product_ids: Iterable[int]) -> None:
    for product_id in product_ids:
        network = NetworkStock.objects.get(product_id=product_id)
        assert network.available == expected_network_available(product_id), (
            f"network available of product {product_id} is {network.available}, "
            f"expected {expected_network_available(product_id)}"
        )


def assert_stock_consistent(product_ids: Iterable[int] | None = None) -> None:
    """The ledger reconciles and the network totals match, for the given products or all."""
    ids = (
        list(NetworkStock.objects.values_list("product_id", flat=True))
        if product_ids is None
        else list(product_ids)
    )
    assert_ledger_reconciles(StockLevel.objects.filter(product_id__in=ids))
    assert_network_matches(ids)


@contextmanager
def nothing_written() -> Iterator[None]:
    """Assert that the block leaves every stock table exactly as it found it."""
    before = take_snapshot()
    yield
    assert take_snapshot() == before, "a refused call wrote something"


def allocate(location: Location, product: Product, quantity: int, actor: Actor) -> None:
    """Allocate (or, negative, deallocate) units the way placement and routing do: through
    ``StockChangeSet`` on rows locked in the documented order. Inventory has no public
    allocation service of its own; this is the primitive the orders app calls."""
    with transaction.atomic():
        networks = network_stock_for_update([product.pk])
        active = location_activity_for_share([location.pk])
        levels = stock_levels_for_update([(location.pk, product.pk)])
        changes = StockChangeSet(
            actor=actor, reference="TEST-ALLOC", networks=networks, active_locations=active
        )
        reason = MovementReason.ALLOCATION if quantity > 0 else MovementReason.DEALLOCATION
        changes.change(levels[(location.pk, product.pk)], "allocated", quantity, reason)
        changes.commit()
