"""Bin locations of the demo's stock: each location's SKUs laid out along its aisles in
SKU order (aisle letter, bay, shelf: ``B-07-3``), so the pick list walks them in order."""

from __future__ import annotations

from django.db import transaction

from inventory.models import StockLevel

from .common import StepResult
from .data import LOCATIONS

AISLES = "ABCDEFGH"
BAYS = 12
SHELVES = 4


def bin_label(index: int) -> str:
    """The ``index``-th bin of a location (0-based), aisle by aisle."""
    shelf = index % SHELVES + 1
    bay = index // SHELVES % BAYS + 1
    aisle = AISLES[index // (SHELVES * BAYS) % len(AISLES)]
    return f"{aisle}-{bay:02d}-{shelf}"


@transaction.atomic
def seed_bins(result: StepResult) -> None:
    """Give each demo stock level without a bin the one its SKU's rank gives it; a bin
    already set (by hand, or by an earlier seed) is kept."""
    levels = list(
        StockLevel.objects.filter(location__code__in=[spec.code for spec in LOCATIONS])
        .select_related("product")
        .order_by("location_id", "product__sku")
    )
    rank: dict[int, int] = {}
    to_update = []
    for level in levels:
        index = rank.get(level.location_id, 0)
        rank[level.location_id] = index + 1
        if level.bin_location:
            result.existing += 1
            continue
        level.bin_location = bin_label(index)
        to_update.append(level)
    StockLevel.objects.bulk_update(to_update, ["bin_location"], batch_size=500)
    result.created += len(to_update)
