"""Return invariants, read from the stored rows (run by ``check_integrity``)."""

from django.db.models import Exists, F, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce

from core.integrity import Violation
from orders.models import OrderLine

from .models import OPEN_STATUSES, ReturnLine


def requested_bucket_mismatches() -> list[Violation]:
    """An order line's ``quantity_return_requested`` equals the units its open return
    requests still expect (asked for, not received). One query."""
    open_lines = ReturnLine.objects.filter(
        order_line=OuterRef("pk"), request__status__in=OPEN_STATUSES
    )
    expected = (
        open_lines.order_by()
        .values("order_line")
        .annotate(units=Sum(F("quantity") - F("quantity_received")))
        .values("units")
    )
    rows = (
        OrderLine.objects.filter(Q(quantity_return_requested__gt=0) | Exists(open_lines))
        .annotate(expected=Coalesce(Subquery(expected), 0))
        .exclude(quantity_return_requested=F("expected"))
        .order_by("pk")
        .values_list("order__number", "line_number", "sku", "quantity_return_requested", "expected")
    )
    return [
        Violation(
            "return_requested_bucket",
            f"order {number} line {line_number} ({sku})",
            f"return requested is {requested}, but its open returns expect {expected_units}",
        )
        for number, line_number, sku, requested, expected_units in rows
    ]


def check_returns() -> list[Violation]:
    return requested_bucket_mismatches()
