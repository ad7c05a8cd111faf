"""Reads of returns, with what their pages need joined in."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Q, QuerySet, Sum

from orders.models import OrderLine

from .models import ReturnLine, ReturnRequest, ReturnStatus


def list_returns() -> QuerySet[ReturnRequest]:
    """Return requests with their order, destination, lines (reasons, order lines),
    replacements, refunds (credit notes) and label carrier."""
    return ReturnRequest.objects.select_related(
        "order", "destination", "carrier", "exchange_order"
    ).prefetch_related(
        "lines__order_line",
        "lines__reason",
        "exchange_lines",
        "refunds__refund__credit_notes",
    )


def list_client_returns(company_id: int | None) -> QuerySet[ReturnRequest]:
    """The returns an API key may read: its company's, or (``None``) the storefront's,
    those of B2C web orders. Anything else is 404 to it, like an unknown number."""
    scoped = (
        Q(company_id=company_id)
        if company_id is not None
        else Q(company__isnull=True, order__channel="web")
    )
    return list_returns().filter(scoped)


@dataclass(frozen=True)
class SkuReturnRate:
    """How often one SKU comes back, and why."""

    sku: str
    units_delivered: int
    units_returned: int  # received back (``OrderLine.quantity_returned``)
    rate: float  # units returned / units delivered, 0.0 when nothing was delivered
    reasons: dict[str, int]  # units asked back per reason code


def return_rates_by_sku(since: dt.datetime | None = None) -> list[SkuReturnRate]:
    """Per SKU: units delivered, units returned, the return rate and the units asked
    back per reason, in SKU order. Two queries.

    The orders counted are those placed at or after ``since`` (all, when ``None``): a
    cohort, so the units returned are units of the same deliveries and the rate stays
    within 0 and 1. Reasons count the units of every request but cancelled ones (a
    rejected request still says why the customer wanted to send it back).

    Shown nowhere yet: the analytics of return reasons and rates will read it.
    """
    lines = OrderLine.objects.all()
    asked = ReturnLine.objects.exclude(request__status=ReturnStatus.CANCELLED)
    if since is not None:
        lines = lines.filter(order__placed_at__gte=since)
        asked = asked.filter(order_line__order__placed_at__gte=since)
    delivered = {
        row["sku"]: (row["delivered"], row["returned"])
        for row in lines.filter(quantity_delivered__gt=0)
        .values("sku")
        .annotate(delivered=Sum("quantity_delivered"), returned=Sum("quantity_returned"))
        .order_by()
    }
    reasons: dict[str, dict[str, int]] = {}
    for row in (
        asked.values("order_line__sku", "reason__code")
        .annotate(units=Sum("quantity"))
        .order_by("order_line__sku", "reason__code")
    ):
        reasons.setdefault(row["order_line__sku"], {})[row["reason__code"]] = row["units"]
    rates = []
    for sku in sorted(delivered.keys() | reasons.keys()):
        units_delivered, units_returned = delivered.get(sku, (0, 0))
        rates.append(
            SkuReturnRate(
                sku=sku,
                units_delivered=units_delivered,
                units_returned=units_returned,
                rate=units_returned / units_delivered if units_delivered else 0.0,
                reasons=reasons.get(sku, {}),
            )
        )
    return rates
