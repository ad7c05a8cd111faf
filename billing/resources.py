"""Exports of invoices, invoice lines and credit notes for an ERP (django-import-export),
from the billing console's lists: CSV or XLSX of the rows the list's filters select.

Documents are export only: the services issue them and the database refuses changes.
The one import is a bank statement, booked as payments received row by row through
``billing.bank_statements`` (``BankStatementResource``). Amounts are the stored
decimals, dates ISO; parties are named by account number and e-mail as well as by name,
so an ERP can match them.
"""

from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Prefetch, QuerySet
from import_export import fields, resources
from import_export.instance_loaders import BaseInstanceLoader
from import_export.results import RowResult

from core.actors import Actor
from core.errors import DomainError
from core.money import format_money

from . import bank_statements
from .models import (
    CreditNote,
    CreditNoteLine,
    Invoice,
    InvoiceLine,
    PaymentApplication,
    ReceivedPayment,
)


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


class ReceivedPaymentResource(resources.ModelResource):
    """Payments received, for the ERP: what came in, from whom, what it paid and what
    is left on account (export only: the bank statement import is
    ``BankStatementResource``)."""

    company = fields.Field(attribute="company__account_number", column_name="company")
    company_name = fields.Field(attribute="company__name", column_name="company_name")
    customer_email = fields.Field(attribute="customer__email", column_name="customer_email")
    on_account = fields.Field(attribute="on_account", column_name="on_account")
    invoices = fields.Field(column_name="invoices")

    class Meta:
        model = ReceivedPayment
        name = "Payments received"
        fields = (
            "id",
            "received_date",
            "company",
            "company_name",
            "customer_email",
            "method",
            "bank_reference",
            "currency",
            "amount",
            "applied_total",
            "on_account",
            "invoices",
            "note",
        )
        export_order = fields

    def dehydrate_invoices(self, payment: ReceivedPayment) -> str:
        # From the prefetched live applications: no query per payment.
        return " ".join(
            f"{a.invoice.number}:{a.amount}"
            for a in payment.applications.all()
            if a.reversed_at is None
        )

    def filter_export(
        self, queryset: QuerySet[ReceivedPayment], **kwargs: Any
    ) -> QuerySet[ReceivedPayment]:
        return (
            queryset.select_related("company", "customer")
            .prefetch_related(
                Prefetch(
                    "applications",
                    queryset=PaymentApplication.objects.select_related("invoice").order_by("pk"),
                )
            )
            .order_by("received_date", "pk")
        )


class BankStatementResource(resources.Resource):
    """A bank statement (CSV or XLSX) imported as payments received: each row is one
    ``billing.bank_statements.book_row`` call, booked whole or not at all. The dry run
    books every row inside a transaction that is rolled back and reports, per row, the
    payer and invoices found, what was applied and what stays on account, and the
    duplicate, unmatched and invalid rows with their reason."""

    REPORT = ("Payer", "Invoices paid", "Applied", "On account", "Result")

    # The columns the import page lists; each row is read by ``bank_statements.read_row``.
    date = fields.Field(column_name="date")
    amount = fields.Field(column_name="amount")
    currency = fields.Field(column_name="currency")
    payer_reference = fields.Field(column_name="payer_reference")
    remittance = fields.Field(column_name="remittance")
    bank_reference = fields.Field(column_name="bank_reference")

    class Meta:
        name = "Bank statement"
        # Each row is its own service call; rows report what happened instead of a diff.
        skip_diff = True
        report_skipped = True
        # Rows are never looked up as instances: each is a service call.
        instance_loader_class = BaseInstanceLoader
        # The dry run is a transaction rolled back, whatever the project's setting.
        use_transactions = True

    @classmethod
    def get_display_name(cls) -> str:
        return "Bank statement"

    def get_diff_headers(self) -> list[str]:
        return [*bank_statements.COLUMNS, *self.REPORT]

    def before_import(self, dataset: Any, **kwargs: Any) -> None:
        headers = [str(h or "").strip().lower() for h in dataset.headers or []]
        missing = [name for name in bank_statements.REQUIRED if name not in headers]
        if missing:
            raise ValidationError(
                f"The file has no column {', '.join(missing)}: its first row names the "
                f"columns {', '.join(bank_statements.COLUMNS)}."
            )
        dataset.headers = headers

    def import_row(self, row: Any, instance_loader: Any, **kwargs: Any) -> RowResult:
        result = RowResult()
        result.row_values = row
        values = [row.get(name, "") for name in bank_statements.COLUMNS]
        user = kwargs.get("user")
        actor = Actor.for_user(user) if user is not None else Actor.system("bank statement")
        try:
            statement_row = bank_statements.read_row(row)
            booked = bank_statements.book_row(statement_row, actor=actor)
        except DomainError as exc:
            result.import_type = RowResult.IMPORT_TYPE_INVALID
            result.validation_error = ValidationError(
                bank_statements.refusal_fields(exc) or exc.message
            )
            return result
        currency = statement_row.currency or (
            booked.payment.currency if booked.payment is not None else ""
        )
        if booked.payment is not None:
            result.import_type = RowResult.IMPORT_TYPE_NEW
            result.object_id = booked.payment.pk
            result.object_repr = str(booked.payment)
            result.instance = booked.payment  # the admin logs the addition
        else:
            result.import_type = RowResult.IMPORT_TYPE_SKIP
        result.diff = [
            *values,
            booked.payer or "-",
            ", ".join(booked.invoices) or "-",
            format_money(booked.applied, currency or "USD"),
            format_money(booked.on_account, currency or "USD"),
            booked.message,
        ]
        return result
