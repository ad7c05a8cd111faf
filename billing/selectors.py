"""Reads of invoices and credit notes, with what their pages and documents show."""

from decimal import Decimal

from django.db.models import QuerySet, Sum

from .models import CreditNote, Invoice

ZERO = Decimal("0.00")


def list_invoices() -> QuerySet[Invoice]:
    return Invoice.objects.select_related("order", "company", "customer")


def get_invoice(invoice_id: int) -> Invoice:
    """An invoice with its lines, order, company and customer."""
    return (
        Invoice.objects.select_related("order", "company", "customer", "shipment")
        .prefetch_related("lines")
        .get(pk=invoice_id)
    )


def get_credit_note(credit_note_id: int) -> CreditNote:
    return (
        CreditNote.objects.select_related("invoice", "order", "company", "customer")
        .prefetch_related("lines")
        .get(pk=credit_note_id)
    )


def invoiced_total(order_id: int) -> Decimal:
    """What the invoices of an order add up to."""
    total = Invoice.objects.filter(order_id=order_id).aggregate(total=Sum("grand_total"))
    return total["total"] or ZERO


def credited_total(invoice_id: int) -> Decimal:
    """What the credit notes of an invoice add up to."""
    total = CreditNote.objects.filter(invoice_id=invoice_id).aggregate(total=Sum("grand_total"))
    return total["total"] or ZERO
