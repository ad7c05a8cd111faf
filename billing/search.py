"""Billing's part of the order search (``orders.search.register_source``): an order is
found by the number of any of its invoices or credit notes (both unique, so indexed)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from core.search import SearchTerm

from .models import CreditNote, Invoice


def orders_by_invoice_number(term: SearchTerm) -> QuerySet[Any]:
    return Invoice.objects.filter(number=term.upper).values("order_id")


def orders_by_credit_note_number(term: SearchTerm) -> QuerySet[Any]:
    return CreditNote.objects.filter(number=term.upper).values("order_id")
