"""Refunds: the one service that gives captured (or invoiced) money back on an order.

``refund_order`` refunds units of order lines (at their invoiced value, tax included)
and/or a free amount, with a reason code. In one transaction, under the order's row
lock, it checks the refundable amount, issues the credit notes against the invoices it
corrects (newest first, never exceeding any) and, for a card order, writes a pending
``refund`` ledger row per credit note (``refund:<credit note id>``) and emits
``refund.requested``. Its consumer (``execute_refund``) calls the provider outside any
transaction and finishes each row, as ``billing.payments`` does for captures. An order
on terms calls no provider: the credit note lowers what its invoice still asks for.

``destination="store_credit"`` credits the money to the customer's store credit instead
of the card (in the same transaction, no provider call); an order paid with store credit
is always refunded that way.
"""

import logging
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
from core.outbox import RetryLater
from customers.store_credit import grant_store_credit
from customers.store_credit_models import StoreCreditKind
from orders.events import record_order_event
from orders.models import Order, OrderEventType, OrderLine, PaymentMethod, PaymentStatus
from orders.services import order_for_update, record_payment_status
from orders.store_credit import record_store_credit_status

from .credit_notes import CreditExceedsInvoice, CreditLine, issue_credit_note
from .models import (
    ZERO,
    CreditNote,
    CreditNoteLine,
    CreditReason,
    Invoice,
    InvoiceLine,
    Payment,
    PaymentTransaction,
    Refund,
    RefundDestination,
    RefundStatus,
    TransactionKind,
    TransactionOutcome,
)
from .payments import (
    PROVIDER_RETRY_AFTER,
    derive_payment_status,
    ensure_outside_transaction,
    order_payment_status,
)
from .providers import PaymentError, ProviderUnavailable, get_provider

logger = logging.getLogger(__name__)

ACTOR = Actor.system("refunds")


class RefundExceedsRefundable(Conflict):
    code = "refund_exceeds_refundable"


class IdempotencyKeyReused(InvalidInput):
    """The key was used for another order's refund, or with another request."""

    code = "idempotency_key_reused"
    status = 422


@dataclass(frozen=True)
class RefundLine:
    """Units of an order line to refund."""

    order_line_id: int
    quantity: int


# --- what can be refunded -------------------------------------------------------------


def _invoiced_left(order_id: int) -> Decimal:
    invoiced = Invoice.objects.filter(order_id=order_id).aggregate(t=Sum("grand_total"))["t"]
    credited = CreditNote.objects.filter(order_id=order_id).aggregate(t=Sum("grand_total"))["t"]
    return (invoiced or ZERO) - (credited or ZERO)


def _pending_refunds(payment_id: int) -> Decimal:
    return (
        PaymentTransaction.objects.filter(
            payment_id=payment_id, kind=TransactionKind.REFUND, outcome=TransactionOutcome.PENDING
        ).aggregate(t=Sum("amount"))["t"]
        or ZERO
    )


def _card_left(payment: Payment) -> Decimal:
    """What a card payment can still pay back: captured, less refunded and in flight."""
    return payment.amount_captured - payment.amount_refunded - _pending_refunds(payment.pk)


def refundable_amount(order: Order) -> Decimal:
    """What a refund of the order may be at most: for a card, what was captured and is
    not refunded (nor being refunded), within what its invoices still hold uncredited;
    for an order on terms, what its invoices still hold uncredited."""
    left = _invoiced_left(order.pk)
    if order.payment_method == PaymentMethod.CARD:
        captured = sum((_card_left(p) for p in Payment.objects.filter(order=order)), ZERO)
        left = min(left, captured)
    return max(left, ZERO)


def amount_due(invoice: Invoice) -> Decimal:
    """What an invoice still asks its customer to pay: its total less its credit notes
    and what was paid against it (never below zero)."""
    credited = (
        CreditNote.objects.filter(invoice=invoice).aggregate(t=Sum("grand_total"))["t"] or ZERO
    )
    return max(invoice.grand_total - credited - invoice.amount_paid, ZERO)


# --- the request ------------------------------------------------------------------


def refund_order(
    *,
    order_id: int,
    amount: Decimal | None = None,
    lines: Sequence[RefundLine | tuple[int, int]] | None = None,
    reason: str,
    note: str = "",
    actor: Actor,
    idempotency_key: str | None = None,
    request_hash: str = "",
    destination: str = RefundDestination.ORIGINAL,
) -> Refund:
    """Refund ``lines`` (order line id and units, valued as invoiced, tax included)
    and/or an ``amount`` (tax included) of an order, for a ``CreditReason``.

    ``destination``: ``"original"`` (the default) pays a card order back to the card and
    credits an order on terms on its invoice; ``"store_credit"`` issues the same credit
    notes and credits the money to the customer's store credit balance instead, in the
    same transaction, with no provider call (refund status ``store_credit``). An order
    paid with store credit goes back to store credit whichever is asked; an order on
    terms cannot be refunded as store credit (``InvalidInput``).

    Refuses with ``RefundExceedsRefundable`` (nothing written) above the refundable
    amount, with ``InvalidInput`` on bad input. The same ``idempotency_key`` returns the
    first refund (``IdempotencyKeyReused`` when it was another order's, or came with
    another ``request_hash``: the API's fingerprint of the request). Returns the
    refund as it stands once the transaction committed (an inline consumer may already
    have paid it back)."""
    refund = _request_refund(
        order_id=order_id,
        amount=amount,
        lines=[RefundLine(*item) if isinstance(item, tuple) else item for item in lines or ()],
        reason=reason,
        note=note,
        actor=actor,
        idempotency_key=idempotency_key or None,
        request_hash=request_hash,
        destination=destination,
    )
    return Refund.objects.get(pk=refund.pk)


def _existing(idempotency_key: str | None, order_id: int, request_hash: str) -> Refund | None:
    if idempotency_key is None:
        return None
    refund = Refund.objects.filter(idempotency_key=idempotency_key).first()
    if refund is not None and (refund.order_id != order_id or refund.request_hash != request_hash):
        raise IdempotencyKeyReused(
            "This idempotency key was already used for another refund request."
        )
    return refund


def _validate(amount: Decimal | None, lines: Sequence[RefundLine], reason: str) -> None:
    if reason not in CreditReason.values:
        raise InvalidInput(f"Unknown refund reason {reason!r}.", fields={"reason": reason})
    if amount is not None and (
        not isinstance(amount, Decimal)
        or not amount.is_finite()
        or amount <= 0
        or to_cents(amount) != amount
    ):
        raise InvalidInput("The amount to refund must be a positive amount with cents at most.")
    if amount is None and not lines:
        raise InvalidInput("A refund gives back units of lines, an amount, or both.")
    for line in lines:
        if isinstance(line.quantity, bool) or not isinstance(line.quantity, int):
            raise InvalidInput("Quantities to refund must be positive whole numbers.")
        if line.quantity <= 0:
            raise InvalidInput("Quantities to refund must be positive whole numbers.")


def _credits_per_invoice(order: Order, lines: Sequence[RefundLine]) -> dict[int, list[CreditLine]]:
    """Spread units of order lines over the invoice lines that billed them, newest
    invoice first, within what each has left uncredited."""
    wanted: dict[int, int] = {}
    for line in lines:
        wanted[line.order_line_id] = wanted.get(line.order_line_id, 0) + line.quantity
    known = dict(OrderLine.objects.filter(order=order, pk__in=wanted).values_list("pk", "sku"))
    for line_id in wanted:
        if line_id not in known:
            raise InvalidInput(f"Order {order.number} has no line {line_id}.")
    invoice_lines = list(
        InvoiceLine.objects.filter(invoice__order=order, order_line_id__in=wanted).order_by(
            "-invoice__issued_at", "-invoice_id", "position"
        )
    )
    credited = dict(
        CreditNoteLine.objects.filter(invoice_line__in=invoice_lines)
        .values("invoice_line_id")
        .annotate(q=Sum("quantity"))
        .values_list("invoice_line_id", "q")
    )
    result: dict[int, list[CreditLine]] = {}
    for line_id, quantity in wanted.items():
        left = quantity
        for invoice_line in invoice_lines:
            if invoice_line.order_line_id != line_id or left == 0:
                continue
            available = invoice_line.quantity - (credited.get(invoice_line.pk) or 0)
            take = min(left, available)
            if take > 0:
                result.setdefault(invoice_line.invoice_id, []).append(
                    CreditLine(invoice_line_id=invoice_line.pk, quantity=take)
                )
                left -= take
        if left:
            refundable = quantity - left
            raise RefundExceedsRefundable(
                f"{known[line_id]}: {refundable} invoiced unit(s) can be refunded, not {quantity}.",
                order_line=line_id,
                refundable_quantity=refundable,
            )
    return result


def _refuse(order: Order, refundable: Decimal, requested: Decimal | None = None) -> None:
    message = f"Order {order.number} can be refunded {format_money(refundable, order.currency)}"
    if requested is not None:
        message += f"; this refund would be {format_money(requested, order.currency)}"
    raise RefundExceedsRefundable(f"{message}.", refundable=str(refundable))


def _captures_left(invoice_id: int) -> list[tuple[PaymentTransaction, Decimal]]:
    """The succeeded captures of a card invoice (one per payment it drew on), each with
    what it can still pay back: its amount less the refund rows against it (same
    payment and invoice) that succeeded or are in flight."""
    captures = PaymentTransaction.objects.filter(
        invoice_id=invoice_id, kind=TransactionKind.CAPTURE, outcome=TransactionOutcome.SUCCEEDED
    ).order_by("id")
    refunded = dict(
        PaymentTransaction.objects.filter(invoice_id=invoice_id, kind=TransactionKind.REFUND)
        .exclude(outcome=TransactionOutcome.FAILED)
        .values("payment_id")
        .annotate(t=Sum("amount"))
        .values_list("payment_id", "t")
    )
    return [(c, c.amount - (refunded.get(c.payment_id) or ZERO)) for c in captures]


def _invoice_room(invoice: Invoice, card: bool) -> Decimal:
    """What a refund may still credit on an invoice: its uncredited total, and for a
    card what its captures can still pay back."""
    credited = CreditNote.objects.filter(invoice=invoice).aggregate(t=Sum("grand_total"))["t"]
    room = invoice.grand_total - (credited or ZERO)
    if card:
        room = min(room, sum((left for _, left in _captures_left(invoice.pk)), ZERO))
    return room


def _plan_card_refund(refund: Refund, credit_note: CreditNote) -> list[PaymentTransaction]:
    """Pending refund rows paying a credit note back against the captures of the invoice
    it corrects (the provider refunds a capture): ``refund:<credit note id>``, and
    ``:<n>`` for a further capture of that invoice."""
    due = credit_note.grand_total
    planned: list[PaymentTransaction] = []
    for capture, left in _captures_left(credit_note.invoice_id):
        if due <= 0:
            break
        if left <= 0:
            continue
        amount = min(due, left)
        suffix = f":{len(planned) + 1}" if planned else ""
        planned.append(
            PaymentTransaction.objects.create(
                payment_id=capture.payment_id,
                kind=TransactionKind.REFUND,
                amount=amount,
                idempotency_key=f"refund:{credit_note.pk}{suffix}",
                invoice_id=credit_note.invoice_id,
            )
        )
        due -= amount
    if due > 0:
        raise RefundExceedsRefundable(
            f"Invoice {credit_note.invoice.number}: its card captures cannot pay back "
            f"{format_money(due, refund.currency)} more."
        )
    return planned


@transaction.atomic
def _request_refund(
    *,
    order_id: int,
    amount: Decimal | None,
    lines: Sequence[RefundLine],
    reason: str,
    note: str,
    actor: Actor,
    idempotency_key: str | None,
    request_hash: str,
    destination: str = RefundDestination.ORIGINAL,
) -> Refund:
    existing = _existing(idempotency_key, order_id, request_hash)
    if existing is not None:
        return existing
    _validate(amount, lines, reason)
    if destination not in RefundDestination.values:
        raise InvalidInput(
            f"Unknown refund destination {destination!r}: original or store_credit.",
            fields={"destination": destination},
        )
    order = order_for_update(order_id)
    existing = _existing(idempotency_key, order_id, request_hash)
    if existing is not None:
        return existing
    to_store_credit = _to_store_credit(order, destination)
    refundable = refundable_amount(order)
    card = order.payment_method == PaymentMethod.CARD
    if amount is not None and amount > refundable:
        _refuse(order, refundable, amount)
    by_invoice = _credits_per_invoice(order, lines)
    try:
        credit_notes = [
            issue_credit_note(
                invoice_id=invoice_id, reason=reason, actor=actor, lines=credits, note=note
            )
            for invoice_id, credits in by_invoice.items()
        ]
    except CreditExceedsInvoice as exc:
        # The units are invoiced and not credited yet, but an earlier refund of an
        # amount took what their invoice still held: a refund above what is refundable.
        raise RefundExceedsRefundable(
            f"{exc.message} Order {order.number} can be refunded "
            f"{format_money(refundable, order.currency)}.",
            refundable=str(refundable),
        ) from exc
    if amount is not None:
        left = amount
        invoices = Invoice.objects.filter(order=order).order_by("-issued_at", "-id")
        for invoice in invoices:
            if left <= 0:
                break
            room = _invoice_room(invoice, card)
            if room <= 0:
                continue
            take = min(left, room)
            credit_notes.append(
                issue_credit_note(
                    invoice_id=invoice.pk, reason=reason, actor=actor, amount=take, note=note
                )
            )
            left -= take
        if left > 0:
            _refuse(order, refundable, amount)
    total = sum((cn.grand_total for cn in credit_notes), ZERO)
    if total > refundable:
        _refuse(order, refundable, total)  # the transaction rolls back what it wrote
    refund = Refund.objects.create(
        order=order,
        idempotency_key=idempotency_key,
        request_hash=request_hash,
        currency=order.currency,
        amount=total,
        reason=reason,
        note=note,
        status=(
            RefundStatus.STORE_CREDIT
            if to_store_credit
            else RefundStatus.PENDING
            if card
            else RefundStatus.CREDITED
        ),
        destination=(
            RefundDestination.STORE_CREDIT if to_store_credit else RefundDestination.ORIGINAL
        ),
        **actor.as_fields(),
    )
    refund.credit_notes.set(credit_notes)
    numbers = ", ".join(cn.number for cn in credit_notes)
    how = _pay_out(order, refund, credit_notes, actor=actor)
    record_order_event(
        order=order,
        type=OrderEventType.NOTE,
        actor=actor,
        message=(
            f"Refund of {format_money(total, order.currency)} requested "
            f"({CreditReason(reason).label}), {how}: {numbers}"
        ),
        payload={
            "refund_id": refund.pk,
            "amount": str(total),
            "reason": reason,
            "credit_notes": [cn.number for cn in credit_notes],
            "destination": refund.destination,
        },
    )
    if order.payment_method == PaymentMethod.STORE_CREDIT:
        record_store_credit_status(order, actor=actor)
    outbox.emit("refund.requested", {"order_id": order.pk, "refund_id": refund.pk})
    return refund


def _pay_out(order: Order, refund: Refund, credit_notes: list[CreditNote], *, actor: Actor) -> str:
    """Send the refund's money where it goes; says where, for the timeline."""
    if refund.destination == RefundDestination.STORE_CREDIT:
        # The customer's account row is locked after the order's (the lock order).
        grant_store_credit(
            customer_id=order.customer_id,
            amount=refund.amount,
            currency=order.currency,
            kind=StoreCreditKind.REFUND,
            actor=actor,
            order_number=order.number,
            reference=", ".join(cn.number for cn in credit_notes),
            reason=CreditReason(refund.reason).label,
        )
        return "credited as store credit"
    if order.payment_method == PaymentMethod.CARD:
        rows = [tx for cn in credit_notes for tx in _plan_card_refund(refund, cn)]
        refund.transactions.set(rows)
        return "to be paid back to the card"
    return "credited to the invoice"


def _to_store_credit(order: Order, destination: str) -> bool:
    """Whether this refund goes to the customer's store credit."""
    if order.payment_method == PaymentMethod.STORE_CREDIT:
        return True
    if destination != RefundDestination.STORE_CREDIT:
        return False
    if order.payment_method != PaymentMethod.CARD:
        raise InvalidInput(
            f"Order {order.number} is paid on payment terms: its refund is credited on its "
            "invoice, not as store credit.",
            fields={"destination": "not available"},
        )
    return True


# --- paying back (the refund.requested consumer) ------------------------------------


def execute_refund(refund_id: int) -> Refund:
    """Pay back a card refund's pending ledger rows through the provider, outside any
    transaction, and finish each once; finished rows are not sent again. Raises
    ``RetryLater`` while the provider cannot be reached (the row stays pending)."""
    refund = Refund.objects.get(pk=refund_id)
    pending = refund.transactions.filter(outcome=TransactionOutcome.PENDING).order_by("id")
    for tx_id in list(pending.values_list("pk", flat=True)):
        _execute_row(tx_id, refund.reason)
    return Refund.objects.get(pk=refund_id)


def _execute_row(tx_id: int, reason: str) -> None:
    tx = PaymentTransaction.objects.select_related("payment").get(pk=tx_id)
    if tx.outcome != TransactionOutcome.PENDING:
        return
    payment = tx.payment
    # The capture of the same invoice on the same payment: what the provider refunds.
    capture = PaymentTransaction.objects.filter(
        payment=payment,
        invoice=tx.invoice_id,
        kind=TransactionKind.CAPTURE,
        outcome=TransactionOutcome.SUCCEEDED,
    ).first()
    reference = capture.provider_reference if capture else ""
    provider = get_provider(payment.provider)
    ensure_outside_transaction()
    try:
        result = provider.refund(
            payment_reference=reference or payment.authorisation_reference,
            amount=tx.amount,
            currency=payment.currency,
            idempotency_key=tx.idempotency_key,
            reason=reason,
        )
    except ProviderUnavailable as exc:
        raise RetryLater(
            f"payment provider unavailable for {tx.idempotency_key}: {exc}",
            retry_after=PROVIDER_RETRY_AFTER,
        ) from exc
    except PaymentError as exc:
        _finish_row(tx_id, error=exc)
    else:
        _finish_row(tx_id, reference=result.reference, raw=result.raw)


@transaction.atomic
def _finish_row(
    tx_id: int,
    *,
    reference: str = "",
    raw: dict | None = None,
    error: PaymentError | None = None,
) -> None:
    order_id = PaymentTransaction.objects.values_list("payment__order_id", flat=True).get(pk=tx_id)
    order = order_for_update(order_id)
    tx = PaymentTransaction.objects.select_for_update().get(pk=tx_id)
    if tx.outcome != TransactionOutcome.PENDING:  # finished by another run meanwhile
        return
    payment = Payment.objects.select_for_update().get(pk=tx.payment_id)
    tx.finished_at = timezone.now()
    amount = format_money(tx.amount, payment.currency)
    if error is None:
        tx.outcome = TransactionOutcome.SUCCEEDED
        tx.provider_reference = reference[:255]
        tx.raw_response = raw or {}
        payment.amount_refunded += tx.amount
        message = f"Refund of {amount} paid back to the card"
    else:
        tx.outcome = TransactionOutcome.FAILED
        tx.error_code = error.code[:64]
        tx.error_message = error.message.rstrip(".")[:300]
        tx.raw_response = error.raw
        message = (
            f"Refund of {amount} failed: {tx.error_message}. Finance: pay it back by other means"
        )
    tx.save(
        update_fields=[
            "outcome",
            "error_code",
            "error_message",
            "provider_reference",
            "raw_response",
            "finished_at",
        ]
    )
    payment.status = derive_payment_status(
        authorised=payment.amount_authorised,
        captured=payment.amount_captured,
        refunded=payment.amount_refunded,
        voided=payment.amount_voided,
        failed=payment.status == PaymentStatus.FAILED,
    )
    payment.save()
    record_order_event(
        order=order,
        type=OrderEventType.NOTE,
        actor=ACTOR,
        message=message,
        payload={"transaction_id": tx.pk, "idempotency_key": tx.idempotency_key},
    )
    status = order_payment_status(order.payment_method, Payment.objects.filter(order=order))
    record_payment_status(order.pk, status, actor=ACTOR, detail=message)
    for refund in Refund.objects.select_for_update().filter(transactions=tx):
        outcomes = set(refund.transactions.values_list("outcome", flat=True))
        if TransactionOutcome.FAILED in outcomes:
            refund.status = RefundStatus.FAILED
        elif TransactionOutcome.PENDING in outcomes:
            refund.status = RefundStatus.PENDING
        else:
            refund.status = RefundStatus.REFUNDED
        refund.save(update_fields=["status", "updated_at"])
