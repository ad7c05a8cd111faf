"""Order invariants, read from the stored rows (run by ``check_integrity``)."""

from django.db.models import Exists, F, OuterRef, Q, Sum

from core.integrity import Violation
from inventory.integrity import committed_mismatches

from .models import Order, OrderLine, OrderStatus

# Orders whose unallocated units are committed on the network.
OPEN_STATUSES = (OrderStatus.PLACED, OrderStatus.PROCESSING)

LINE_BUCKETS = (
    "quantity_ordered",
    "quantity_allocated",
    "quantity_shipped",
    "quantity_delivered",
    "quantity_cancelled",
    "quantity_backordered",
    "quantity_return_requested",
    "quantity_returned",
)


def open_demand_by_product() -> dict[int, int]:
    """What ``NetworkStock.committed`` owes to orders, per product: the units of open
    orders' lines neither cancelled, allocated, shipped nor backordered."""
    rows = (
        OrderLine.objects.filter(order__status__in=OPEN_STATUSES)
        .order_by()
        .values("product_id")
        .annotate(
            demand=Sum(
                F("quantity_ordered")
                - F("quantity_cancelled")
                - F("quantity_allocated")
                - F("quantity_shipped")
                - F("quantity_backordered")
            )
        )
        .values_list("product_id", "demand")
    )
    return dict(rows)


def commitment_mismatches() -> list[Violation]:
    """Each SKU's network commitment equals its open orders' unallocated units plus
    what drafts and quotes reserve."""
    return committed_mismatches(open_demand_by_product())


def line_bucket_violations() -> list[Violation]:
    """A line's buckets add up: cancelled, allocated, shipped and backordered within
    ordered; delivered within shipped; return requested and returned within shipped;
    none below zero."""
    negative = Q()
    for bucket in LINE_BUCKETS:
        negative |= Q(**{f"{bucket}__lt": 0})
    over_ordered = Q(
        quantity_ordered__lt=F("quantity_cancelled")
        + F("quantity_allocated")
        + F("quantity_shipped")
        + F("quantity_backordered")
    )
    over_delivered = Q(quantity_delivered__gt=F("quantity_shipped"))
    over_returned = Q(quantity_shipped__lt=F("quantity_return_requested") + F("quantity_returned"))
    found: list[Violation] = []
    rows = (
        OrderLine.objects.filter(negative | over_ordered | over_delivered | over_returned)
        .order_by("pk")
        .values_list("order__number", "line_number", "sku", *LINE_BUCKETS)
    )
    for number, line_number, sku, *values in rows:
        q = dict(zip((b.removeprefix("quantity_") for b in LINE_BUCKETS), values, strict=True))
        subject = f"order {number} line {line_number} ({sku})"
        problems = [f"{name} is {value}" for name, value in q.items() if value < 0]
        parts = q["cancelled"] + q["allocated"] + q["shipped"] + q["backordered"]
        if q["ordered"] < parts:
            problems.append(
                f"cancelled {q['cancelled']} + allocated {q['allocated']} + shipped "
                f"{q['shipped']} + backordered {q['backordered']} exceed the "
                f"{q['ordered']} ordered"
            )
        if q["delivered"] > q["shipped"]:
            problems.append(f"delivered {q['delivered']} exceeds the {q['shipped']} shipped")
        if q["return_requested"] + q["returned"] > q["shipped"]:
            problems.append(
                f"return requested {q['return_requested']} + returned {q['returned']} "
                f"exceed the {q['shipped']} shipped"
            )
        found.extend(Violation("line_buckets", subject, problem) for problem in problems)
    return found


def orders_without_lines() -> list[Violation]:
    """A placed order has lines (a draft may not have any yet)."""
    lineless = (
        Order.objects.exclude(status=OrderStatus.DRAFT)
        .filter(~Exists(OrderLine.objects.filter(order=OuterRef("pk"))))
        .order_by("pk")
        .values_list("number", "status")
    )
    return [
        Violation("order_without_lines", f"order {number}", f"is {status} but has no lines")
        for number, status in lineless
    ]


def check_orders() -> list[Violation]:
    return [*commitment_mismatches(), *line_bucket_violations(), *orders_without_lines()]
