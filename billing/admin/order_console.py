"""The order page, extended by billing: a section listing the order's invoices and
credit notes (number, dates, total, status, the outcome of the refund that issued it,
PDF), and the "Refund" button and page for finance and managers (``refunds``).

Fulfillment registered its extension of orders' order admin; billing subclasses that
one and registers the subclass in its place (``core.admin.replace_admin``). The section
is shown to whoever may view the order (agents see what was billed and whether it is
paid); the numbers link to the documents' pages, and their PDFs are offered, only to
those who may view invoices and credit notes (finance, managers).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import OuterRef, Subquery
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

from core.admin import admin_change_url, render_table, replace_admin
from core.money import format_money
from core.preferences import format_date
from fulfillment.admin.order_console import OrderWithFulfillmentAdmin
from orders.models import Order, OrderStatus

from ..models import CreditNote, Invoice, InvoiceStatus, Refund, RefundStatus
from .refunds import REFUND_PAGES, REFUND_PERMISSION, RefundForm

# What the section shows, newest last; each list is one query, whatever the counts.
DOCUMENT_ROWS = 50
# Set on the order by ``get_object``: which documents the viewer may open.
_OPENS_INVOICES = "_billing_viewer_opens_invoices"
_OPENS_CREDIT_NOTES = "_billing_viewer_opens_credit_notes"
_MAY_REFUND = "_billing_viewer_may_refund"


def _date(value: Any) -> str:
    return format_date(value)


def _number(document: Invoice | CreditNote, opens: bool) -> SafeString:
    if opens:
        return format_html('<a href="{}">{}</a>', admin_change_url(document), document.number)
    return format_html("{}", document.number)


def _pdf(document: Invoice | CreditNote, url_name: str, opens: bool) -> SafeString:
    if not opens:
        return format_html("{}", "-")
    return format_html(
        '<a href="{}">Download PDF</a>', reverse(f"admin:{url_name}", args=[document.pk])
    )


def _invoice_status(invoice: Invoice, today: Any) -> str:
    status = invoice.get_status_display()
    if invoice.status != InvoiceStatus.PAID and invoice.due_date and invoice.due_date < today:
        return f"Overdue ({status.lower()})"
    return status


def invoices_table(order: Order, *, opens: bool) -> SafeString:
    invoices = list(
        Invoice.objects.filter(order=order).order_by("issue_date", "id")[:DOCUMENT_ROWS]
    )
    today = timezone.localdate()
    return render_table(
        ("Invoice", "Issued", "Due", "Total", "Paid", "Status", "PDF"),
        (
            (
                _number(invoice, opens),
                _date(invoice.issue_date),
                _date(invoice.due_date),
                invoice.total_display,
                format_money(invoice.amount_paid, invoice.currency),
                _invoice_status(invoice, today),
                _pdf(invoice, "billing_invoice_pdf", opens),
            )
            for invoice in invoices
        ),
    )


def _refund_status(note: CreditNote) -> str:
    status = getattr(note, "refund_status", None)
    return RefundStatus(status).label if status else "-"


def credit_notes_table(order: Order, *, opens: bool) -> SafeString:
    # A refund's outcome rides on its credit notes: no query of its own.
    refund_status = Refund.objects.filter(credit_notes=OuterRef("pk")).values("status")[:1]
    notes = list(
        CreditNote.objects.filter(order=order)
        .select_related("invoice")
        .annotate(refund_status=Subquery(refund_status))
        .order_by("issue_date", "id")[:DOCUMENT_ROWS]
    )
    return render_table(
        ("Credit note", "Invoice", "Issued", "Reason", "Total credited", "Refund", "PDF"),
        (
            (
                _number(note, opens),
                note.invoice.number,
                _date(note.issue_date),
                note.get_reason_display(),
                note.total_display,
                _refund_status(note),
                _pdf(note, "billing_creditnote_pdf", opens),
            )
            for note in notes
        ),
    )


class OrderWithBillingAdmin(OrderWithFulfillmentAdmin):
    """The order page with fulfillment's sections and billing's, and the refund page."""

    service_pages = {**OrderWithFulfillmentAdmin.service_pages, **REFUND_PAGES}

    def get_object(
        self, request: HttpRequest, object_id: str, from_field: str | None = None
    ) -> Any:
        # The section's cells are rendered from the order alone; what the viewer may
        # open travels with it.
        obj = super().get_object(request, object_id, from_field)
        if obj is not None:
            setattr(obj, _OPENS_INVOICES, request.user.has_perm("billing.view_invoice"))
            setattr(obj, _OPENS_CREDIT_NOTES, request.user.has_perm("billing.view_creditnote"))
            setattr(obj, _MAY_REFUND, request.user.has_perm(REFUND_PERMISSION))
        return obj

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return (*super().get_readonly_fields(request, obj), "order_invoices", "order_credit_notes")

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        fieldsets = list(super().get_fieldsets(request, obj))
        if obj is None or obj.status == OrderStatus.DRAFT:
            return fieldsets  # nothing is billed before an order is placed
        at = next(i for i, (name, _) in enumerate(fieldsets) if name == "Notifications")
        fieldsets[at:at] = [("Billing", {"fields": ("order_invoices", "order_credit_notes")})]
        return fieldsets

    @admin.display(description="Invoices")
    def order_invoices(self, obj: Order) -> SafeString:
        return invoices_table(obj, opens=getattr(obj, _OPENS_INVOICES, False))

    @admin.display(description="Credit notes")
    def order_credit_notes(self, obj: Order) -> SafeString:
        table = credit_notes_table(obj, opens=getattr(obj, _OPENS_CREDIT_NOTES, False))
        # The refund button for finance and managers; the page says what is refundable.
        if not getattr(obj, _MAY_REFUND, False) or RefundForm.unavailable_reason(obj):
            return table
        url = reverse(f"admin:{self.page_url_name('refund')}", args=[obj.pk])
        return format_html('{}<p><a class="button" href="{}">Refund</a></p>', table, url)


replace_admin(Order, OrderWithBillingAdmin)
