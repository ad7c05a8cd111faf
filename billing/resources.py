"""Exports of invoices, invoice lines and credit notes for an ERP (django-import-export),
from the billing console's lists: CSV or XLSX of the rows the list's filters select.

Export only: documents are issued by the services and the database refuses changes,
so nothing is imported. Amounts are the stored decimals, dates ISO; parties are named
by account number and e-mail as well as by name, so an ERP can match them.
"""

from typing import Any

from django.db.models import QuerySet
from import_export import fields, resources

from .models import CreditNote, CreditNoteLine, Invoice, InvoiceLine


class InvoiceResource(resources.ModelResource):
    order_number = fields.Field(attribute="order__number", column_name="order_number")
    shipment_id = fields.Field(attribute="shipment_id", column_name="shipment_id")
    company = fields.Field(attribute="company__account_number", column_name="company")
    company_name = fields.Field(attribute="company__name", column_name="company_name")
    customer_email = fields.Field(attribute="customer__email", column_name="customer_email")

    class Meta:
        model = Invoice
        name = "Invoices"
        fields = (
            "number",
            "issue_date",
            "due_date",
            "status",
            "order_number",
            "shipment_id",
            "company",
            "company_name",
            "customer_email",
            "payment_method",
            "payment_terms",
            "currency",
            "subtotal",
            "discount_total",
            "shipping_total",
            "shipping_tax",
            "tax_total",
            "grand_total",
            "amount_paid",
            "paid_at",
        )
        export_order = fields

    def filter_export(self, queryset: QuerySet[Invoice], **kwargs: Any) -> QuerySet[Invoice]:
        return queryset.select_related("order", "company", "customer").order_by(
            "issue_date", "number"
        )


class InvoiceLineResource(resources.ModelResource):
    """The lines of the invoices the list selects (offered on the invoice list)."""

    invoice_number = fields.Field(attribute="invoice__number", column_name="invoice_number")
    issue_date = fields.Field(attribute="invoice__issue_date", column_name="issue_date")
    order_number = fields.Field(attribute="invoice__order__number", column_name="order_number")
    currency = fields.Field(attribute="invoice__currency", column_name="currency")

    class Meta:
        model = InvoiceLine
        name = "Invoice lines"
        fields = (
            "invoice_number",
            "issue_date",
            "order_number",
            "position",
            "sku",
            "description",
            "quantity",
            "unit_price",
            "discount",
            "line_total",
            "tax",
            "currency",
        )
        export_order = fields

    def filter_export(self, queryset: QuerySet[Any], **kwargs: Any) -> QuerySet[InvoiceLine]:
        # Offered on the invoice list: ``queryset`` is the invoices its filters select.
        if queryset.model is Invoice:
            queryset = InvoiceLine.objects.filter(invoice__in=queryset.values("pk"))
        return queryset.select_related("invoice", "invoice__order").order_by(
            "invoice__issue_date", "invoice__number", "position"
        )


class CreditNoteResource(resources.ModelResource):
    invoice_number = fields.Field(attribute="invoice__number", column_name="invoice_number")
    order_number = fields.Field(attribute="order__number", column_name="order_number")
    company = fields.Field(attribute="company__account_number", column_name="company")
    company_name = fields.Field(attribute="company__name", column_name="company_name")
    customer_email = fields.Field(attribute="customer__email", column_name="customer_email")

    class Meta:
        model = CreditNote
        name = "Credit notes"
        fields = (
            "number",
            "issue_date",
            "invoice_number",
            "order_number",
            "company",
            "company_name",
            "customer_email",
            "reason",
            "note",
            "currency",
            "subtotal",
            "shipping_total",
            "tax_total",
            "grand_total",
        )
        export_order = fields

    def filter_export(self, queryset: QuerySet[CreditNote], **kwargs: Any) -> QuerySet[CreditNote]:
        return queryset.select_related("invoice", "order", "company", "customer").order_by(
            "issue_date", "number"
        )


class CreditNoteLineResource(resources.ModelResource):
    """The lines of the credit notes the list selects (offered on the credit note list)."""

    credit_note_number = fields.Field(
        attribute="credit_note__number", column_name="credit_note_number"
    )
    issue_date = fields.Field(attribute="credit_note__issue_date", column_name="issue_date")
    invoice_number = fields.Field(
        attribute="credit_note__invoice__number", column_name="invoice_number"
    )
    sku = fields.Field(attribute="invoice_line__sku", column_name="sku")
    currency = fields.Field(attribute="credit_note__currency", column_name="currency")

    class Meta:
        model = CreditNoteLine
        name = "Credit note lines"
        fields = (
            "credit_note_number",
            "issue_date",
            "invoice_number",
            "position",
            "sku",
            "description",
            "quantity",
            "amount",
            "tax",
            "line_total",
            "currency",
        )
        export_order = fields

    def filter_export(self, queryset: QuerySet[Any], **kwargs: Any) -> QuerySet[CreditNoteLine]:
        if queryset.model is CreditNote:
            queryset = CreditNoteLine.objects.filter(credit_note__in=queryset.values("pk"))
        return queryset.select_related(
            "credit_note", "credit_note__invoice", "invoice_line"
        ).order_by("credit_note__issue_date", "credit_note__number", "position")
