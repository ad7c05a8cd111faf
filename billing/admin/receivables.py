"""Payments received in the console (``billing.receivables``): finance's list of money
received, its "Record payment" page, "Apply on-account money" and "Take off an invoice"
on a payment's page, the bank statement import (a dry run with a row report first, then
the confirmation) and the CSV/XLSX export for the ERP. Agents see all of it read-only.

The invoice list's status filter and the invoice page's payments section live here too
(``InvoiceDisplayStatusFilter``, ``InvoicePaymentsInline``): ``InvoiceWithPaymentsAdmin``
extends the invoice admin and is registered in its place.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.html import format_html
from import_export.admin import ExportMixin, ImportMixin
from import_export.formats.base_formats import CSV, XLSX

from core.actors import Actor
from core.admin import (
    AppendOnlyAdminMixin,
    OperatorAdminMixin,
    ReadOnlyInlineMixin,
    ServiceForm,
    ServicePagesMixin,
    admin_change_url,
    replace_admin,
    short_datetime,
)
from core.money import format_money
from customers.models import Company

from ..models import Invoice, PaymentApplication, ReceivedPayment, ReceivedPaymentMethod
from ..receivables import (
    DISPLAY_STATUS_CHOICES,
    Allocation,
    apply_payment,
    filter_display_status,
    record_payment,
    unapply_payment,
)
from ..resources import BankStatementResource, ReceivedPaymentResource
from .documents import InvoiceAdmin

RECORD_PERMISSION = "billing.record_receivedpayment"
IMPORT_PERMISSION = "billing.import_receivedpayment"
# A payment's page lists at most this many of its applications, newest first.
APPLICATION_ROWS = 100


def _money(amount: Decimal, currency: str) -> str:
    return format_money(amount, currency)


def parse_allocations(text: str, invoices: QuerySet[Invoice]) -> list[Allocation] | None:
    """``INV-2026-000123 40.00`` per line (an invoice number alone takes what it owes,
    up to what is left) as allocations; None for an empty text (oldest due first).
    Raises ``forms.ValidationError`` naming the line that is wrong."""
    lines = [line.split() for line in text.splitlines() if line.strip()]
    if not lines:
        return None
    numbers = [parts[0].upper() for parts in lines]
    found = dict(invoices.filter(number__in=numbers).values_list("number", "pk"))
    allocations: list[Allocation] = []
    for parts, number in zip(lines, numbers, strict=True):
        if number not in found:
            raise forms.ValidationError(f"{number}: no such invoice of this payer.")
        if len(parts) > 2:
            raise forms.ValidationError(f"{number}: one amount per line.")
        if len(parts) == 1:
            raise forms.ValidationError(
                f"{number}: give the amount to apply, or leave the box empty to apply "
                "automatically."
            )
        try:
            amount = Decimal(parts[1].replace(",", ""))
        except InvalidOperation:
            raise forms.ValidationError(f"{number}: {parts[1]} is not an amount.") from None
        allocations.append(Allocation(invoice_id=found[number], amount=amount))
    return allocations


ALLOCATIONS_HELP = (
    "One invoice per line with the amount to apply, e.g. “INV-2026-000123 40.00”. "
    "Leave empty to pay the oldest due invoices first."
)


class RecordPaymentForm(ServiceForm):
    """Money received from a company: how much, when, its bank reference, and which
    invoices it pays (or automatically, oldest due first, or none)."""

    title = "Record payment"
    submit_label = "Record payment"
    permission = RECORD_PERMISSION
    needs_object = False

    account_number = forms.CharField(
        max_length=32, label="Company account number", help_text="Who paid."
    )
    amount = forms.DecimalField(min_value=Decimal("0.01"), max_digits=14, decimal_places=2)
    received_date = forms.DateField(label="Date received", initial=timezone.localdate)
    method = forms.ChoiceField(choices=ReceivedPaymentMethod.choices)
    bank_reference = forms.CharField(
        max_length=100,
        required=False,
        help_text="The bank's reference or the cheque number: recorded once per payer.",
    )
    allocations = forms.CharField(
        required=False,
        label="Apply to",
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=ALLOCATIONS_HELP,
    )
    keep_on_account = forms.BooleanField(
        required=False, label="Keep it all on account (apply later)"
    )
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    error_fields: ClassVar[dict[str, str]] = {"amount": "amount"}

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        number = (cleaned.get("account_number") or "").strip()
        company = Company.objects.filter(account_number__iexact=number).first()
        if number and company is None:
            self.add_error("account_number", f"No company has the account number {number}.")
            return cleaned
        cleaned["company"] = company
        if company is not None:
            try:
                cleaned["parsed"] = parse_allocations(
                    cleaned.get("allocations") or "", Invoice.objects.filter(company=company)
                )
            except forms.ValidationError as exc:
                self.add_error("allocations", exc)
        if cleaned.get("keep_on_account") and cleaned.get("parsed"):
            self.add_error("keep_on_account", "Either apply it to invoices or keep it all.")
        return cleaned

    def perform(self, actor: Actor) -> str:
        data = self.cleaned_data
        payment = record_payment(
            company_id=data["company"].pk,
            amount=data["amount"],
            received_date=data["received_date"],
            method=data["method"],
            bank_reference=data.get("bank_reference") or "",
            note=data.get("note") or "",
            allocations=data.get("parsed"),
            auto_apply=not data.get("keep_on_account"),
            actor=actor,
        )
        self.changed = payment
        return _outcome(payment, "Recorded")


def _outcome(payment: ReceivedPayment, verb: str) -> str:
    applied = ", ".join(
        f"{a.invoice.number} ({_money(a.amount, payment.currency)})"
        for a in payment.applications.filter(reversed_at__isnull=True).select_related("invoice")
    )
    text = f"{verb} {payment}"
    text += f": applied to {applied}" if applied else ": nothing applied"
    if payment.on_account > 0:
        text += f"; {_money(payment.on_account, payment.currency)} on account"
    return text + "."


class ApplyPaymentForm(ServiceForm):
    """What a payment has on account, applied to invoices."""

    title = "Apply on-account money"
    submit_label = "Apply"
    permission = RECORD_PERMISSION

    allocations = forms.CharField(
        required=False,
        label="Apply to",
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=ALLOCATIONS_HELP,
    )

    @classmethod
    def unavailable_reason(cls, obj: ReceivedPayment) -> str:
        return "" if obj.on_account > 0 else "This payment has nothing left on account."

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        payment: ReceivedPayment = self.obj
        invoices = (
            Invoice.objects.filter(company=payment.company_id)
            if payment.company_id
            else Invoice.objects.filter(customer=payment.customer_id, company__isnull=True)
        )
        try:
            cleaned["parsed"] = parse_allocations(cleaned.get("allocations") or "", invoices)
        except forms.ValidationError as exc:
            self.add_error("allocations", exc)
        return cleaned

    def perform(self, actor: Actor) -> str:
        applied = apply_payment(
            payment_id=self.obj.pk, allocations=self.cleaned_data.get("parsed"), actor=actor
        )
        payment = ReceivedPayment.objects.get(pk=self.obj.pk)
        if not applied:
            return "Nothing applied: the payer has no open invoice to pay."
        return _outcome(payment, "Applied")


class UnapplyPaymentForm(ServiceForm):
    """An application taken off its invoice: the money goes back on account."""

    title = "Take off an invoice"
    submit_label = "Take off"
    permission = RECORD_PERMISSION

    application = forms.TypedChoiceField(coerce=int, label="Application")

    def __init__(self, data: Any = None, **kwargs: Any) -> None:
        super().__init__(data, **kwargs)
        live = self.obj.applications.filter(reversed_at__isnull=True).select_related("invoice")
        field = self.fields["application"]
        assert isinstance(field, forms.TypedChoiceField)  # noqa: S101 - declared above
        field.choices = [
            (a.pk, f"{a.invoice.number}: {_money(a.amount, self.obj.currency)}") for a in live
        ]

    @classmethod
    def unavailable_reason(cls, obj: ReceivedPayment) -> str:
        return "" if obj.applied_total > 0 else "This payment is not applied to any invoice."

    def perform(self, actor: Actor) -> str:
        application = unapply_payment(application_id=self.cleaned_data["application"], actor=actor)
        amount = _money(application.amount, self.obj.currency)
        return f"{amount} taken off invoice {application.invoice.number}; it is on account again."


class ApplicationInline(ReadOnlyInlineMixin, admin.TabularInline):
    model = PaymentApplication
    fk_name = "payment"
    fields = ("invoice_link", "amount_display", "applied", "reversed", "actor_label")
    readonly_fields = fields
    verbose_name_plural = "applied to invoices"
    max_rows = APPLICATION_ROWS

    def get_queryset(self, request: HttpRequest) -> QuerySet[PaymentApplication]:
        return super().get_queryset(request).select_related("invoice", "payment")

    @admin.display(description="Invoice")
    def invoice_link(self, obj: PaymentApplication) -> str:
        return format_html('<a href="{}">{}</a>', admin_change_url(obj.invoice), obj.invoice.number)

    @admin.display(description="Amount")
    def amount_display(self, obj: PaymentApplication) -> str:
        return _money(obj.amount, obj.payment.currency)

    @admin.display(description="Applied")
    def applied(self, obj: PaymentApplication) -> str:
        return short_datetime(obj.applied_at)

    @admin.display(description="Taken off")
    def reversed(self, obj: PaymentApplication) -> str:
        if obj.reversed_at is None:
            return "-"
        return f"{short_datetime(obj.reversed_at)} by {obj.reversed_by_label}"


class _StatementImportMixin(ImportMixin):
    """The bank statement import: finance only; a dry run and its row report first."""

    import_formats = (CSV, XLSX)
    resource_classes = (BankStatementResource,)

    def has_import_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm(IMPORT_PERMISSION))

    def get_import_resource_classes(self, request: HttpRequest) -> list[Any]:
        return [BankStatementResource]

    def get_export_resource_classes(self, request: HttpRequest) -> list[Any]:
        return [ReceivedPaymentResource]


@admin.register(ReceivedPayment)
class ReceivedPaymentAdmin(
    _StatementImportMixin,
    ExportMixin,
    ServicePagesMixin,
    OperatorAdminMixin,
    AppendOnlyAdminMixin,
    admin.ModelAdmin,
):
    import_export_change_list_template = "admin/billing/receivedpayment/change_list.html"
    export_formats = (CSV, XLSX)
    list_display = (
        "received_date",
        "payer",
        "amount_display",
        "applied_display",
        "on_account_display",
        "method",
        "bank_reference",
    )
    list_select_related = ("company", "customer")
    list_filter = ("method", "received_date", "currency")
    search_fields = ("bank_reference", "company__account_number")
    search_help_text = "Exact bank reference or company account number."
    date_hierarchy = "received_date"
    ordering = ("-id",)
    change_select_related = ("company", "customer", "actor_user")
    fields = (
        "payer",
        "received_date",
        "amount_display",
        "applied_display",
        "on_account_display",
        "method",
        "bank_reference",
        "note",
        "recorded",
    )
    readonly_fields = fields
    inlines = (ApplicationInline,)
    service_pages: ClassVar[dict[str, type[ServiceForm]]] = {
        "record": RecordPaymentForm,
        "apply": ApplyPaymentForm,
        "unapply": UnapplyPaymentForm,
    }

    def has_export_permission(self, request: HttpRequest) -> bool:
        # The ERP export is finance's; agents only read payments on screen.
        return bool(request.user.has_perm(RECORD_PERMISSION))

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[ReceivedPayment], search_term: str
    ) -> tuple[QuerySet[ReceivedPayment], bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        return (
            queryset.filter(bank_reference=term)
            | queryset.filter(company__account_number=term.upper())
        ), False

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        may_record = RecordPaymentForm.allowed(request.user)
        return super().changelist_view(
            request, {**(extra_context or {}), "may_record_payment": may_record}
        )

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> Any:
        obj = self.get_object(request, unquote(object_id))
        tools = self.service_tools(request, obj) if obj is not None else []
        return super().change_view(
            request, object_id, form_url, {**(extra_context or {}), "service_tools": tools}
        )

    @admin.display(description="Payer", ordering="company__name")
    def payer(self, obj: ReceivedPayment) -> str:
        return str(obj.company or obj.customer)

    @admin.display(description="Amount", ordering="amount")
    def amount_display(self, obj: ReceivedPayment) -> str:
        return _money(obj.amount, obj.currency)

    @admin.display(description="Applied")
    def applied_display(self, obj: ReceivedPayment) -> str:
        return _money(obj.applied_total, obj.currency)

    @admin.display(description="On account")
    def on_account_display(self, obj: ReceivedPayment) -> str:
        return _money(obj.on_account, obj.currency)

    @admin.display(description="Recorded")
    def recorded(self, obj: ReceivedPayment) -> str:
        return f"{short_datetime(obj.created_at)} by {obj.actor_display}"


# --- on the invoice pages ------------------------------------------------------------


class InvoiceDisplayStatusFilter(admin.SimpleListFilter):
    """Open, partially paid, paid or overdue (not paid and past its due date)."""

    title = "status"
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(value, str(label)) for value, label in DISPLAY_STATUS_CHOICES]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Invoice]) -> QuerySet[Invoice]:
        value = self.value()
        if value in dict(DISPLAY_STATUS_CHOICES):
            return filter_display_status(queryset, value)
        return queryset


class InvoicePaymentsInline(ReadOnlyInlineMixin, admin.TabularInline):
    """The payments received applied to an invoice, taken off ones included."""

    model = PaymentApplication
    fk_name = "invoice"
    fields = ("payment_link", "received", "amount_display", "applied", "reversed")
    readonly_fields = fields
    verbose_name_plural = "payments received"
    max_rows = APPLICATION_ROWS

    def get_queryset(self, request: HttpRequest) -> QuerySet[PaymentApplication]:
        return super().get_queryset(request).select_related("payment", "invoice")

    @admin.display(description="Payment")
    def payment_link(self, obj: PaymentApplication) -> str:
        label = obj.payment.bank_reference or f"Payment {obj.payment_id}"
        return format_html('<a href="{}">{}</a>', admin_change_url(obj.payment), label)

    @admin.display(description="Received")
    def received(self, obj: PaymentApplication) -> str:
        return f"{obj.payment.received_date:%Y-%m-%d}"

    @admin.display(description="Amount")
    def amount_display(self, obj: PaymentApplication) -> str:
        return _money(obj.amount, obj.invoice.currency)

    @admin.display(description="Applied")
    def applied(self, obj: PaymentApplication) -> str:
        return short_datetime(obj.applied_at)

    @admin.display(description="Taken off")
    def reversed(self, obj: PaymentApplication) -> str:
        return short_datetime(obj.reversed_at) if obj.reversed_at else "-"


class InvoiceWithPaymentsAdmin(InvoiceAdmin):
    """The invoice admin with its status filter as people read it (overdue included)
    and the payments received applied to it."""

    list_filter = tuple(  # type: ignore[assignment]
        InvoiceDisplayStatusFilter if name == "status" else name
        for name in InvoiceAdmin.list_filter
    )
    inlines = (*InvoiceAdmin.inlines, InvoicePaymentsInline)  # type: ignore[assignment]


replace_admin(Invoice, InvoiceWithPaymentsAdmin)
