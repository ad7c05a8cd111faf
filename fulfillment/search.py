"""Fulfillment's part of the order search (``orders.search.register_source``): an order
is found by the tracking number of any of its shipments (indexed), typed in any case."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from core.search import SearchTerm

from .models import Shipment


def orders_by_tracking_number(term: SearchTerm) -> QuerySet[Any]:
    numbers = sorted({term.raw, term.upper})
    return Shipment.objects.filter(tracking_number__in=numbers).values("order_id")
