"""Credit notes: the only correction of an issued invoice.

``issue_credit_note`` is the one service that credits an invoice; the refund service
and returns call it. A credit note credits units of the invoice's lines, its shipping,
and/or an amount, and the credit notes of an invoice never add up to more than it.
"""

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from core import outbox
from core.actors import Actor
from core.errors import Conflict, InvalidInput
from core.money import format_money, to_cents
from orders.events import record_order_event
from orders.models import OrderEventType

from .models import CreditNote, CreditNoteLine, CreditReason, Invoice, InvoiceLine
from .numbering import CREDIT_NOTE_SERIES, next_number
from .receivables import settle_invoice

ZERO = Decimal("0.00")


class CreditExceedsInvoice(Conflict):
    code = "credit_exceeds_invoice"


@dataclass(frozen=True)
class CreditLine:
    """Units of an invoice line to credit."""

    invoice_line_id: int
    quantity: int


def invoice_for_update(invoice_id: int) -> Invoice:
    """Lock an invoice row: what is credited (and, later, paid) against it is decided
    under this lock. Taken after the order's lock when a transaction takes both."""
    return Invoice.objects.select_for_update(no_key=True).get(pk=invoice_id)


def _line_credits(invoice: Invoice, requested: Sequence[CreditLine]) -> list[CreditNoteLine]:
    lines = {line.pk: line for line in InvoiceLine.objects.filter(invoice=invoice)}
    credited = {
        row["invoice_line_id"]: row
        for row in CreditNoteLine.objects.filter(invoice_line__invoice=invoice)
        .values("invoice_line_id")
        .annotate(quantity=Sum("quantity"), amount=Sum("amount"), tax=Sum("tax"))
    }
    wanted: dict[int, int] = {}
    for item in requested:
        if item.invoice_line_id not in lines:
            raise InvalidInput(f"{invoice} has no line {item.invoice_line_id}.")
        if isinstance(item.quantity, bool) or item.quantity <= 0:
            raise InvalidInput("Quantities to credit must be positive whole numbers.")
        wanted[item.invoice_line_id] = wanted.get(item.invoice_line_id, 0) + item.quantity
    result = []
    for line_id, quantity in sorted(wanted.items(), key=lambda kv: lines[kv[0]].position):
        line = lines[line_id]
        done = credited.get(line_id, {})
        done_quantity = done.get("quantity") or 0
        left = line.quantity - done_quantity
        if quantity > left:
            raise CreditExceedsInvoice(
                f"{line.sku}: only {left} of {line.quantity} invoiced units are left to credit."
            )
        if quantity == left:  # the last units take what is left of the line, to the cent
            amount = line.line_total - (done.get("amount") or ZERO)
            tax = line.tax - (done.get("tax") or ZERO)
        else:
            amount = to_cents(line.line_total * quantity / line.quantity)
            tax = to_cents(line.tax * quantity / line.quantity)
        result.append(
            CreditNoteLine(
                invoice_line=line,
                description=f"{line.sku} {line.description}"[:200],
                quantity=quantity,
                amount=amount,
                tax=tax,
                line_total=amount + tax,
            )
        )
    return result


@transaction.atomic
def issue_credit_note(
    *,
    invoice_id: int,
    reason: str,
    actor: Actor,
    lines: Sequence[CreditLine] = (),
    shipping: bool = False,
    amount: Decimal | None = None,
    note: str = "",
    issue_date: dt.date | None = None,
) -> CreditNote:
    """Credit units of an invoice's ``lines`` (their net and tax, pro rata), its
    ``shipping`` (with its tax) and/or an ``amount`` (tax included, split between net
    and tax as the invoice's total is).

    Under the invoice's row lock: the invoice's credit notes, this one included, never
    exceed its total (nor a line's units, nor its shipping); else
    ``CreditExceedsInvoice`` and nothing is written. Writes the credit note and its
    lines with the next CN number, an order timeline entry and ``credit_note.issued``
    (which renders its PDF).
    """
    if reason not in CreditReason.values:
        raise InvalidInput(f"Unknown credit reason {reason!r}.", fields={"reason": reason})
    if amount is not None and (not isinstance(amount, Decimal) or amount <= 0):
        raise InvalidInput("The amount to credit must be a positive amount of money.")
    if not lines and not shipping and amount is None:
        raise InvalidInput("A credit note credits lines, shipping or an amount.")
    invoice = invoice_for_update(invoice_id)
    credit_lines = _line_credits(invoice, lines)
    shipping_total = shipping_tax = ZERO
    if shipping:
        done = CreditNote.objects.filter(invoice=invoice).aggregate(s=Sum("shipping_total"))
        if (done["s"] or ZERO) > 0 or invoice.shipping_total == 0:
            raise CreditExceedsInvoice(f"{invoice}: its shipping has nothing left to credit.")
        shipping_total, shipping_tax = invoice.shipping_total, invoice.shipping_tax
    if amount is not None:
        amount = to_cents(amount)
        tax = (
            to_cents(amount * invoice.tax_total / invoice.grand_total)
            if invoice.grand_total
            else ZERO
        )
        credit_lines.append(
            CreditNoteLine(
                description=f"Adjustment: {CreditReason(reason).label}",
                quantity=0,
                amount=amount - tax,
                tax=tax,
                line_total=amount,
            )
        )
    subtotal = sum((line.amount for line in credit_lines), ZERO)
    tax_total = sum((line.tax for line in credit_lines), ZERO) + shipping_tax
    grand_total = subtotal + shipping_total + tax_total
    credited = CreditNote.objects.filter(invoice=invoice).aggregate(t=Sum("grand_total"))
    already = credited["t"] or ZERO
    if grand_total <= 0:
        raise InvalidInput("This credit note would credit nothing.")
    if already + grand_total > invoice.grand_total:
        left = format_money(invoice.grand_total - already, invoice.currency)
        raise CreditExceedsInvoice(
            f"{invoice} has {left} left to credit; this credit note would be "
            f"{format_money(grand_total, invoice.currency)}.",
            invoice=invoice.number,
        )
    day = issue_date or timezone.localdate()
    credit_note = CreditNote.objects.create(
        number=next_number(CREDIT_NOTE_SERIES, day),
        invoice=invoice,
        order_id=invoice.order_id,
        company_id=invoice.company_id,
        customer_id=invoice.customer_id,
        currency=invoice.currency,
        issue_date=day,
        issued_at=timezone.now(),
        reason=reason,
        note=note,
        subtotal=subtotal,
        shipping_total=shipping_total,
        tax_total=tax_total,
        grand_total=grand_total,
        bill_to=invoice.bill_to,
        seller=invoice.seller,
        **actor.as_fields(),
    )
    for position, line in enumerate(credit_lines, start=1):
        line.credit_note = credit_note
        line.position = position
    CreditNoteLine.objects.bulk_create(credit_lines)
    # An invoice on terms owes less now: paid once credits and payments cover it.
    settle_invoice(invoice, actor=actor)
    record_order_event(
        order=invoice.order,
        type=OrderEventType.NOTE,
        actor=actor,
        message=(
            f"Credit note {credit_note.number} issued against {invoice.number}: "
            f"{format_money(grand_total, invoice.currency)} ({CreditReason(reason).label})"
        ),
        payload={
            "credit_note_id": credit_note.pk,
            "credit_note_number": credit_note.number,
            "invoice_number": invoice.number,
            "grand_total": str(grand_total),
            "reason": reason,
        },
    )
    outbox.emit(
        "credit_note.issued", {"order_id": invoice.order_id, "credit_note_id": credit_note.pk}
    )
    return credit_note
