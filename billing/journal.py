"""The journal export for the ledger (ERP): every money event of a date range as
double-entry rows, each event balanced (its debits equal its credits).

Events and their rows (accounts by role, numbered in ``settings.OMS_JOURNAL_ACCOUNTS``):

- **invoice issued** (on its issue date): debit *receivable* with the invoice's total;
  credit *revenue* with the goods net of discount, *shipping revenue* with the shipping
  and *tax payable* with the tax (line and shipping tax). The invoice's own CHECK
  constraint (total = subtotal - discount + shipping + tax) makes the event balance.
- **credit note issued**: the reverse, from the credit note's amounts: debit revenue,
  shipping revenue and tax payable; credit receivable with its total.
- **card payment captured** (on the day the provider confirmed it): debit *cash*,
  credit *receivable*; **refunded**: the reverse. Failed and pending attempts moved no
  money and are left out.

- **payment received** (a bank transfer or cheque against invoices on terms, on the date
  received): debit *cash*, credit *payments on account* (a liability: the money is the
  customer's until it pays an invoice); **applied to an invoice** (on the day it was
  applied): debit payments on account, credit receivable; **taken off an invoice**: the
  reverse. What stays unapplied therefore stays in payments on account.

Another source of money events joins with ``register_event_source``; the command and
the console page take it up unchanged.

Rows of zero (an invoice without shipping) are left out; an event stays balanced.
Amounts are in the document's currency (the ``currency`` column): the journal does not
convert.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal

import tablib
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from .models import (
    CreditNote,
    Invoice,
    PaymentApplication,
    PaymentTransaction,
    ReceivedPayment,
    TransactionKind,
    TransactionOutcome,
)

ZERO = Decimal("0.00")

# The roles an account plays in the journal; ``OMS_JOURNAL_ACCOUNTS`` numbers each.
ACCOUNT_ROLES = (
    "receivable",
    "revenue",
    "shipping_revenue",
    "tax_payable",
    "cash",
    "payments_on_account",
)
COLUMNS = (
    "date",
    "account",
    "debit",
    "credit",
    "document_number",
    "order_number",
    "company",
    "currency",
)
FORMATS = ("csv", "xlsx")
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def journal_accounts() -> dict[str, str]:
    """The account number of each role, from ``OMS_JOURNAL_ACCOUNTS``."""
    configured = dict(getattr(settings, "OMS_JOURNAL_ACCOUNTS", {}))
    missing = [role for role in ACCOUNT_ROLES if not configured.get(role)]
    if missing:
        raise ImproperlyConfigured(f"OMS_JOURNAL_ACCOUNTS has no account for {missing}.")
    return configured


@dataclass(frozen=True)
class JournalRow:
    date: dt.date
    account: str
    debit: Decimal
    credit: Decimal
    document_number: str
    order_number: str
    company: str
    currency: str

    def as_tuple(self) -> tuple[str | dt.date | Decimal, ...]:
        return (
            self.date,
            self.account,
            self.debit,
            self.credit,
            self.document_number,
            self.order_number,
            self.company,
            self.currency,
        )


@dataclass(frozen=True)
class JournalEvent:
    """One money event: the rows it writes, whose debits equal their credits."""

    kind: str
    rows: tuple[JournalRow, ...]

    @property
    def debit_total(self) -> Decimal:
        return sum((row.debit for row in self.rows), start=ZERO)

    @property
    def credit_total(self) -> Decimal:
        return sum((row.credit for row in self.rows), start=ZERO)

    @property
    def is_balanced(self) -> bool:
        return self.debit_total == self.credit_total


@dataclass(frozen=True)
class _Document:
    date: dt.date
    number: str
    order_number: str
    company: str
    currency: str


def _event(
    kind: str,
    document: _Document,
    debits: Iterable[tuple[str, Decimal]],
    credits: Iterable[tuple[str, Decimal]],
) -> JournalEvent:
    def row(account: str, debit: Decimal, credit: Decimal) -> JournalRow:
        return JournalRow(
            date=document.date,
            account=account,
            debit=debit,
            credit=credit,
            document_number=document.number,
            order_number=document.order_number,
            company=document.company,
            currency=document.currency,
        )

    rows = [row(account, amount, ZERO) for account, amount in debits if amount]
    rows += [row(account, ZERO, amount) for account, amount in credits if amount]
    return JournalEvent(kind=kind, rows=tuple(rows))


def invoice_events(date_from: dt.date, date_to: dt.date) -> Iterator[JournalEvent]:
    """Invoices issued from ``date_from`` to ``date_to`` (inclusive), in one query."""
    accounts = journal_accounts()
    rows = (
        Invoice.objects.filter(issue_date__range=(date_from, date_to))
        .order_by("issue_date", "number")
        .values_list(
            "issue_date",
            "number",
            "order__number",
            "company__account_number",
            "currency",
            "subtotal",
            "discount_total",
            "shipping_total",
            "tax_total",
            "grand_total",
        )
    )
    for issued, number, order, company, currency, sub, discount, shipping, tax, total in rows:
        yield _event(
            "invoice",
            _Document(issued, number, order, company or "", currency),
            debits=[(accounts["receivable"], total)],
            credits=[
                (accounts["revenue"], sub - discount),
                (accounts["shipping_revenue"], shipping),
                (accounts["tax_payable"], tax),
            ],
        )


def credit_note_events(date_from: dt.date, date_to: dt.date) -> Iterator[JournalEvent]:
    """Credit notes issued from ``date_from`` to ``date_to`` (inclusive): the reverse of
    an invoice's event, for the amounts credited."""
    accounts = journal_accounts()
    rows = (
        CreditNote.objects.filter(issue_date__range=(date_from, date_to))
        .order_by("issue_date", "number")
        .values_list(
            "issue_date",
            "number",
            "order__number",
            "company__account_number",
            "currency",
            "subtotal",
            "shipping_total",
            "tax_total",
            "grand_total",
        )
    )
    for issued, number, order, company, currency, sub, shipping, tax, total in rows:
        yield _event(
            "credit_note",
            _Document(issued, number, order, company or "", currency),
            debits=[
                (accounts["revenue"], sub),
                (accounts["shipping_revenue"], shipping),
                (accounts["tax_payable"], tax),
            ],
            credits=[(accounts["receivable"], total)],
        )


def _day_bounds(date_from: dt.date, date_to: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """From the start of ``date_from`` to the start of the day after ``date_to``, in
    the site's time zone."""
    start = timezone.make_aware(dt.datetime.combine(date_from, dt.time.min))
    end = timezone.make_aware(dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time.min))
    return start, end


def payment_events(date_from: dt.date, date_to: dt.date) -> Iterator[JournalEvent]:
    """Card money that moved from ``date_from`` to ``date_to`` (inclusive, by the day
    the provider confirmed it), in one query: a capture debits cash and credits
    receivable, a refund the reverse. Attempts that failed or are still pending moved
    nothing and are left out. The document is the invoice the money is for (else the
    provider's reference)."""
    accounts = journal_accounts()
    start, end = _day_bounds(date_from, date_to)
    rows = (
        PaymentTransaction.objects.filter(
            kind__in=(TransactionKind.CAPTURE, TransactionKind.REFUND),
            outcome=TransactionOutcome.SUCCEEDED,
            finished_at__gte=start,
            finished_at__lt=end,
        )
        .order_by("finished_at", "id")
        .values_list(
            "kind",
            "finished_at",
            "amount",
            "invoice__number",
            "provider_reference",
            "payment__order__number",
            "payment__order__company__account_number",
            "payment__currency",
        )
    )
    for kind, finished_at, amount, invoice, reference, order, company, currency in rows:
        document = _Document(
            timezone.localdate(finished_at), invoice or reference, order, company or "", currency
        )
        cash, receivable = (accounts["cash"], amount), (accounts["receivable"], amount)
        if kind == TransactionKind.CAPTURE:
            yield _event("payment_captured", document, debits=[cash], credits=[receivable])
        else:
            yield _event("payment_refunded", document, debits=[receivable], credits=[cash])


def _payment_document(reference: str, payment_id: int) -> str:
    return reference or f"PAYMENT-{payment_id}"


def received_payment_events(date_from: dt.date, date_to: dt.date) -> Iterator[JournalEvent]:
    """Money received against invoices on terms from ``date_from`` to ``date_to``
    (inclusive, by the date received), in one query: debit cash, credit payments on
    account. The document is the bank reference (else the payment's number)."""
    accounts = journal_accounts()
    rows = (
        ReceivedPayment.objects.filter(received_date__range=(date_from, date_to))
        .order_by("received_date", "id")
        .values_list(
            "pk",
            "received_date",
            "amount",
            "currency",
            "bank_reference",
            "company__account_number",
            "customer__email",
        )
    )
    for pk, received, amount, currency, reference, company, email in rows:
        document = _Document(
            received, _payment_document(reference, pk), "", company or email or "", currency
        )
        yield _event(
            "payment_received",
            document,
            debits=[(accounts["cash"], amount)],
            credits=[(accounts["payments_on_account"], amount)],
        )


def payment_application_events(date_from: dt.date, date_to: dt.date) -> Iterator[JournalEvent]:
    """Money received applied to invoices (debit payments on account, credit receivable)
    and taken off again (the reverse), by the day it happened, in two queries. The
    document is the invoice."""
    accounts = journal_accounts()
    start, end = _day_bounds(date_from, date_to)
    columns = (
        "amount",
        "invoice__number",
        "invoice__order__number",
        "invoice__company__account_number",
        "payment__currency",
    )
    on_account, receivable = accounts["payments_on_account"], accounts["receivable"]
    applied = (
        PaymentApplication.objects.filter(applied_at__gte=start, applied_at__lt=end)
        .order_by("applied_at", "id")
        .values_list("applied_at", *columns)
    )
    for at, amount, invoice, order, company, currency in applied:
        document = _Document(timezone.localdate(at), invoice, order, company or "", currency)
        yield _event(
            "payment_applied",
            document,
            debits=[(on_account, amount)],
            credits=[(receivable, amount)],
        )
    reversed_rows = (
        PaymentApplication.objects.filter(reversed_at__gte=start, reversed_at__lt=end)
        .order_by("reversed_at", "id")
        .values_list("reversed_at", *columns)
    )
    for at, amount, invoice, order, company, currency in reversed_rows:
        document = _Document(timezone.localdate(at), invoice, order, company or "", currency)
        yield _event(
            "payment_unapplied",
            document,
            debits=[(receivable, amount)],
            credits=[(on_account, amount)],
        )


EventSource = Callable[[dt.date, dt.date], Iterable[JournalEvent]]

# Where the journal's events come from; another source of money events is added with
# ``register_event_source``.
EVENT_SOURCES: list[EventSource] = [
    invoice_events,
    credit_note_events,
    payment_events,
    received_payment_events,
    payment_application_events,
]


def register_event_source(source: EventSource) -> None:
    """Add a source of money events (payments captured or refunded) to the journal."""
    if source not in EVENT_SOURCES:
        EVENT_SOURCES.append(source)


def journal_events(date_from: dt.date, date_to: dt.date) -> list[JournalEvent]:
    """Every money event from ``date_from`` to ``date_to`` (inclusive), by date; on one
    day invoices come first, then credit notes, each by number, then payments."""
    if date_from > date_to:
        raise ValueError("The journal's range starts after it ends.")
    events = [event for source in EVENT_SOURCES for event in source(date_from, date_to)]
    events = [event for event in events if event.rows]
    # Stable: within a day, the sources' order (invoices, the credit notes that
    # correct them, the money that moved for them).
    events.sort(key=lambda e: e.rows[0].date)
    return events


def journal_rows(date_from: dt.date, date_to: dt.date) -> list[JournalRow]:
    return [row for event in journal_events(date_from, date_to) for row in event.rows]


def journal_file(date_from: dt.date, date_to: dt.date, file_format: str) -> bytes:
    """The journal of the range as a CSV (UTF-8, a header row, amounts with two
    decimals, ISO dates) or an XLSX workbook."""
    if file_format not in FORMATS:
        raise ValueError(f"Unknown journal format {file_format!r}: one of {FORMATS}.")
    rows = journal_rows(date_from, date_to)
    if file_format == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(COLUMNS)
        for row in rows:
            writer.writerow(
                (
                    row.date.isoformat(),
                    row.account,
                    f"{row.debit:.2f}",
                    f"{row.credit:.2f}",
                    row.document_number,
                    row.order_number,
                    row.company,
                    row.currency,
                )
            )
        return out.getvalue().encode()
    dataset = tablib.Dataset(headers=list(COLUMNS), title="Journal")
    for row in rows:
        dataset.append(row.as_tuple())
    content: bytes = dataset.export("xlsx")
    return content


def journal_filename(date_from: dt.date, date_to: dt.date, file_format: str) -> str:
    return f"journal-{date_from.isoformat()}-{date_to.isoformat()}.{file_format}"
