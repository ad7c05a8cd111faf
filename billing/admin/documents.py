"""Invoices and credit notes in the console: read-only (the services issue them and the
database refuses changes), with their PDF to download, and exported as CSV or XLSX for
an ERP (``billing.resources``: the rows the list's filters select; on the invoice list
also their lines, and the journal of a date range, ``.journal``). Payment terms rules
are data finance maintains here."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import FileResponse, Http404, HttpRequest
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from import_export.admin import ExportMixin
from import_export.formats.base_formats import CSV, XLSX

from core.admin import (
    AppendOnlyAdminMixin,
    OperatorAdminMixin,
    ReadOnlyInlineMixin,
    admin_change_url,
    short_datetime,
)
from core.money import format_money

from .. import documents
from ..models import CreditNote, CreditNoteLine, Invoice, InvoiceLine, PaymentTermsRule
from ..resources import (
    CreditNoteLineResource,
    CreditNoteResource,
    InvoiceLineResource,
    InvoiceResource,
)
from .dunning import DunningReminderInline
from .journal import JournalPageMixin

if TYPE_CHECKING:
    _ModelAdminBase = admin.ModelAdmin[Any]
else:
    _ModelAdminBase = object


def _link(obj: Model | None, label: str = "") -> str:
    if obj is None:
        return "-"
    return format_html('<a href="{}">{}</a>', admin_change_url(obj), label or str(obj))


def _pdf_link(obj: Invoice | CreditNote, url_name: str) -> str:
    return format_html('<a href="{}">Download PDF</a>', reverse(f"admin:{url_name}", args=[obj.pk]))


class _PdfDownloadMixin(_ModelAdminBase):
    """A ``<id>/pdf/`` page that serves the stored PDF (rendering and storing it first
    if its task has not run yet), to whoever may view the document."""

    pdf_url_name: str

    def store_pdf(self, obj: Any) -> Any:
        raise NotImplementedError

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view(self.pdf_view)
        return [path("<int:object_id>/pdf/", view, name=self.pdf_url_name), *super().get_urls()]

    def pdf_view(self, request: HttpRequest, object_id: int) -> FileResponse:
        obj = get_object_or_404(self.model, pk=object_id)
        if not self.has_view_permission(request, obj):
            raise PermissionDenied
        stored = self.store_pdf(obj)
        if not stored.pdf:
            raise Http404("The PDF could not be made.")
        return FileResponse(
            stored.pdf.open("rb"),
            as_attachment=True,
            filename=f"{stored.number}.pdf",
            content_type="application/pdf",
        )


class _ErpExportMixin(ExportMixin):
    """CSV or XLSX of the rows the list's filters and search select, for whoever may
    view the list (finance, managers)."""

    export_formats = (CSV, XLSX)

    def has_export_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)


class InvoiceLineInline(ReadOnlyInlineMixin, admin.TabularInline):
    model = InvoiceLine
    fields = ("position", "sku", "description", "quantity", "price", "line_discount", "net", "vat")
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[InvoiceLine]:
        return super().get_queryset(request).select_related("invoice")

    @admin.display(description="Unit price")
    def price(self, obj: InvoiceLine) -> str:
        return format_money(obj.unit_price, obj.invoice.currency)

    @admin.display(description="Discount")
    def line_discount(self, obj: InvoiceLine) -> str:
        return format_money(obj.discount, obj.invoice.currency)

    @admin.display(description="Net")
    def net(self, obj: InvoiceLine) -> str:
        return format_money(obj.line_total, obj.invoice.currency)

    @admin.display(description="Tax")
    def vat(self, obj: InvoiceLine) -> str:
        return format_money(obj.tax, obj.invoice.currency)


class CreditNoteInline(ReadOnlyInlineMixin, admin.TabularInline):
    model = CreditNote
    fk_name = "invoice"
    fields = ("credit_note", "issue_date", "reason", "total")
    readonly_fields = fields
    verbose_name_plural = "credit notes"

    @admin.display(description="Credit note")
    def credit_note(self, obj: CreditNote) -> str:
        return _link(obj, obj.number)

    @admin.display(description="Total")
    def total(self, obj: CreditNote) -> str:
        return obj.total_display


@admin.register(Invoice)
class InvoiceAdmin(
    JournalPageMixin,
    _ErpExportMixin,
    _PdfDownloadMixin,
    OperatorAdminMixin,
    AppendOnlyAdminMixin,
    admin.ModelAdmin,
):
    pdf_url_name = "billing_invoice_pdf"
    resource_classes = (InvoiceResource, InvoiceLineResource)
    # The export button and the journal page's.
    import_export_change_list_template = "admin/billing/invoice/change_list.html"
    list_display = (
        "number",
        "issue_date",
        "order_link",
        "company",
        "total",
        "status",
        "due_date",
        "payment_method",
        "pdf_download",
    )
    list_select_related = ("order", "company")
    list_filter = ("status", "payment_method", "issue_date", "due_date", "company")
    search_fields = ("number", "order__number")
    search_help_text = "Exact invoice or order number."
    date_hierarchy = "issue_date"
    ordering = ("-id",)
    change_select_related = ("order", "company", "customer", "shipment")
    fields = (
        "number",
        "status",
        "order_link",
        "shipment_link",
        "company",
        "customer",
        "issue_date",
        "issued",
        "due_date",
        "payment_method",
        "payment_terms",
        "amounts",
        "amount_paid",
        "paid_at",
        "bill_to_text",
        "pdf_download",
    )
    readonly_fields = fields
    inlines = (InvoiceLineInline, CreditNoteInline, DunningReminderInline)

    def store_pdf(self, obj: Invoice) -> Invoice:
        return documents.store_invoice_pdf(obj.pk)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Invoice], search_term: str
    ) -> tuple[QuerySet[Invoice], bool]:
        term = search_term.strip().upper()
        if not term:
            return queryset, False
        return queryset.filter(number=term) | queryset.filter(order__number=term), False

    @admin.display(description="Order", ordering="order__number")
    def order_link(self, obj: Invoice) -> str:
        return _link(obj.order)

    @admin.display(description="Shipment")
    def shipment_link(self, obj: Invoice) -> str:
        if obj.shipment is None:
            return "Closing invoice (no shipment)"
        return _link(obj.shipment, obj.shipment.tracking_number or f"Shipment {obj.shipment_id}")

    @admin.display(description="Total", ordering="grand_total")
    def total(self, obj: Invoice) -> str:
        return obj.total_display

    @admin.display(description="Issued")
    def issued(self, obj: Invoice) -> str:
        return short_datetime(obj.issued_at)

    @admin.display(description="Amounts")
    def amounts(self, obj: Invoice) -> str:
        def money(value: Any) -> str:
            return format_money(value, obj.currency)

        return (
            f"Subtotal {money(obj.subtotal)} · discount {money(obj.discount_total)} · "
            f"shipping {money(obj.shipping_total)} · tax {money(obj.tax_total)} "
            f"(shipping tax {money(obj.shipping_tax)}) · total {money(obj.grand_total)}"
        )

    @admin.display(description="Bill to")
    def bill_to_text(self, obj: Invoice) -> str:
        return _bill_to(obj.bill_to)

    @admin.display(description="PDF")
    def pdf_download(self, obj: Invoice) -> str:
        return _pdf_link(obj, self.pdf_url_name)


def _bill_to(bill_to: dict[str, Any]) -> str:
    address = bill_to.get("address") or {}
    parts = [
        bill_to.get("name", ""),
        f"Attn: {bill_to['attention']}" if bill_to.get("attention") else "",
        address.get("line1", ""),
        address.get("line2", ""),
        " ".join(
            p for p in (address.get("city"), address.get("region"), address.get("postal_code")) if p
        ),
        address.get("country", ""),
    ]
    return ", ".join(p for p in parts if p)


class CreditNoteLineInline(ReadOnlyInlineMixin, admin.TabularInline):
    model = CreditNoteLine
    fields = ("position", "description", "quantity", "net", "vat", "total")
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[CreditNoteLine]:
        return super().get_queryset(request).select_related("credit_note")

    @admin.display(description="Net")
    def net(self, obj: CreditNoteLine) -> str:
        return format_money(obj.amount, obj.credit_note.currency)

    @admin.display(description="Tax")
    def vat(self, obj: CreditNoteLine) -> str:
        return format_money(obj.tax, obj.credit_note.currency)

    @admin.display(description="Total")
    def total(self, obj: CreditNoteLine) -> str:
        return format_money(obj.line_total, obj.credit_note.currency)


@admin.register(CreditNote)
class CreditNoteAdmin(
    _ErpExportMixin, _PdfDownloadMixin, OperatorAdminMixin, AppendOnlyAdminMixin, admin.ModelAdmin
):
    pdf_url_name = "billing_creditnote_pdf"
    resource_classes = (CreditNoteResource, CreditNoteLineResource)
    list_display = (
        "number",
        "issue_date",
        "invoice_link",
        "order_link",
        "company",
        "reason",
        "total",
        "pdf_download",
    )
    list_select_related = ("invoice", "order", "company")
    list_filter = ("reason", "issue_date", "company")
    search_fields = ("number", "invoice__number", "order__number")
    search_help_text = "Exact credit note, invoice or order number."
    date_hierarchy = "issue_date"
    ordering = ("-id",)
    change_select_related = ("invoice", "order", "company", "customer", "actor_user")
    fields = (
        "number",
        "invoice_link",
        "order_link",
        "company",
        "customer",
        "issue_date",
        "issued",
        "reason",
        "note",
        "amounts",
        "actor_display",
        "pdf_download",
    )
    readonly_fields = fields
    inlines = (CreditNoteLineInline,)

    def store_pdf(self, obj: CreditNote) -> CreditNote:
        return documents.store_credit_note_pdf(obj.pk)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[CreditNote], search_term: str
    ) -> tuple[QuerySet[CreditNote], bool]:
        term = search_term.strip().upper()
        if not term:
            return queryset, False
        return (
            queryset.filter(number=term)
            | queryset.filter(invoice__number=term)
            | queryset.filter(order__number=term)
        ), False

    @admin.display(description="Invoice", ordering="invoice__number")
    def invoice_link(self, obj: CreditNote) -> str:
        return _link(obj.invoice, obj.invoice.number)

    @admin.display(description="Order", ordering="order__number")
    def order_link(self, obj: CreditNote) -> str:
        return _link(obj.order)

    @admin.display(description="Total credited", ordering="grand_total")
    def total(self, obj: CreditNote) -> str:
        return obj.total_display

    @admin.display(description="Issued")
    def issued(self, obj: CreditNote) -> str:
        return short_datetime(obj.issued_at)

    @admin.display(description="Amounts")
    def amounts(self, obj: CreditNote) -> str:
        def money(value: Any) -> str:
            return format_money(value, obj.currency)

        return (
            f"Subtotal {money(obj.subtotal)} · shipping {money(obj.shipping_total)} · "
            f"tax {money(obj.tax_total)} · total {money(obj.grand_total)}"
        )

    @admin.display(description="Issued by")
    def actor_display(self, obj: CreditNote) -> str:
        return obj.actor_display

    @admin.display(description="PDF")
    def pdf_download(self, obj: CreditNote) -> str:
        return _pdf_link(obj, self.pdf_url_name)


@admin.register(PaymentTermsRule)
class PaymentTermsRuleAdmin(OperatorAdminMixin, admin.ModelAdmin):
    list_display = ("name", "code", "days")
    ordering = ("days", "code")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Invoices name their rule by code: a rule is changed, never removed.
        return False
