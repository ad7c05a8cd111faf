"""Store credit on the customer page: the balance, the ledger (read-only, newest first)
and finance's "Adjust store credit" page (goodwill credit or a correction, with a
reason), each a call of ``customers.store_credit``."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar

from django import forms
from django.contrib import admin
from django.http import HttpRequest, HttpResponse

from core.actors import Actor
from core.admin import ServiceForm, ServicePagesMixin, render_table, short_datetime
from core.money import format_money

from ..models import Customer
from ..store_credit import (
    adjust_store_credit,
    get_store_credit_balance,
    grant_store_credit,
    list_store_credit_entries,
)
from ..store_credit_models import StoreCreditKind

ADJUST_PERMISSION = "customers.adjust_store_credit"
# Ledger entries shown on a customer's page, newest first.
LEDGER_ROWS = 50

GOODWILL = "goodwill"
CORRECTION = "correction"


class AdjustStoreCreditForm(ServiceForm):
    """Goodwill credit (added to the balance) or a correction (either way; never below
    zero), with the reason finance gives."""

    title = "Adjust store credit"
    submit_label = "Record"
    permission = ADJUST_PERMISSION

    kind = forms.ChoiceField(
        choices=[
            (GOODWILL, "Goodwill credit (adds to the balance)"),
            (CORRECTION, "Correction (adds, or takes off with a minus sign)"),
        ],
        label="What",
    )
    amount = forms.DecimalField(
        max_digits=14,
        decimal_places=2,
        help_text="In the customer's store credit currency; a correction may be negative.",
    )
    reason = forms.CharField(max_length=300, widget=forms.Textarea(attrs={"rows": 2}))

    error_fields: ClassVar[dict[str, str]] = {"amount": "amount", "reason": "reason"}

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        amount = cleaned.get("amount")
        if amount is not None and amount == 0:
            self.add_error("amount", "An amount other than zero.")
        if cleaned.get("kind") == GOODWILL and amount is not None and amount < 0:
            self.add_error("amount", "Goodwill credit adds to the balance: a positive amount.")
        return cleaned

    def perform(self, actor: Actor) -> str:
        customer: Customer = self.obj
        data = self.cleaned_data
        amount: Decimal = data["amount"]
        _, currency = get_store_credit_balance(customer.pk)
        if data["kind"] == GOODWILL:
            entry = grant_store_credit(
                customer_id=customer.pk,
                amount=amount,
                currency=currency,
                kind=StoreCreditKind.GOODWILL,
                reason=data["reason"],
                actor=actor,
            )
        else:
            entry = adjust_store_credit(
                customer_id=customer.pk,
                amount=amount,
                currency=currency,
                reason=data["reason"],
                actor=actor,
            )
        return (
            f"{entry.get_kind_display()} of {format_money(entry.amount, entry.currency)} "
            f"recorded: the store credit balance is now "
            f"{format_money(entry.balance_after, entry.currency)}."
        )


class StoreCreditAdminMixin(ServicePagesMixin):
    """The customer page's "Store credit" section and its adjustment page."""

    service_pages: ClassVar[dict[str, type[ServiceForm]]] = {
        "adjust-store-credit": AdjustStoreCreditForm
    }

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        fieldsets = list(super().get_fieldsets(request, obj))
        if obj is None:
            return fieldsets
        return [
            *fieldsets,
            ("Store credit", {"fields": ("store_credit_balance", "store_credit_ledger")}),
        ]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = tuple(super().get_readonly_fields(request, obj))
        if obj is None:
            return fields
        return (*fields, "store_credit_balance", "store_credit_ledger")

    @admin.display(description="Balance")
    def store_credit_balance(self, obj: Customer) -> str:
        balance, currency = get_store_credit_balance(obj.pk)
        return format_money(balance, currency)

    @admin.display(description=f"Ledger (newest {LEDGER_ROWS})")
    def store_credit_ledger(self, obj: Customer) -> str:
        entries = list(list_store_credit_entries(obj.pk)[:LEDGER_ROWS])
        return render_table(
            ("When", "What", "Amount", "Balance after", "Order", "Reference", "Reason", "By"),
            (
                (
                    short_datetime(entry.created_at),
                    entry.get_kind_display(),
                    format_money(entry.amount, entry.currency),
                    format_money(entry.balance_after, entry.currency),
                    entry.order_number or "-",
                    entry.reference or "-",
                    entry.reason or "-",
                    entry.actor_display,
                )
                for entry in entries
            ),
        )

    def render_change_form(  # noqa: PLR0917 - Django's signature
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Any = None,
    ) -> HttpResponse:
        context["customer_tools"] = self.service_tools(request, obj) if obj is not None else []
        return super().render_change_form(request, context, add, change, form_url, obj)
