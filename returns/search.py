"""Returns' part of the order search (``orders.search.register_source``): an order is
found by the RMA number of any of its return requests."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from core.search import SearchTerm

from .models import ReturnRequest


def orders_by_rma_number(term: SearchTerm) -> QuerySet[Any]:
    return ReturnRequest.objects.filter(number=term.upper).values("order_id")
