"""Stock invariants, read from the stored rows (run by ``check_integrity``).

Every counter change goes through ``StockChangeSet``, which writes the ledger row, the
counter and the network total together; these checks find anything that went around
it (a raw UPDATE, a restore from a partial backup, a bug).
"""

from collections import defaultdict

from django.db.models import F, IntegerField, Q, Sum, Value
from django.db.models.functions import Greatest

from core.integrity import Violation

from .models import (
    NetworkReservation,
    NetworkStock,
    ReservationStatus,
    StockBucket,
    StockLevel,
    StockMovement,
)


def _level_names() -> dict[int, str]:
    return {
        pk: f"{sku} at {code}"
        for pk, sku, code in StockLevel.objects.values_list(
            "pk", "product__sku", "location__code"
        ).order_by()
    }


def ledger_mismatches() -> list[Violation]:
    """Each bucket of each stock row equals the sum of its ledger rows."""
    sums: dict[tuple[int, str], int] = defaultdict(int)
    for level_id, bucket, total in (
        StockMovement.objects.order_by()
        .values("stock_level_id", "bucket")
        .annotate(total=Sum("delta"))
        .values_list("stock_level_id", "bucket", "total")
    ):
        sums[(level_id, bucket)] = total
    names = _level_names()
    found = []
    for row in StockLevel.objects.order_by("pk").values_list("pk", *StockBucket.values):
        level_id, buckets = row[0], dict(zip(StockBucket.values, row[1:], strict=True))
        for bucket, value in buckets.items():
            ledger = sums.get((level_id, bucket), 0)
            if value != ledger:
                found.append(
                    Violation(
                        "ledger_mismatch",
                        names[level_id],
                        f"{StockBucket(bucket).label.lower()} is {value}, "
                        f"its ledger rows add up to {ledger}",
                    )
                )
    return found


def negative_buckets() -> list[Violation]:
    """No bucket below zero, and no more allocated and reserved than on hand (the
    database's CHECK constraints say the same; this finds them disabled or bypassed)."""
    negative = Q()
    for bucket in StockBucket.values:
        negative |= Q(**{f"{bucket}__lt": 0})
    overcommitted = Q(on_hand__lt=F("allocated") + F("reserved"))
    found = []
    names = _level_names()
    for row in (
        StockLevel.objects.filter(negative | overcommitted)
        .order_by("pk")
        .values_list("pk", *StockBucket.values)
    ):
        buckets = dict(zip(StockBucket.values, row[1:], strict=True))
        for bucket, value in buckets.items():
            if value < 0:
                label = StockBucket(bucket).label.lower()
                found.append(Violation("negative_bucket", names[row[0]], f"{label} is {value}"))
        if buckets["on_hand"] < buckets["allocated"] + buckets["reserved"]:
            found.append(
                Violation(
                    "overcommitted_stock",
                    names[row[0]],
                    f"allocated {buckets['allocated']} and reserved {buckets['reserved']} "
                    f"exceed the {buckets['on_hand']} on hand",
                )
            )
    for sku, available, committed in (
        NetworkStock.objects.filter(Q(available__lt=0) | Q(committed__lt=0))
        .order_by("pk")
        .values_list("product__sku", "available", "committed")
    ):
        found.append(
            Violation(
                "negative_bucket",
                f"{sku} across the network",
                f"available is {available}, committed is {committed}",
            )
        )
    return found


def expected_network_available() -> dict[int, int]:
    """What ``NetworkStock.available`` must be, per product: the sum over active
    locations of their available to promise (each floored at zero)."""
    atp = Greatest(
        F("on_hand") - F("allocated") - F("reserved") - F("safety_stock"),
        Value(0),
        output_field=IntegerField(),
    )
    rows = (
        StockLevel.objects.filter(location__is_active=True)
        .order_by()
        .values("product_id")
        .annotate(total=Sum(atp))
        .values_list("product_id", "total")
    )
    return dict(rows)


def active_reservations_by_product() -> dict[int, int]:
    """Units that drafts and quotes hold on the network, per product (part of
    ``NetworkStock.committed``)."""
    rows = (
        NetworkReservation.objects.filter(status=ReservationStatus.ACTIVE)
        .order_by()
        .values("product_id")
        .annotate(total=Sum("quantity"))
        .values_list("product_id", "total")
    )
    return dict(rows)


def network_available_mismatches() -> list[Violation]:
    """Each SKU's network availability equals the sum over active locations."""
    expected = expected_network_available()
    stored = {
        product_id: (sku, available)
        for product_id, sku, available in NetworkStock.objects.values_list(
            "product_id", "product__sku", "available"
        ).order_by()
    }
    found = []
    for product_id in sorted(expected.keys() | stored.keys()):
        want = expected.get(product_id, 0)
        sku, have = stored.get(product_id, (None, 0))
        if sku is None and want:
            found.append(
                Violation(
                    "network_available_mismatch",
                    f"product {product_id}",
                    f"has no network row, its active locations have {want} available",
                )
            )
        elif have != want:
            found.append(
                Violation(
                    "network_available_mismatch",
                    f"{sku} across the network",
                    f"available is {have}, its active locations add up to {want}",
                )
            )
    return found


def committed_mismatches(demand: dict[int, int]) -> list[Violation]:
    """Each SKU's network commitment equals ``demand`` (open orders' units not yet
    allocated, from the orders app) plus what active reservations hold."""
    reserved = active_reservations_by_product()
    stored = {
        product_id: (sku, committed)
        for product_id, sku, committed in NetworkStock.objects.values_list(
            "product_id", "product__sku", "committed"
        ).order_by()
    }
    found = []
    for product_id in sorted(demand.keys() | reserved.keys() | stored.keys()):
        orders, held = demand.get(product_id, 0), reserved.get(product_id, 0)
        sku, have = stored.get(product_id, (f"product {product_id}", 0))
        if have != orders + held:
            found.append(
                Violation(
                    "committed_mismatch",
                    f"{sku} across the network",
                    f"committed is {have}, open orders need {orders} and reservations hold {held}",
                )
            )
    return found


def check_stock() -> list[Violation]:
    """Every stock invariant that needs nothing from other apps."""
    return [*ledger_mismatches(), *negative_buckets(), *network_available_mismatches()]
