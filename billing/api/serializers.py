"""What the billing API shows of invoices and credit notes: read-only output shapes.

Amounts are strings with two decimals in the document's ``currency``, as on the order
resource. Each document carries ``links`` to itself, its PDF and its order (and a credit
note to the invoice it corrects), as absolute URLs when the request is known.
"""

from decimal import Decimal
from typing import Any

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from orders.api.serializers import iso_datetime

from ..models import CreditNote, CreditNoteLine, Invoice, InvoiceLine
from ..receivables import balance_due, display_status

ZERO = Decimal("0")


def _cents(value: Decimal) -> str:
    return f"{value:.2f}"


def _url(serializer: serializers.Serializer, name: str, number: str) -> str:
    path = reverse(name, kwargs={"number": number})
    request = serializer.context.get("request")
    return request.build_absolute_uri(path) if request is not None else path


class InvoiceTotalsOutput(serializers.Serializer):
    """Amounts as strings of two decimals, in ``currency``. ``grand_total`` = ``subtotal``
    - ``discount`` + ``shipping`` + ``tax``; ``tax`` includes ``shipping_tax``."""

    currency = serializers.CharField()
    subtotal = serializers.DecimalField(max_digits=14, decimal_places=2)
    discount = serializers.DecimalField(max_digits=14, decimal_places=2)
    shipping = serializers.DecimalField(max_digits=12, decimal_places=2)
    shipping_tax = serializers.DecimalField(max_digits=12, decimal_places=2)
    tax = serializers.DecimalField(max_digits=12, decimal_places=2)
    grand_total = serializers.DecimalField(max_digits=14, decimal_places=2)


class InvoiceLineOutput(serializers.Serializer):
    """``line_total`` is net of the line's discount and before tax."""

    position = serializers.IntegerField()
    sku = serializers.CharField()
    description = serializers.CharField()
    quantity = serializers.IntegerField()
    unit_price = serializers.DecimalField(max_digits=12, decimal_places=2)
    discount = serializers.DecimalField(max_digits=12, decimal_places=2)
    tax = serializers.DecimalField(max_digits=12, decimal_places=2)
    line_total = serializers.DecimalField(max_digits=14, decimal_places=2)


class InvoiceLinksOutput(serializers.Serializer):
    self = serializers.URLField()
    pdf = serializers.URLField()
    order = serializers.URLField()


class InvoiceOutput(serializers.Serializer):
    """An invoice as an integrator reads it: one shipment's lines, their tax, its share
    of shipping, what is paid and what credit notes corrected."""

    number = serializers.CharField()
    status = serializers.CharField(
        help_text="`issued` (open), `partially_paid`, `paid`, or `overdue`: not paid in "
        "full and past its due date."
    )
    overdue = serializers.BooleanField(help_text="Not paid in full and past its due date.")
    balance_due = serializers.DecimalField(
        max_digits=14,
        decimal_places=2,
        help_text="What is still to pay: the total less credit notes and payments.",
    )
    order_number = serializers.CharField()
    shipment_id = serializers.IntegerField(
        allow_null=True,
        help_text="The shipment it bills; null for the order's closing invoice (the shipping "
        "and tax its shipments' invoices left when the rest of the order was cancelled).",
    )
    issue_date = serializers.DateField()
    issued_at = serializers.DateTimeField()
    due_date = serializers.DateField(allow_null=True, help_text="None for card payments.")
    payment_method = serializers.CharField()
    payment_terms = serializers.CharField(help_text="The terms rule's code (`net30`), or blank.")
    totals = serializers.SerializerMethodField()
    amount_paid = serializers.DecimalField(max_digits=14, decimal_places=2)
    paid_at = serializers.DateTimeField(allow_null=True)
    amount_credited = serializers.SerializerMethodField(
        help_text="What the invoice's credit notes add up to."
    )
    credit_notes = serializers.SerializerMethodField()
    bill_to = serializers.DictField(help_text="Who is billed, as on the invoice.")
    lines = serializers.SerializerMethodField()
    links = serializers.SerializerMethodField()

    def to_representation(self, invoice: Invoice) -> dict[str, Any]:
        today = self.context.get("today")
        status = display_status(invoice, today=today) if today is not None else invoice.status
        # From the prefetched credit notes: no query per invoice.
        credited = sum((n.grand_total for n in invoice.credit_notes.all()), start=ZERO)
        return {
            "number": invoice.number,
            "status": status,
            "overdue": status == "overdue",
            "balance_due": _cents(balance_due(invoice, credited=credited)),
            "order_number": invoice.order.number,
            "shipment_id": invoice.shipment_id,
            "issue_date": invoice.issue_date.isoformat(),
            "issued_at": iso_datetime(invoice.issued_at),
            "due_date": invoice.due_date.isoformat() if invoice.due_date else None,
            "payment_method": invoice.payment_method,
            "payment_terms": invoice.payment_terms,
            "totals": self.get_totals(invoice),
            "amount_paid": _cents(invoice.amount_paid),
            "paid_at": iso_datetime(invoice.paid_at),
            "amount_credited": self.get_amount_credited(invoice),
            "credit_notes": self.get_credit_notes(invoice),
            "bill_to": invoice.bill_to,
            "lines": self.get_lines(invoice),
            "links": self.get_links(invoice),
        }

    @extend_schema_field(InvoiceTotalsOutput)
    def get_totals(self, invoice: Invoice) -> dict[str, str]:
        return {
            "currency": invoice.currency,
            "subtotal": _cents(invoice.subtotal),
            "discount": _cents(invoice.discount_total),
            "shipping": _cents(invoice.shipping_total),
            "shipping_tax": _cents(invoice.shipping_tax),
            "tax": _cents(invoice.tax_total),
            "grand_total": _cents(invoice.grand_total),
        }

    @extend_schema_field(serializers.DecimalField(max_digits=14, decimal_places=2))
    def get_amount_credited(self, invoice: Invoice) -> str:
        # From the prefetched credit notes: no query per invoice.
        return _cents(sum((n.grand_total for n in invoice.credit_notes.all()), start=ZERO))

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_credit_notes(self, invoice: Invoice) -> list[str]:
        return [n.number for n in sorted(invoice.credit_notes.all(), key=lambda n: n.pk)]

    @extend_schema_field(InvoiceLineOutput(many=True))
    def get_lines(self, invoice: Invoice) -> list[dict[str, Any]]:
        return [_invoice_line(line) for line in invoice.lines.all()]

    @extend_schema_field(InvoiceLinksOutput)
    def get_links(self, invoice: Invoice) -> dict[str, str]:
        return {
            "self": _url(self, "api-invoice-detail", invoice.number),
            "pdf": _url(self, "api-invoice-pdf", invoice.number),
            "order": _url(self, "api-order-detail", invoice.order.number),
        }


def _invoice_line(line: InvoiceLine) -> dict[str, Any]:
    return {
        "position": line.position,
        "sku": line.sku,
        "description": line.description,
        "quantity": line.quantity,
        "unit_price": _cents(line.unit_price),
        "discount": _cents(line.discount),
        "tax": _cents(line.tax),
        "line_total": _cents(line.line_total),
    }


class CreditNoteTotalsOutput(serializers.Serializer):
    """Amounts credited, as strings of two decimals: ``grand_total`` = ``subtotal`` +
    ``shipping`` + ``tax``."""

    currency = serializers.CharField()
    subtotal = serializers.DecimalField(max_digits=14, decimal_places=2)
    shipping = serializers.DecimalField(max_digits=12, decimal_places=2)
    tax = serializers.DecimalField(max_digits=12, decimal_places=2)
    grand_total = serializers.DecimalField(max_digits=14, decimal_places=2)


class CreditNoteLineOutput(serializers.Serializer):
    """Credited units of an invoice line (``invoice_line_position``), or an amount
    (``quantity`` 0, no position). ``amount`` is net; ``line_total`` adds the tax."""

    position = serializers.IntegerField()
    invoice_line_position = serializers.IntegerField(allow_null=True)
    description = serializers.CharField()
    quantity = serializers.IntegerField()
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    tax = serializers.DecimalField(max_digits=12, decimal_places=2)
    line_total = serializers.DecimalField(max_digits=14, decimal_places=2)


class CreditNoteLinksOutput(serializers.Serializer):
    self = serializers.URLField()
    pdf = serializers.URLField()
    invoice = serializers.URLField()
    order = serializers.URLField()


class CreditNoteOutput(serializers.Serializer):
    """A credit note: the correction of one invoice (returned or damaged goods,
    goodwill, ...)."""

    number = serializers.CharField()
    invoice_number = serializers.CharField()
    order_number = serializers.CharField()
    issue_date = serializers.DateField()
    issued_at = serializers.DateTimeField()
    reason = serializers.CharField()
    note = serializers.CharField()
    totals = serializers.SerializerMethodField()
    bill_to = serializers.DictField()
    lines = serializers.SerializerMethodField()
    links = serializers.SerializerMethodField()

    def to_representation(self, note: CreditNote) -> dict[str, Any]:
        return {
            "number": note.number,
            "invoice_number": note.invoice.number,
            "order_number": note.order.number,
            "issue_date": note.issue_date.isoformat(),
            "issued_at": iso_datetime(note.issued_at),
            "reason": note.reason,
            "note": note.note,
            "totals": self.get_totals(note),
            "bill_to": note.bill_to,
            "lines": self.get_lines(note),
            "links": self.get_links(note),
        }

    @extend_schema_field(CreditNoteTotalsOutput)
    def get_totals(self, note: CreditNote) -> dict[str, str]:
        return {
            "currency": note.currency,
            "subtotal": _cents(note.subtotal),
            "shipping": _cents(note.shipping_total),
            "tax": _cents(note.tax_total),
            "grand_total": _cents(note.grand_total),
        }

    @extend_schema_field(CreditNoteLineOutput(many=True))
    def get_lines(self, note: CreditNote) -> list[dict[str, Any]]:
        return [_credit_note_line(line) for line in note.lines.all()]

    @extend_schema_field(CreditNoteLinksOutput)
    def get_links(self, note: CreditNote) -> dict[str, str]:
        return {
            "self": _url(self, "api-credit-note-detail", note.number),
            "pdf": _url(self, "api-credit-note-pdf", note.number),
            "invoice": _url(self, "api-invoice-detail", note.invoice.number),
            "order": _url(self, "api-order-detail", note.order.number),
        }


def _credit_note_line(line: CreditNoteLine) -> dict[str, Any]:
    return {
        "position": line.position,
        "invoice_line_position": line.invoice_line.position if line.invoice_line else None,
        "description": line.description,
        "quantity": line.quantity,
        "amount": _cents(line.amount),
        "tax": _cents(line.tax),
        "line_total": _cents(line.line_total),
    }
