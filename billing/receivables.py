"""Receivables: money received against invoices on terms, and what invoices still owe.

What an invoice owes is stated once here: its **balance due** is its total less its
credit notes and what was paid against it (card captures or payments received), never
below zero (``balance_due``; ``with_balance`` is the same rule as a queryset annotation,
for lists, filters and reports). Its stored ``status`` says open, partially paid or
paid; **overdue** is derived, never stored: not paid and due before today
(``OVERDUE``, ``with_balance``'s ``display_status``).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

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
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from .models import CreditNote, Invoice, InvoiceStatus

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
        balance_due=Greatest(
            F("grand_total") - F("credited_total") - F("amount_paid"),
            Value(ZERO),
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
