"""Card payments: authorised at placement, captured per invoice, voided, re-authorised.

Every attempt to move money is a row of the append-only ledger (``PaymentTransaction``)
and runs in three steps, so that no provider call ever happens inside a database
transaction and a task killed at any point can run again:

1. in a transaction, under the order's row lock: find or write the pending ledger row,
   whose idempotency key names the operation (``authorise:<order id>:1``,
   ``capture:<invoice id>``, ``void:<payment id>:<n>``, ``reauthorise:<order id>:<total>``);
2. outside any transaction: call the provider with that key (a second call with the
   same key gets the first answer, and moves no money again);
3. in a transaction, under the order's row lock: finish the row once (the database
   refuses a second finish), update the payment's amounts and status, and the order's
   payment status (``orders.services.record_payment_status``).

A declined or lapsed card puts the order on a payment hold (released by finance) and
e-mails the customer (``billing.payment_emails``). An unreachable provider leaves the
row pending: the task retries with the same key (``ProviderUnavailable`` becomes the
outbox's ``RetryLater``).
"""

import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Sum
from django.utils import timezone

from core.actors import Actor
from core.errors import Conflict
from core.money import format_money
from core.outbox import RetryLater
from fulfillment.holds import place_order_hold, release_order_hold
from orders.events import record_order_event
from orders.models import (
    HoldKind,
    Order,
    OrderEventType,
    OrderHold,
    OrderStatus,
    PaymentMethod,
    PaymentStatus,
)
from orders.services import order_for_update, record_payment_status

from .models import (
    ZERO,
    Invoice,
    InvoiceStatus,
    Payment,
    PaymentTransaction,
    TransactionKind,
    TransactionOutcome,
)
from .payment_emails import email_payment_failed
from .providers import (
    AuthorisationExpired,
    PaymentDeclined,
    PaymentError,
    ProviderResult,
    ProviderUnavailable,
    get_provider,
)
from .providers.base import Capture

logger = logging.getLogger(__name__)

ACTOR = Actor.system("payments")
# Seconds before a task retries a call whose provider could not be reached (at least;
# the outbox's exponential backoff decides the rest).
PROVIDER_RETRY_AFTER = 5.0
# Ledger error codes after which the customer is asked for another card.
CUSTOMER_ACTION_CODES = (PaymentDeclined.code, AuthorisationExpired.code)
# A void refused because nothing is held any more (a final capture released it).
RELEASED_CODES = ("authorisation_closed", "authorisation_voided")
# Payments that may still have money held.
OPEN_STATUSES = (PaymentStatus.AUTHORISED, PaymentStatus.PARTIALLY_CAPTURED)
ENDED_ORDER_STATUSES = (OrderStatus.CANCELLED, OrderStatus.COMPLETED)


class ProviderCalledInTransaction(RuntimeError):
    """A provider call was about to run inside a database transaction: it would hold
    row locks for the length of a network call, and a rollback could not undo it."""


def ensure_outside_transaction() -> None:
    if connection.in_atomic_block:
        raise ProviderCalledInTransaction(
            "Payment providers are never called inside a database transaction."
        )


# --- statuses --------------------------------------------------------------------


def derive_payment_status(
    *,
    authorised: Decimal,
    captured: Decimal,
    refunded: Decimal,
    voided: Decimal,
    failed: bool = False,
) -> str:
    """The payment status that amounts say (one payment's, or an order's summed).

    ``failed``: the authorisation was declined or lapsed. Nothing authorised yet is
    pending; money back is (partially) refunded; money taken is captured once nothing is
    held any more (captured plus released covers what was authorised), partially
    captured before; everything released with nothing taken is voided."""
    status: str = PaymentStatus.AUTHORISED
    if failed:
        status = PaymentStatus.FAILED
    elif authorised <= 0:
        status = PaymentStatus.PENDING
    elif refunded > 0:
        status = (
            PaymentStatus.REFUNDED if refunded >= captured else PaymentStatus.PARTIALLY_REFUNDED
        )
    elif captured > 0:
        status = (
            PaymentStatus.CAPTURED
            if captured + voided >= authorised
            else PaymentStatus.PARTIALLY_CAPTURED
        )
    elif voided >= authorised:
        status = PaymentStatus.VOIDED
    return status


def order_payment_status(method: str, payments: Iterable[Payment]) -> str:
    """An order's payment status from its payments: none for an order not paid by
    card; failed when its latest payment failed; otherwise what its authorised
    payments' summed amounts say (pending while none is)."""
    if method != PaymentMethod.CARD:
        return PaymentStatus.NONE
    payments = sorted(payments, key=lambda p: p.pk)
    if payments and payments[-1].status == PaymentStatus.FAILED:
        return PaymentStatus.FAILED
    live = [p for p in payments if p.status not in (PaymentStatus.PENDING, PaymentStatus.FAILED)]
    return derive_payment_status(
        authorised=sum((p.amount_authorised for p in live), ZERO),
        captured=sum((p.amount_captured for p in live), ZERO),
        refunded=sum((p.amount_refunded for p in live), ZERO),
        voided=sum((p.amount_voided for p in live), ZERO),
    )


def _refresh_order_status(order: Order, detail: str = "") -> None:
    """Derive and record the order's payment status (its row lock is held)."""
    status = order_payment_status(order.payment_method, Payment.objects.filter(order=order))
    record_payment_status(order.pk, status, actor=ACTOR, detail=detail)


def _pending_captures(payment: Payment) -> Decimal:
    return (
        PaymentTransaction.objects.filter(
            payment=payment, kind=TransactionKind.CAPTURE, outcome=TransactionOutcome.PENDING
        ).aggregate(total=Sum("amount"))["total"]
        or ZERO
    )


# --- step 2 and 3: call the provider, finish the row ------------------------------


def _call(tx: PaymentTransaction, token: str | None = None) -> ProviderResult:
    payment = tx.payment
    provider = get_provider(payment.provider)
    ensure_outside_transaction()
    if tx.kind == TransactionKind.AUTHORISE:
        return provider.authorise(
            amount=tx.amount,
            currency=payment.currency,
            token=payment.order.payment_token if token is None else token,
            idempotency_key=tx.idempotency_key,
            reference=payment.order.number,
        )
    if tx.kind == TransactionKind.CAPTURE:
        return provider.capture(
            authorisation_id=payment.authorisation_reference,
            amount=tx.amount,
            currency=payment.currency,
            idempotency_key=tx.idempotency_key,
            final=tx.final,
        )
    if tx.kind == TransactionKind.VOID:
        return provider.void(
            authorisation_id=payment.authorisation_reference,
            idempotency_key=tx.idempotency_key,
        )
    raise ValueError(f"{tx.kind} is not run by billing.payments")


def execute_transaction(tx_id: int, *, token: str | None = None) -> PaymentTransaction:
    """Run a pending ledger row against the provider and finish it (steps 2 and 3);
    a finished row is returned as it is. Raises ``RetryLater`` when the provider
    cannot be reached (the row stays pending, for a retry with the same key).
    ``token``: an authorisation on another card than the order's (the customer's new
    card, kept on the order only once approved)."""
    tx = PaymentTransaction.objects.select_related("payment__order").get(pk=tx_id)
    if tx.outcome == TransactionOutcome.PENDING:
        try:
            result = _call(tx, token)
        except ProviderUnavailable as exc:
            raise RetryLater(
                f"payment provider unavailable for {tx.idempotency_key}: {exc}",
                retry_after=PROVIDER_RETRY_AFTER,
            ) from exc
        except PaymentError as exc:
            tx = _finish(tx_id, error=exc)
        else:
            tx = _finish(tx_id, result=result)
    if tx.outcome == TransactionOutcome.FAILED and tx.error_code in CUSTOMER_ACTION_CODES:
        # After the transaction: a failed send is retried by the task, and the claim
        # makes sure the customer hears it once.
        email_payment_failed(tx)
    return tx


@transaction.atomic
def _finish(
    tx_id: int, *, result: ProviderResult | None = None, error: PaymentError | None = None
) -> PaymentTransaction:
    """Step 3: record the provider's answer on the pending row and its payment, the
    order's payment status, and a payment hold when money could not be held or taken."""
    order_id = PaymentTransaction.objects.values_list("payment__order_id", flat=True).get(pk=tx_id)
    order = order_for_update(order_id)
    tx = PaymentTransaction.objects.select_for_update().select_related("payment").get(pk=tx_id)
    if tx.outcome != TransactionOutcome.PENDING:  # finished by another run meanwhile
        return tx
    payment = Payment.objects.select_for_update().get(pk=tx.payment_id)
    tx.finished_at = timezone.now()
    uncaptured = payment.amount_authorised - payment.amount_captured - payment.amount_voided
    failed = payment.status == PaymentStatus.FAILED
    if result is not None:
        tx.outcome = TransactionOutcome.SUCCEEDED
        tx.provider_reference = result.reference[:255]
        tx.raw_response = result.raw
        if tx.kind == TransactionKind.AUTHORISE:
            payment.authorisation_reference = result.reference[:255]
            payment.amount_authorised = result.amount
            payment.expires_at = getattr(result, "expires_at", None)
        elif tx.kind == TransactionKind.CAPTURE:
            payment.amount_captured += result.amount
            closed = isinstance(result, Capture) and result.amount_capturable <= 0
            if tx.final or closed:
                # The provider released the rest with this capture (less what other
                # captures in flight, this one included, still take).
                payment.amount_voided += max(ZERO, uncaptured - _pending_captures(payment))
        elif tx.kind == TransactionKind.VOID:
            payment.amount_voided += uncaptured
    else:
        assert error is not None  # noqa: S101 - a result or an error
        tx.outcome = TransactionOutcome.FAILED
        tx.error_code = error.code[:64]
        decline = getattr(error, "decline_code", "")
        message = error.message.rstrip(".")
        tx.error_message = (f"{message} ({decline})" if decline else message)[:300]
        tx.raw_response = error.raw
        if tx.kind == TransactionKind.AUTHORISE:
            failed = True
        elif isinstance(error, AuthorisationExpired):
            # The hold lapsed: nothing is held any more; what was not captured is gone.
            payment.amount_voided += max(ZERO, uncaptured - _pending_captures(payment))
            failed = tx.kind == TransactionKind.CAPTURE
        elif tx.kind == TransactionKind.VOID and error.code in RELEASED_CODES:
            # Nothing left to void: the provider released it already.
            payment.amount_voided += max(ZERO, uncaptured - _pending_captures(payment))
    tx.save(update_fields=[*_FINISHED, "finished_at"])
    payment.status = derive_payment_status(
        authorised=payment.amount_authorised,
        captured=payment.amount_captured,
        refunded=payment.amount_refunded,
        voided=payment.amount_voided,
        failed=failed,
    )
    payment.save()
    detail = _describe(tx, payment)
    _refresh_order_status(order, detail)
    if tx.outcome == TransactionOutcome.FAILED and tx.kind != TransactionKind.VOID:
        hold_for_payment(order, f"{detail}. Ask the customer for another card.")
    return tx


_FINISHED = ("outcome", "error_code", "error_message", "provider_reference", "raw_response")


def _describe(tx: PaymentTransaction, payment: Payment) -> str:
    amount = format_money(tx.amount, payment.currency)
    if tx.outcome == TransactionOutcome.SUCCEEDED:
        return f"{tx.get_kind_display()} of {amount} succeeded"
    return f"{tx.get_kind_display()} of {amount} failed: {tx.error_message}"


def hold_for_payment(order: Order, reason: str) -> OrderHold | None:
    """Put the order on a payment hold (finance releases it), unless it has one open
    or is over (a hold on a cancelled or completed order stops nothing)."""
    if order.status in ENDED_ORDER_STATUSES or order.status == OrderStatus.DRAFT:
        return None
    if OrderHold.objects.filter(
        order=order, kind=HoldKind.PAYMENT, released_at__isnull=True
    ).exists():
        return None
    return place_order_hold(order=order, kind=HoldKind.PAYMENT, reason=reason[:500], actor=ACTOR)


# --- authorise at placement ------------------------------------------------------


def _authorise_key(order_id: int) -> str:
    return f"authorise:{order_id}:1"


def authorise_order(order_id: int) -> Payment | None:
    """Authorise a card order's total at placement, once (the ``order.placed``
    consumer). Card orders only, with a token; an authorisation the storefront made is
    recorded as it is (``record_storefront_authorisation``). Returns the payment, None
    when there is nothing to authorise."""
    order = Order.objects.only(
        "pk", "payment_method", "payment_token", "payment_authorisation", "status"
    ).get(pk=order_id)
    if order.payment_method != PaymentMethod.CARD:
        return None
    if order.payment_authorisation:
        return record_storefront_authorisation(order_id)
    if not order.payment_token:
        return None
    tx = _start_authorisation(order_id)
    if tx is None:
        return None
    tx = execute_transaction(tx.pk)
    if tx.outcome == TransactionOutcome.SUCCEEDED:
        # Cancelled while the card was being authorised: release it at once.
        void_order_payments(order_id)
    return Payment.objects.get(pk=tx.payment_id)


@transaction.atomic
def _start_authorisation(order_id: int) -> PaymentTransaction | None:
    """Step 1: the payment and its pending authorisation, or those a run before wrote."""
    key = _authorise_key(order_id)
    existing = PaymentTransaction.objects.filter(idempotency_key=key).first()
    if existing is not None:
        return existing
    order = order_for_update(order_id)
    if order.status in ENDED_ORDER_STATUSES:
        return None
    existing = PaymentTransaction.objects.filter(idempotency_key=key).first()
    if existing is not None:
        return existing
    payment = Payment.objects.create(
        order=order, provider=settings.OMS_PAYMENT_PROVIDER, currency=order.currency
    )
    return PaymentTransaction.objects.create(
        payment=payment,
        kind=TransactionKind.AUTHORISE,
        amount=order.grand_total,
        idempotency_key=key,
    )


@transaction.atomic
def record_storefront_authorisation(order_id: int) -> Payment:
    """Record the authorisation the storefront made (``Order.payment_authorisation``)
    as the order's, for its total, without calling the provider. A production adapter
    would read it back from the provider to check its amount and currency; the test
    provider cannot (its state lives in the process that authorised), so it is taken
    on trust: the storefront is an API client we issued a key to."""
    order = order_for_update(order_id)
    key = _authorise_key(order_id)
    existing = PaymentTransaction.objects.filter(idempotency_key=key).first()
    if existing is not None:
        return existing.payment
    now = timezone.now()
    payment = Payment.objects.create(
        order=order,
        provider=settings.OMS_PAYMENT_PROVIDER,
        currency=order.currency,
        authorisation_reference=order.payment_authorisation,
        amount_authorised=order.grand_total,
        status=PaymentStatus.AUTHORISED if order.grand_total > 0 else PaymentStatus.PENDING,
    )
    PaymentTransaction.objects.create(
        payment=payment,
        kind=TransactionKind.AUTHORISE,
        amount=order.grand_total,
        idempotency_key=key,
        outcome=TransactionOutcome.SUCCEEDED,
        provider_reference=order.payment_authorisation,
        raw_response={"source": "storefront", "authorisation": order.payment_authorisation},
        finished_at=now,
    )
    _refresh_order_status(order, "authorised by the storefront")
    return payment


# --- capture per invoice ---------------------------------------------------------


def capture_invoice(invoice_id: int) -> list[PaymentTransaction]:
    """Capture an issued card invoice's grand total against the order's
    authorisations, once (the ``invoice.issued`` consumer), and mark it paid by what
    was captured. The invoice that completes the order captures with ``final`` (the
    provider releases the rest), and whatever other authorisation still holds money is
    then voided."""
    planned = _plan_capture(invoice_id)
    done = [execute_transaction(tx.pk) for tx in planned]
    if planned:
        mark_invoice_paid(invoice_id)
        invoice = Invoice.objects.only("order_id", "completes_order").get(pk=invoice_id)
        # The last invoice, or an order that ended meanwhile: release what is left.
        void_order_payments(invoice.order_id, force=invoice.completes_order)
    return done


@transaction.atomic
def _plan_capture(invoice_id: int) -> list[PaymentTransaction]:
    """Step 1 of a capture: its pending rows (one per authorisation it draws on: the
    first keyed ``capture:<invoice id>``, any further ``capture:<invoice id>:<n>``),
    or those a run before wrote. An invoice the authorisations cannot cover puts the
    order on a payment hold for finance; a card order with no authorisation at all
    (a phone order paid outside the OMS) captures nothing."""
    invoice = Invoice.objects.only("pk", "order_id", "payment_method").get(pk=invoice_id)
    if invoice.payment_method != PaymentMethod.CARD:
        return []
    existing = list(PaymentTransaction.objects.filter(invoice_id=invoice_id).order_by("id"))
    if existing:
        return existing
    order = order_for_update(invoice.order_id)
    existing = list(PaymentTransaction.objects.filter(invoice_id=invoice_id).order_by("id"))
    if existing:
        return existing
    invoice = Invoice.objects.get(pk=invoice_id)
    payments = list(Payment.objects.filter(order=order).order_by("id"))
    if not payments or invoice.grand_total <= 0:
        return []
    due = invoice.grand_total
    planned: list[PaymentTransaction] = []
    for payment in payments:
        if due <= 0:
            break
        available = payment.capturable - _pending_captures(payment)
        if available <= 0:
            continue
        amount = min(due, available)
        suffix = f":{len(planned) + 1}" if planned else ""
        planned.append(
            PaymentTransaction.objects.create(
                payment=payment,
                kind=TransactionKind.CAPTURE,
                amount=amount,
                idempotency_key=f"capture:{invoice.pk}{suffix}",
                final=invoice.completes_order,
                shipment_id=invoice.shipment_id,
                invoice=invoice,
            )
        )
        due -= amount
    if due > 0:
        hold_for_payment(
            order,
            f"{format_money(due, invoice.currency)} of invoice {invoice.number} could not be "
            "captured: the card authorisations do not cover it.",
        )
    return planned


@transaction.atomic
def mark_invoice_paid(invoice_id: int) -> Invoice:
    """Set a card invoice's amount paid to what its captures took: paid in full, or
    partially paid."""
    invoice = Invoice.objects.select_for_update().get(pk=invoice_id)
    paid = (
        PaymentTransaction.objects.filter(
            invoice=invoice, kind=TransactionKind.CAPTURE, outcome=TransactionOutcome.SUCCEEDED
        ).aggregate(total=Sum("amount"))["total"]
        or ZERO
    )
    if paid == invoice.amount_paid:
        return invoice
    invoice.amount_paid = paid
    if paid >= invoice.grand_total:
        invoice.status = InvoiceStatus.PAID
        invoice.paid_at = timezone.now()
    else:
        invoice.status = InvoiceStatus.PARTIALLY_PAID
    invoice.save(update_fields=["amount_paid", "status", "paid_at"])
    return invoice


# --- void ------------------------------------------------------------------------


def void_order_payments(order_id: int, *, force: bool = False) -> list[PaymentTransaction]:
    """Release what the order's authorisations still hold once the order is cancelled
    or completed (the ``order.cancelled`` consumer); ``force``: whatever its status
    (its last invoice was captured). A partial cancellation voids nothing: the
    authorisation stays for the shipments to come, and the last one's final capture
    releases the excess."""
    return [execute_transaction(tx.pk) for tx in _plan_voids(order_id, force=force)]


@transaction.atomic
def _plan_voids(order_id: int, *, force: bool) -> list[PaymentTransaction]:
    order = order_for_update(order_id)
    if not force and order.status not in ENDED_ORDER_STATUSES:
        return []
    if Invoice.objects.filter(
        order=order,
        payment_method=PaymentMethod.CARD,
        grand_total__gt=0,
        payment_transactions__isnull=True,
    ).exists():
        # An invoice still to be captured needs what is held: its capture voids the
        # rest once it has run.
        return []
    planned = []
    for payment in Payment.objects.filter(order=order, status__in=OPEN_STATUSES).order_by("id"):
        voids = PaymentTransaction.objects.filter(payment=payment, kind=TransactionKind.VOID)
        pending = voids.filter(outcome=TransactionOutcome.PENDING).first()
        if pending is not None:
            planned.append(pending)
            continue
        if payment.capturable - _pending_captures(payment) <= 0:
            continue
        planned.append(
            PaymentTransaction.objects.create(
                payment=payment,
                kind=TransactionKind.VOID,
                amount=payment.capturable,
                idempotency_key=f"void:{payment.pk}:{voids.count() + 1}",
            )
        )
    return planned


# --- re-authorise after an edit --------------------------------------------------


def reauthorise_order(order_id: int) -> Payment | None:
    """When an edit raised a card order's total above what its authorisations hold,
    authorise the difference with the same token (the ``order.edited`` consumer), once
    per new total (``reauthorise:<order id>:<total>``). A decline puts the order on a
    payment hold; so does a rise on an order whose card the OMS holds no token of."""
    tx = _plan_reauthorisation(order_id)
    if tx is None:
        return None
    tx = execute_transaction(tx.pk)
    return Payment.objects.get(pk=tx.payment_id)


@transaction.atomic
def _plan_reauthorisation(order_id: int) -> PaymentTransaction | None:
    order = order_for_update(order_id)
    if order.payment_method != PaymentMethod.CARD or order.status in ENDED_ORDER_STATUSES:
        return None
    key = f"reauthorise:{order.pk}:{order.grand_total}"
    existing = PaymentTransaction.objects.filter(idempotency_key=key).first()
    if existing is not None:
        return existing
    payments = list(Payment.objects.filter(order=order).exclude(status=PaymentStatus.FAILED))
    if not payments:
        return None  # nothing authorised to top up: the placement's authorisation decides
    held = ZERO
    for payment in payments:
        if payment.status == PaymentStatus.PENDING:
            held += (
                payment.transactions.filter(kind=TransactionKind.AUTHORISE).aggregate(
                    total=Sum("amount")
                )["total"]
                or ZERO
            )
        else:
            held += payment.amount_authorised - payment.amount_voided
    difference = order.grand_total - held
    if difference <= 0:
        return None
    if not order.payment_token:
        hold_for_payment(
            order,
            f"The order's total rose by {format_money(difference, order.currency)} and "
            "the OMS has no card token to authorise it: take the payment.",
        )
        return None
    payment = Payment.objects.create(
        order=order, provider=settings.OMS_PAYMENT_PROVIDER, currency=order.currency
    )
    return PaymentTransaction.objects.create(
        payment=payment, kind=TransactionKind.AUTHORISE, amount=difference, idempotency_key=key
    )


# --- another card, given by the customer -----------------------------------------


class NoPaymentToUpdate(Conflict):
    code = "no_payment_to_update"


@dataclass(frozen=True)
class CardUpdate:
    """What became of a card the customer gave: ``approved`` (the payment hold is
    released), else ``declined`` with the provider's message, or ``unavailable``."""

    outcome: str
    amount: Decimal
    currency: str
    message: str = ""


def authorise_new_card(*, order_id: int, token: str, actor: Actor) -> CardUpdate:
    """Authorise what a card order on a payment hold still needs, on another card
    ``token`` the customer gave, in the three steps of the module docstring: the pending
    row (keyed ``card:<order id>:<token digest>:<amount>``, so the same card asked again
    gets the provider's first answer), the provider call outside any transaction, its
    answer recorded by ``execute_transaction``.

    Preconditions: a card order, placed or processing, with an open payment hold (else
    ``NoPaymentToUpdate``, 409) and money still to authorise. On approval, in one
    transaction: the order keeps the new token, the payment hold is released by the
    system (the hold rules allow nothing else to release it without finance) with the
    approved authorisation as its reason, and the ``actor``'s step is a note on the
    timeline. On a decline the order keeps its token and its hold; the ledger keeps the
    failed attempt (and the usual "payment failed" e-mail goes out). An unreachable
    provider leaves the row pending: the same card asked again retries it."""
    tx = _plan_new_card(order_id, token)
    try:
        tx = execute_transaction(tx.pk, token=token)
    except RetryLater:
        return CardUpdate("unavailable", tx.amount, tx.payment.currency)
    if tx.outcome != TransactionOutcome.SUCCEEDED:
        return CardUpdate("declined", tx.amount, tx.payment.currency, tx.error_message)
    _adopt_new_card(order_id, tx.pk, token, actor)
    return CardUpdate("approved", tx.amount, tx.payment.currency)


def card_update_due(order: Order) -> Decimal:
    """What the order's payments leave to authorise: its total less what live
    authorisations hold and what failed ones took before they failed."""
    held = ZERO
    for payment in Payment.objects.filter(order=order).exclude(status=PaymentStatus.PENDING):
        if payment.status == PaymentStatus.FAILED:
            held += payment.amount_captured
        else:
            held += payment.amount_authorised - payment.amount_voided
    return max(order.grand_total - held, ZERO)


@transaction.atomic
def _plan_new_card(order_id: int, token: str) -> PaymentTransaction:
    order = order_for_update(order_id)
    held = OrderHold.objects.filter(
        order=order, kind=HoldKind.PAYMENT, released_at__isnull=True
    ).exists()
    if (
        order.payment_method != PaymentMethod.CARD
        or order.status in ENDED_ORDER_STATUSES
        or order.status == OrderStatus.DRAFT
        or not held
    ):
        raise NoPaymentToUpdate(f"Order {order.number} has no payment to update.")
    due = card_update_due(order)
    if due <= 0:
        raise NoPaymentToUpdate(
            f"Order {order.number} has its payment authorised; its hold waits for finance."
        )
    digest = hashlib.sha256(token.encode()).hexdigest()[:24]
    key = f"card:{order.pk}:{digest}:{due}"
    existing = PaymentTransaction.objects.filter(idempotency_key=key).first()
    if existing is not None:
        return existing
    payment = Payment.objects.create(
        order=order, provider=settings.OMS_PAYMENT_PROVIDER, currency=order.currency
    )
    return PaymentTransaction.objects.create(
        payment=payment, kind=TransactionKind.AUTHORISE, amount=due, idempotency_key=key
    )


@transaction.atomic
def _adopt_new_card(order_id: int, tx_id: int, token: str, actor: Actor) -> None:
    order = order_for_update(order_id)
    tx = PaymentTransaction.objects.select_related("payment").get(pk=tx_id)
    amount = format_money(tx.amount, tx.payment.currency)
    if order.payment_token != token:
        order.payment_token = token
        order.save(update_fields=["payment_token", "updated_at"])
    record_order_event(
        order=order,
        type=OrderEventType.NOTE,
        actor=actor,
        message=f"Another card given for the payment: {amount} authorised",
        payload={"payment_id": tx.payment_id, "transaction": tx.idempotency_key},
    )
    hold = OrderHold.objects.filter(
        order=order, kind=HoldKind.PAYMENT, released_at__isnull=True
    ).first()
    if hold is not None:
        release_order_hold(
            hold_id=hold.pk,
            reason=f"{amount} authorised on the card the customer ({actor.label}) gave.",
            actor=ACTOR,
        )
