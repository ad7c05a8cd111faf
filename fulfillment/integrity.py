"""Fulfillment invariants, read from the stored rows (run by ``check_integrity``)."""

from django.db.models import Expression, F, IntegerField, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce

from core.integrity import Violation
from orders.models import OrderLine

from .models import FulfillmentOrderLine, FulfillmentStatus


def overfulfilled_lines() -> list[Violation]:
    """No order line is sent to locations more than once: the units of its live
    fulfillment order lines (neither rejected nor cancelled, in a fulfillment order
    not cancelled) stay within its live units (ordered minus cancelled), and no more
    units are shipped against it than it counts. A routing run repeated after a lost
    acknowledgement would break the first."""
    live_fo_lines = (
        FulfillmentOrderLine.objects.filter(order_line=OuterRef("pk"))
        .exclude(fulfillment_order__status=FulfillmentStatus.CANCELLED)
        .order_by()
        .values("order_line")
    )

    def total(expression: Expression | F) -> Coalesce:
        return Coalesce(
            Subquery(live_fo_lines.annotate(total=Sum(expression)).values("total")),
            0,
            output_field=IntegerField(),
        )

    rows = (
        OrderLine.objects.annotate(
            in_fulfillment=total(F("quantity") - F("quantity_rejected") - F("quantity_cancelled")),
            fo_shipped=total(F("quantity_shipped")),
        )
        .filter(
            Q(in_fulfillment__gt=F("quantity_ordered") - F("quantity_cancelled"))
            | Q(fo_shipped__gt=F("quantity_shipped"))
        )
        .order_by("pk")
        .values_list(
            "order__number",
            "line_number",
            "sku",
            "quantity_ordered",
            "quantity_cancelled",
            "quantity_shipped",
            "in_fulfillment",
            "fo_shipped",
        )
    )
    found = []
    for number, line_number, sku, ordered, cancelled, shipped, in_fo, fo_shipped in rows:
        subject = f"order {number} line {line_number} ({sku})"
        if in_fo > ordered - cancelled:
            found.append(
                Violation(
                    "overfulfilled_line",
                    subject,
                    f"{in_fo} units are in fulfillment orders, the line has "
                    f"{ordered - cancelled} (ordered {ordered}, cancelled {cancelled})",
                )
            )
        if fo_shipped > shipped:
            found.append(
                Violation(
                    "overfulfilled_line",
                    subject,
                    f"its fulfillment orders shipped {fo_shipped} units, the line counts "
                    f"{shipped} shipped",
                )
            )
    return found


def check_fulfillment() -> list[Violation]:
    return overfulfilled_lines()
