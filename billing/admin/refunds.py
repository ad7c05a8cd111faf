"""The order's "Refund" page: finance (and managers) give money back on an order:
units of its invoiced lines and/or an amount, with a reason (``billing.refunds``).

One service call per submit; a refusal (above the refundable amount, bad input) comes
back as a message with nothing written, a success names the credit notes issued.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.db.models import Sum

from core.actors import Actor
from core.money import format_money
from orders.admin.base import OrderPageForm
from orders.models import OrderStatus, PaymentMethod

from ..models import CreditReason, InvoiceLine, RefundDestination, RefundStatus
from ..refunds import RefundLine, refund_order, refundable_amount

REFUND_PERMISSION = "billing.refund_order"
_QUANTITY = "quantity_"

_OUTCOME = {
    RefundStatus.PENDING: "being paid back to the card",
    RefundStatus.REFUNDED: "paid back to the card",
    RefundStatus.CREDITED: "credited to the invoice",
    RefundStatus.STORE_CREDIT: "credited to the customer's store credit",
    RefundStatus.FAILED: "the card refund failed: pay it back by other means",
}


class RefundForm(OrderPageForm):
    """Units of the order's invoiced lines and/or an amount (tax included)."""

    title = "Refund"
    submit_label = "Refund"
    permission = REFUND_PERMISSION
    statuses = (OrderStatus.PLACED, OrderStatus.PROCESSING, OrderStatus.COMPLETED)
    not_applicable = "nothing was invoiced on it to refund"

    amount = forms.DecimalField(
        required=False,
        min_value=Decimal("0.01"),
        max_digits=14,
        decimal_places=2,
        help_text="Tax included; leave empty to refund only the units below.",
    )
    reason = forms.ChoiceField(choices=CreditReason.choices)
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    destination = forms.ChoiceField(
        choices=[
            (RefundDestination.ORIGINAL, "Back to the card"),
            (RefundDestination.STORE_CREDIT, "As store credit for the customer"),
        ],
        initial=RefundDestination.ORIGINAL,
        required=False,
        label="Refund to",
        help_text="Store credit: the customer's balance grows; nothing goes to the card.",
    )

    def __init__(self, data: Any = None, **kwargs: Any) -> None:
        super().__init__(data, **kwargs)
        if self.order.payment_method != PaymentMethod.CARD:
            # Store credit goes back to store credit, terms to the invoice: no choice.
            del self.fields["destination"]
        invoiced = (
            InvoiceLine.objects.filter(invoice__order=self.order)
            .values("order_line_id", "sku", "description")
            .annotate(units=Sum("quantity"))
            .order_by("order_line_id")
        )
        for row in invoiced:
            self.fields[f"{_QUANTITY}{row['order_line_id']}"] = forms.IntegerField(
                required=False,
                min_value=0,
                max_value=row["units"],
                label=f"{row['sku']} {row['description']}"[:120],
                help_text=f"Units to refund, of {row['units']} invoiced.",
            )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("amount") is None and not self._lines(cleaned):
            raise forms.ValidationError("Give units to refund, an amount, or both.")
        return cleaned

    @staticmethod
    def _lines(cleaned: dict[str, Any]) -> list[RefundLine]:
        return [
            RefundLine(order_line_id=int(name.removeprefix(_QUANTITY)), quantity=value)
            for name, value in cleaned.items()
            if name.startswith(_QUANTITY) and value
        ]

    def summary(self) -> str:
        left = format_money(refundable_amount(self.order), self.order.currency)
        return f"Refundable now: {left} (paid by {self.order.get_payment_method_display()})."

    def perform(self, actor: Actor) -> str:
        data = self.cleaned_data
        refund = refund_order(
            order_id=self.order.pk,
            amount=data.get("amount"),
            lines=self._lines(data),
            reason=data["reason"],
            note=data.get("note") or "",
            actor=actor,
            destination=data.get("destination") or RefundDestination.ORIGINAL,
        )
        numbers = ", ".join(refund.credit_notes.order_by("id").values_list("number", flat=True))
        return (
            f"Refund of {format_money(refund.amount, refund.currency)}: credit note "
            f"{numbers} issued, {_OUTCOME[RefundStatus(refund.status)]}."
        )


REFUND_PAGES = {"refund": RefundForm}
