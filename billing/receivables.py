"""Receivables: money received against invoices on terms, and what invoices still owe.

Finance records a payment received (``record_payment``) and applies it to invoices
(``apply_payment``): explicitly, amount per invoice, or oldest due first; what is not
applied stays on account until it is applied later, and an application can be undone
(``unapply_payment``). Each service runs in one transaction and locks, in this order,
the orders of the invoices it touches (by id), the invoices (by id), then the payment,
so that it serialises with refunds and credit notes (which lock the order first). Each
invoice touched gets its ``amount_paid``, ``status`` and ``paid_at`` set as card
captures set them, an order timeline entry, and ``invoice.paid`` when it becomes paid.

The credit rule reads what companies owe through ``orders.OpenReceivable`` (one row per
invoice on terms that owes money) and ``Order.invoiced_on_terms``: billing keeps both in
the transaction that issues an invoice on terms (``track_issued_invoice``), credits it
(``settle_invoice``) or pays it, so an amount is counted once, as an open order until it
is invoiced and as an unpaid balance after.

What an invoice owes is stated once here: its **balance due** is its total less its
credit notes and what was paid against it (card captures or payments received), never
below zero (``balance_due``; ``with_balance`` is the same rule as a queryset annotation,
for lists, filters and reports). Its stored ``status`` says open, partially paid or
paid; **overdue** is derived, never stored: not paid and due before today
(``OVERDUE``, ``with_balance``'s ``display_status``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import (
    Case,
    CharField,
    DecimalField,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Greatest, Round
from django.utils import timezone

from core import outbox
from core.actors import Actor
from core.errors import Conflict, InvalidInput, NotFound
from core.money import format_money, to_cents
from customers.models import Company, Customer
from orders.events import record_order_event
from orders.models import OpenReceivable, Order, OrderEventType, PaymentMethod

from .models import CreditNote, Invoice, InvoiceStatus
from .receivable_models import PaymentApplication, ReceivedPayment, ReceivedPaymentMethod

ZERO = Decimal("0.00")

# The derived status of an invoice that is not paid and due before today.
OVERDUE = "overdue"
OVERDUE_LABEL = "Overdue"
# Every status a person or a client sees: the stored ones and the derived one.
DISPLAY_STATUS_CHOICES = [*InvoiceStatus.choices, (OVERDUE, OVERDUE_LABEL)]


def credited_amount(invoice: Invoice) -> Decimal:
    """What the credit notes of ``invoice`` add up to (one query)."""
    total = CreditNote.objects.filter(invoice=invoice).aggregate(t=Sum("grand_total"))["t"]
    return total or ZERO


def balance_due(invoice: Invoice, *, credited: Decimal | None = None) -> Decimal:
    """What ``invoice`` still asks its customer to pay: total - credited - paid, never
    below zero. ``credited``: its credit notes' total when the caller has it (an
    invoice read through ``with_balance`` has it as ``credited_total``)."""
    if credited is None:
        credited = getattr(invoice, "credited_total", None)
    if credited is None:
        credited = credited_amount(invoice)
    return max(invoice.grand_total - credited - invoice.amount_paid, ZERO)


def is_overdue(invoice: Invoice, *, today: dt.date | None = None) -> bool:
    """Not paid and due before ``today`` (the site's date by default)."""
    today = today or timezone.localdate()
    return (
        invoice.status != InvoiceStatus.PAID
        and invoice.due_date is not None
        and invoice.due_date < today
    )


def display_status(invoice: Invoice, *, today: dt.date | None = None) -> str:
    """``overdue`` for an overdue invoice, else its stored status."""
    return OVERDUE if is_overdue(invoice, today=today) else invoice.status


def display_status_label(status: str) -> str:
    return dict(DISPLAY_STATUS_CHOICES).get(status, status)


def _money() -> DecimalField:
    return DecimalField(max_digits=14, decimal_places=2)


def with_balance(
    queryset: QuerySet[Invoice] | None = None, *, today: dt.date | None = None
) -> QuerySet[Invoice]:
    """``queryset`` (all invoices by default) annotated with ``credited_total`` (its
    credit notes), ``balance_due`` (as ``balance_due``) and ``display_status``
    (``overdue``, or the stored status), all in the same query."""
    today = today or timezone.localdate()
    queryset = Invoice.objects.all() if queryset is None else queryset
    credited = (
        CreditNote.objects.filter(invoice=OuterRef("pk"))
        .order_by()
        .values("invoice")
        .annotate(t=Sum("grand_total"))
        .values("t")
    )
    return queryset.annotate(
        credited_total=Coalesce(Subquery(credited, output_field=_money()), Value(ZERO)),
    ).annotate(
        # Rounded to cents: SQLite (the demo) subtracts decimals as floats.
        balance_due=Round(
            Greatest(
                F("grand_total") - F("credited_total") - F("amount_paid"),
                Value(ZERO),
                output_field=_money(),
            ),
            2,
            output_field=_money(),
        ),
        display_status=Case(
            When(overdue_q(today), then=Value(OVERDUE)),
            default=F("status"),
            output_field=CharField(),
        ),
    )


def overdue_q(today: dt.date | None = None, *, prefix: str = "") -> Q:
    """The overdue rule as a filter: not paid and due before ``today``. ``prefix``
    reaches invoices through a relation (``invoices__``)."""
    today = today or timezone.localdate()
    return ~Q(**{f"{prefix}status": InvoiceStatus.PAID}) & Q(**{f"{prefix}due_date__lt": today})


def filter_display_status(
    queryset: QuerySet[Invoice], status: str, *, today: dt.date | None = None
) -> QuerySet[Invoice]:
    """Invoices whose displayed status is ``status``: ``overdue``, or a stored status
    that is not overdue (an open invoice past its due date shows as overdue only)."""
    if status == OVERDUE:
        return queryset.filter(overdue_q(today))
    return queryset.filter(status=status).exclude(overdue_q(today))


# --- the services ------------------------------------------------------------------

ACTOR = Actor.system("receivables")
# How many of a payer's open invoices an automatic application looks at, oldest due first.
AUTO_APPLY_LIMIT = 500


class DuplicatePayment(Conflict):
    """The payer already has a payment with this bank reference."""

    code = "duplicate_payment"


class ApplicationExceedsBalance(Conflict):
    code = "application_exceeds_balance"


class ApplicationExceedsPayment(Conflict):
    code = "application_exceeds_payment"


class InvoiceNotPayable(Conflict):
    """The invoice cannot take this payment: another payer's, paid by card, or in
    another currency."""

    code = "invoice_not_payable"


class ApplicationReversed(Conflict):
    code = "application_reversed"


@dataclass(frozen=True)
class Allocation:
    """An amount of a payment to apply to one invoice."""

    invoice_id: int
    amount: Decimal


def derive_invoice_status(*, total: Decimal, credited: Decimal, paid: Decimal) -> str:
    """Paid once nothing is owed (payments and credits cover the total), partially
    paid once something was paid, open before."""
    if total - credited - paid <= 0 and (paid > 0 or credited > 0):
        return InvoiceStatus.PAID
    if paid > 0:
        return InvoiceStatus.PARTIALLY_PAID
    return InvoiceStatus.ISSUED


def counts_as_receivable(invoice: Invoice) -> bool:
    """Whether the credit rule counts the invoice's balance: an invoice on terms of a
    company (card invoices are paid by their captures)."""
    return (
        invoice.payment_method == PaymentMethod.INVOICE
        and invoice.company_id is not None
        and invoice.due_date is not None
    )


def _sync_receivable(invoice: Invoice, balance: Decimal) -> None:
    """The invoice's ``OpenReceivable`` row says its balance, or is gone once it owes
    nothing (the caller holds the invoice's row lock)."""
    if not counts_as_receivable(invoice):
        return
    assert invoice.due_date is not None  # noqa: S101 - counts_as_receivable
    if balance > 0:
        OpenReceivable.objects.update_or_create(
            invoice_number=invoice.number,
            defaults={
                "company_id": invoice.company_id,
                "due_date": invoice.due_date,
                "balance_due": balance,
            },
        )
    else:
        OpenReceivable.objects.filter(invoice_number=invoice.number).delete()


def track_issued_invoice(invoice: Invoice) -> None:
    """Count a newly issued invoice on terms once: its order's invoiced part stops
    counting as an open order and its balance counts as a receivable, in the
    transaction that issues it (which holds the order's row lock)."""
    if invoice.payment_method != PaymentMethod.INVOICE:
        return
    Order.objects.filter(pk=invoice.order_id).update(
        invoiced_on_terms=F("invoiced_on_terms") + invoice.grand_total
    )
    _sync_receivable(invoice, invoice.grand_total)


def settle_invoice(invoice: Invoice, *, actor: Actor = ACTOR) -> Invoice:
    """After a credit note: an invoice on terms whose credits and payments now cover it
    is paid; its receivable follows its balance. The caller holds the invoice's row
    lock (``billing.credit_notes.issue_credit_note``). Card invoices are left to their
    captures (``billing.payments.mark_invoice_paid``)."""
    if invoice.payment_method != PaymentMethod.INVOICE:
        return invoice
    credited = credited_amount(invoice)
    _set_paid(invoice, paid=invoice.amount_paid, credited=credited, actor=actor)
    return invoice


def _set_paid(invoice: Invoice, *, paid: Decimal, credited: Decimal, actor: Actor) -> bool:
    """Store what was paid, the status it gives and when it became paid; sync the
    receivable; emit ``invoice.paid`` when it became paid. Returns whether it did."""
    before = invoice.status
    status = derive_invoice_status(total=invoice.grand_total, credited=credited, paid=paid)
    invoice.amount_paid = paid
    invoice.status = status
    became_paid = status == InvoiceStatus.PAID and before != InvoiceStatus.PAID
    if became_paid:
        invoice.paid_at = timezone.now()
    elif status != InvoiceStatus.PAID:
        invoice.paid_at = None
    invoice.save(update_fields=["amount_paid", "status", "paid_at"])
    _sync_receivable(invoice, max(invoice.grand_total - credited - paid, ZERO))
    if became_paid:
        outbox.emit("invoice.paid", {"order_id": invoice.order_id, "invoice_id": invoice.pk})
    return became_paid


def _lock_invoices(invoice_ids: Sequence[int]) -> dict[int, Invoice]:
    """Lock the invoices' orders, then the invoices, each by id (the lock order of
    refunds and credit notes: order first)."""
    ids = sorted(set(invoice_ids))
    order_ids = sorted(set(Invoice.objects.filter(pk__in=ids).values_list("order_id", flat=True)))
    list(
        Order.objects.select_for_update(no_key=True)
        .filter(pk__in=order_ids)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    invoices = Invoice.objects.select_for_update(no_key=True).filter(pk__in=ids).order_by("pk")
    return {invoice.pk: invoice for invoice in with_balance(invoices)}


def _payer_invoices(payment: ReceivedPayment) -> QuerySet[Invoice]:
    if payment.company_id is not None:
        return Invoice.objects.filter(company_id=payment.company_id)
    return Invoice.objects.filter(customer=payment.customer_id, company__isnull=True)


def _check_payable(invoice: Invoice, payment: ReceivedPayment) -> None:
    theirs = (
        invoice.company_id == payment.company_id
        if payment.company_id is not None
        else invoice.customer_id == payment.customer_id and invoice.company_id is None
    )
    if not theirs:
        raise InvoiceNotPayable(
            f"Invoice {invoice.number} is not the payer's: apply the payment to their own "
            "invoices.",
            invoice=invoice.number,
        )
    if invoice.payment_method != PaymentMethod.INVOICE:
        raise InvoiceNotPayable(
            f"Invoice {invoice.number} is paid by card: its captures pay it.",
            invoice=invoice.number,
        )
    if invoice.currency != payment.currency:
        raise InvoiceNotPayable(
            f"Invoice {invoice.number} is in {invoice.currency}, the payment in "
            f"{payment.currency}.",
            invoice=invoice.number,
        )


def _check_amount(amount: object, what: str) -> Decimal:
    if (
        not isinstance(amount, Decimal)
        or not amount.is_finite()
        or amount <= 0
        or to_cents(amount) != amount
    ):
        raise InvalidInput(f"{what} must be a positive amount with cents at most.")
    return amount


def _plan(
    payment: ReceivedPayment,
    allocations: Sequence[Allocation] | None,
    invoice_ids: Sequence[int] | None = None,
) -> list[int]:
    """The invoices an application may touch: the ones named, or the payer's open
    invoices on terms (among ``invoice_ids`` when given), oldest due first."""
    if allocations is not None:
        return [a.invoice_id for a in allocations]
    candidates = (
        with_balance(_payer_invoices(payment))
        .filter(payment_method=PaymentMethod.INVOICE, currency=payment.currency)
        .exclude(status=InvoiceStatus.PAID)
        .filter(balance_due__gt=0)  # type: ignore[misc]  # an annotation
        .order_by("due_date", "issue_date", "pk")
    )
    if invoice_ids is not None:
        candidates = candidates.filter(pk__in=invoice_ids)
    return list(candidates.values_list("pk", flat=True)[:AUTO_APPLY_LIMIT])


def _explicit_plan(
    payment: ReceivedPayment, invoices: dict[int, Invoice], allocations: Sequence[Allocation]
) -> list[tuple[Invoice, Decimal]]:
    """The allocations asked for, each checked against its invoice's balance (under its
    lock) and all of them against what the payment has on account."""
    plan: list[tuple[Invoice, Decimal]] = []
    for allocation in allocations:
        invoice = invoices.get(allocation.invoice_id)
        if invoice is None:
            raise NotFound(f"There is no invoice {allocation.invoice_id}.")
        _check_payable(invoice, payment)
        balance = balance_due(invoice)
        if allocation.amount > balance:
            raise ApplicationExceedsBalance(
                f"Invoice {invoice.number} owes {format_money(balance, invoice.currency)}; "
                f"{format_money(allocation.amount, invoice.currency)} cannot be applied to it.",
                invoice=invoice.number,
                balance_due=str(balance),
            )
        plan.append((invoice, allocation.amount))
    left = payment.on_account
    wanted = sum((amount for _, amount in plan), ZERO)
    if wanted > left:
        raise ApplicationExceedsPayment(
            f"The payment has {format_money(left, payment.currency)} to apply; the amounts "
            f"add up to {format_money(wanted, payment.currency)}.",
            on_account=str(left),
        )
    return plan


def _oldest_first_plan(
    payment: ReceivedPayment, invoices: list[Invoice]
) -> list[tuple[Invoice, Decimal]]:
    """What the payment has on account spread over ``invoices`` (oldest due first),
    each up to its balance."""
    left = payment.on_account
    plan: list[tuple[Invoice, Decimal]] = []
    for invoice in invoices:
        if left <= 0:
            break
        take = min(balance_due(invoice), left)
        if take > 0:
            plan.append((invoice, take))
            left -= take
    return plan


def _apply(
    payment_id: int,
    allocations: Sequence[Allocation] | None,
    actor: Actor,
    invoice_ids: Sequence[int] | None = None,
) -> list[PaymentApplication]:
    """Apply a payment (its row written or read in this transaction): under the
    locks, check every allocation, then write them all."""
    unlocked = ReceivedPayment.objects.get(pk=payment_id)
    if allocations is not None:
        seen: set[int] = set()
        for allocation in allocations:
            _check_amount(allocation.amount, "An amount to apply")
            if allocation.invoice_id in seen:
                raise InvalidInput("Name each invoice once.")
            seen.add(allocation.invoice_id)
    planned = _plan(unlocked, allocations, invoice_ids)
    invoices = _lock_invoices(planned)
    payment = ReceivedPayment.objects.select_for_update().get(pk=payment_id)
    if allocations is not None:
        plan = _explicit_plan(payment, invoices, allocations)
    else:
        plan = _oldest_first_plan(payment, [invoices[pk] for pk in planned])
    now = timezone.now()
    applications = []
    for invoice, amount in plan:
        applications.append(
            PaymentApplication.objects.create(
                payment=payment, invoice=invoice, amount=amount, applied_at=now, **actor.as_fields()
            )
        )
        credited = invoice.credited_total  # type: ignore[attr-defined]
        became_paid = _set_paid(
            invoice, paid=invoice.amount_paid + amount, credited=credited, actor=actor
        )
        _record(invoice, actor, payment, amount, applied=True, paid=became_paid)
    applied = sum((amount for _, amount in plan), ZERO)
    if applied:
        payment.applied_total += applied
        payment.save(update_fields=["applied_total"])
    return applications


def _record(
    invoice: Invoice,
    actor: Actor,
    payment: ReceivedPayment,
    amount: Decimal,
    *,
    applied: bool,
    paid: bool,
) -> None:
    money = format_money(amount, invoice.currency)
    balance = format_money(
        max(invoice.grand_total - invoice.credited_total - invoice.amount_paid, ZERO),  # type: ignore[attr-defined]
        invoice.currency,
    )
    reference = f" ({payment.bank_reference})" if payment.bank_reference else ""
    if applied:
        state = "paid in full" if paid else f"{balance} still due"
        message = f"Payment of {money}{reference} applied to invoice {invoice.number}: {state}"
    else:
        message = f"Payment of {money}{reference} taken off invoice {invoice.number}: {balance} due"
    record_order_event(
        order=Order(pk=invoice.order_id),
        type=OrderEventType.NOTE,
        actor=actor,
        message=message,
        payload={
            "received_payment_id": payment.pk,
            "invoice_number": invoice.number,
            "amount": str(amount if applied else -amount),
            "amount_paid": str(invoice.amount_paid),
            "status": invoice.status,
        },
    )


def _resolve_payer(
    company_id: int | None, customer_id: int | None
) -> tuple[Company | None, Customer | None]:
    if company_id is None and customer_id is None:
        raise InvalidInput("A payment received names its payer: a company or a customer.")
    company = Company.objects.filter(pk=company_id).first() if company_id is not None else None
    if company_id is not None and company is None:
        raise NotFound(f"There is no company {company_id}.")
    customer = None
    if customer_id is not None:
        customer = Customer.objects.filter(pk=customer_id).first()
        if customer is None:
            raise NotFound(f"There is no customer {customer_id}.")
        if company is None and customer.company_id is not None:
            company = Company.objects.get(pk=customer.company_id)
    return company, customer


def find_duplicate(
    *, company_id: int | None, customer_id: int | None, bank_reference: str
) -> ReceivedPayment | None:
    """The payer's payment with this bank reference, if one was recorded."""
    reference = bank_reference.strip()
    if not reference:
        return None
    payments = ReceivedPayment.objects.filter(bank_reference=reference)
    if company_id is not None:
        return payments.filter(company_id=company_id).first()
    return payments.filter(company__isnull=True, customer=customer_id).first()


@transaction.atomic
def record_payment(
    *,
    amount: Decimal,
    received_date: dt.date,
    actor: Actor,
    company_id: int | None = None,
    customer_id: int | None = None,
    currency: str = "",
    method: str = ReceivedPaymentMethod.BANK_TRANSFER,
    bank_reference: str = "",
    note: str = "",
    allocations: Sequence[Allocation] | None = None,
    invoice_ids: Sequence[int] | None = None,
    auto_apply: bool = True,
) -> ReceivedPayment:
    """Record money received from a company (or a customer without one) and apply it:
    to ``allocations`` (amount per invoice) when given, else oldest due first when
    ``auto_apply`` (to the payer's open invoices, or only to ``invoice_ids``: the ones a
    remittance quotes), else not at all. What is not applied stays on account.

    Refuses, writing nothing: ``DuplicatePayment`` when the payer already has a payment
    with this bank reference (a statement imported twice); ``InvalidInput`` for a bad
    amount, date, method or currency; ``InvoiceNotPayable``,
    ``ApplicationExceedsBalance`` or ``ApplicationExceedsPayment`` for an allocation
    that does not fit. Side effects: an order timeline entry per invoice paid and
    ``invoice.paid`` for each invoice it pays in full."""
    company, customer = _resolve_payer(company_id, customer_id)
    _check_amount(amount, "The amount received")
    if not isinstance(received_date, dt.date):
        raise InvalidInput("The date received must be a date.")
    if received_date > timezone.localdate():
        raise InvalidInput("The date received cannot be in the future.")
    if method not in ReceivedPaymentMethod.values:
        raise InvalidInput(f"Unknown payment method {method!r}.")
    payer_currency = company.currency if company is not None else ""
    currency = (currency or payer_currency or "USD").strip().upper()
    if len(currency) != 3 or not currency.isalpha():
        raise InvalidInput(f"{currency!r} is not a currency code.")
    reference = bank_reference.strip()
    payer = {"company": company, "customer": customer}
    duplicate = find_duplicate(
        company_id=company.pk if company else None,
        customer_id=customer.pk if customer else None,
        bank_reference=reference,
    )
    if duplicate is not None:
        raise _duplicate(duplicate)
    try:
        with transaction.atomic():
            payment = ReceivedPayment.objects.create(
                **payer,
                received_date=received_date,
                amount=amount,
                currency=currency,
                method=method,
                bank_reference=reference,
                note=note,
                **actor.as_fields(),
            )
    except IntegrityError as exc:  # recorded by a concurrent request meanwhile
        duplicate = find_duplicate(
            company_id=company.pk if company else None,
            customer_id=customer.pk if customer else None,
            bank_reference=reference,
        )
        if duplicate is None:
            raise
        raise _duplicate(duplicate) from exc
    if allocations is not None or auto_apply:
        _apply(payment.pk, allocations, actor, invoice_ids)
    return ReceivedPayment.objects.get(pk=payment.pk)


def _duplicate(existing: ReceivedPayment) -> DuplicatePayment:
    return DuplicatePayment(
        f"Bank reference {existing.bank_reference} is already recorded: {existing}.",
        payment=existing.pk,
        bank_reference=existing.bank_reference,
    )


@transaction.atomic
def apply_payment(
    *, payment_id: int, actor: Actor, allocations: Sequence[Allocation] | None = None
) -> list[PaymentApplication]:
    """Apply what a payment has on account: to ``allocations`` when given, else to the
    payer's open invoices oldest due first. Refuses as ``record_payment`` does (nothing
    written); nothing to apply, or no open invoice, applies nothing."""
    if not ReceivedPayment.objects.filter(pk=payment_id).exists():
        raise NotFound(f"There is no payment received {payment_id}.")
    return _apply(payment_id, allocations, actor)


@transaction.atomic
def unapply_payment(*, application_id: int, actor: Actor) -> PaymentApplication:
    """Take an application off its invoice (applied to the wrong one): the money goes
    back on account, the invoice owes it again (open or partially paid, its receivable
    back). Refuses ``ApplicationReversed`` when it was taken off already."""
    found = (
        PaymentApplication.objects.filter(pk=application_id)
        .values_list("invoice_id", "payment_id")
        .first()
    )
    if found is None:
        raise NotFound(f"There is no payment application {application_id}.")
    invoice_id, payment_id = found
    invoice = _lock_invoices([invoice_id])[invoice_id]
    payment = ReceivedPayment.objects.select_for_update().get(pk=payment_id)
    application = PaymentApplication.objects.select_for_update().get(pk=application_id)
    if application.reversed_at is not None:
        raise ApplicationReversed(
            f"This application was taken off on {application.reversed_at:%Y-%m-%d}."
        )
    application.reversed_at = timezone.now()
    application.reversed_by_label = actor.label[:150]
    application.save(update_fields=["reversed_at", "reversed_by_label"])
    payment.applied_total -= application.amount
    payment.save(update_fields=["applied_total"])
    _set_paid(
        invoice,
        paid=invoice.amount_paid - application.amount,
        credited=invoice.credited_total,  # type: ignore[attr-defined]
        actor=actor,
    )
    _record(invoice, actor, payment, application.amount, applied=False, paid=False)
    return application


def live_applications(invoice_id: int) -> QuerySet[PaymentApplication]:
    """The payments applied to an invoice and not taken off, oldest first."""
    return (
        PaymentApplication.objects.filter(invoice_id=invoice_id, reversed_at__isnull=True)
        .select_related("payment")
        .order_by("applied_at", "pk")
    )
