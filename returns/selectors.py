"""Reads of returns, with what their pages need joined in."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet, Sum

from .models import ReturnLine, ReturnRequest


def list_returns() -> QuerySet[ReturnRequest]:
    """Return requests with their order, destination and lines (reasons, order lines)."""
    return ReturnRequest.objects.select_related("order", "destination").prefetch_related(
        "lines__order_line", "lines__reason"
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


def return_rates_by_sku() -> list[dict[str, object]]:
    """Units asked back per SKU and reason (all requests but cancelled ones), for the
    analytics of return reasons and rates."""
    return list(
        ReturnLine.objects.exclude(request__status="cancelled")
        .values("order_line__sku", "reason__code")
        .annotate(requests=Count("request", distinct=True), units=Sum("quantity"))
        .order_by("order_line__sku", "reason__code")
    )
