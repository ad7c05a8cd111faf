"""Rows of a bank statement booked as payments received (``billing.receivables``).

A row has a ``date``, an ``amount``, optionally a ``currency``, a ``payer_reference``
(the company's account number), a ``remittance`` text (where customers quote invoice
numbers) and the bank's ``bank_reference``. ``book_row`` reads it, finds the payer and
the invoices, and makes one ``record_payment`` call, so a row is booked whole or not at
all. What it found and did comes back as a ``BookedRow`` for the import's report.

Matching: invoice numbers quoted in the remittance name the payer (they must all be one
company's) and the money goes to them, oldest due first, each up to its balance; without
one, the payer reference names the company and the money goes to its open invoices
oldest due first. What is left stays on account. A row that names neither is left
unmatched (not booked); a bank reference the payer already has is a duplicate (not
booked again).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from core.actors import Actor
from core.errors import DomainError, InvalidInput
from core.money import format_money, to_cents
from customers.models import Company

from .models import Invoice
from .numbering import INVOICE_SERIES
from .receivable_models import ReceivedPayment, ReceivedPaymentMethod
from .receivables import DuplicatePayment, record_payment

COLUMNS = ("date", "amount", "currency", "payer_reference", "remittance", "bank_reference")
REQUIRED = ("date", "amount", "bank_reference")
INVOICE_NUMBER = re.compile(rf"\b{INVOICE_SERIES}-\d{{4}}-\d{{6}}\b", re.IGNORECASE)
DATE_FORMATS = ("%Y-%m-%d", "%d.%m.%Y", "%m/%d/%Y")


class Outcome:
    BOOKED = "booked"
    DUPLICATE = "duplicate"
    UNMATCHED = "unmatched"


@dataclass(frozen=True)
class StatementRow:
    received_date: dt.date
    amount: Decimal
    currency: str
    payer_reference: str
    remittance: str
    bank_reference: str


@dataclass
class BookedRow:
    """What happened to a row: booked (a payment), a duplicate or unmatched."""

    outcome: str
    message: str
    payer: str = ""
    invoices: list[str] = field(default_factory=list)
    applied: Decimal = Decimal("0.00")
    on_account: Decimal = Decimal("0.00")
    payment: ReceivedPayment | None = None


def _text(row: Mapping[str, object], name: str) -> str:
    value = row.get(name)
    return "" if value is None else str(value).strip()


def _date(value: object) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value or "").strip()
    for fmt in DATE_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def _amount(value: object) -> Decimal | None:
    if isinstance(value, float):  # a spreadsheet's number: read as written
        value = repr(value)
    text = str(value or "").strip().replace(",", "")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        return None
    if not amount.is_finite() or to_cents(amount) != amount:
        return None
    return amount


def read_row(row: Mapping[str, object]) -> StatementRow:
    """The row's values, checked; ``InvalidInput`` naming each bad column
    (``details["fields"]``) otherwise."""
    problems: dict[str, str] = {}
    for name in REQUIRED:
        if not _text(row, name):
            problems[name] = "required"
    received = _date(row.get("date"))
    if "date" not in problems and received is None:
        problems["date"] = "not a date (YYYY-MM-DD)"
    amount = _amount(row.get("amount"))
    if "amount" not in problems and amount is None:
        problems["amount"] = "not an amount with cents at most"
    elif amount is not None and amount <= 0:
        problems["amount"] = "not money received (zero or outgoing)"
    currency = _text(row, "currency").upper()
    if currency and (len(currency) != 3 or not currency.isalpha()):
        problems["currency"] = "not a currency code"
    if problems:
        raise InvalidInput(
            "; ".join(f"{name}: {problem}" for name, problem in problems.items()),
            fields=problems,
        )
    assert received is not None and amount is not None  # noqa: PT018, S101 - checked above
    return StatementRow(
        received_date=received,
        amount=amount,
        currency=currency,
        payer_reference=_text(row, "payer_reference"),
        remittance=_text(row, "remittance"),
        bank_reference=_text(row, "bank_reference"),
    )


def _quoted_invoices(remittance: str) -> list[Invoice]:
    numbers = {n.upper() for n in INVOICE_NUMBER.findall(remittance)}
    if not numbers:
        return []
    return list(Invoice.objects.filter(number__in=numbers).select_related("company"))


def book_row(row: StatementRow, *, actor: Actor) -> BookedRow:
    """Find the row's payer and invoices and record the payment (one service call).
    Returns a duplicate or unmatched row unbooked; raises ``DomainError`` for a row that
    contradicts itself (invoices of several companies, or of another company than its
    payer reference) or that the service refuses."""
    invoices = _quoted_invoices(row.remittance)
    companies = {invoice.company_id for invoice in invoices}
    company: Company | None = None
    if len(companies) > 1 or None in companies:
        raise InvalidInput(
            "The remittance quotes invoices of several payers: "
            + ", ".join(sorted(i.number for i in invoices))
            + ". Record it by hand.",
            fields={"remittance": "invoices of several payers"},
        )
    if invoices:
        company = invoices[0].company
    if row.payer_reference:
        named = Company.objects.filter(account_number__iexact=row.payer_reference).first()
        if company is not None and named is not None and named.pk != company.pk:
            raise InvalidInput(
                f"The remittance quotes invoices of {company}, the payer reference names "
                f"{named}. Record it by hand.",
                fields={"payer_reference": "another company than the invoices'"},
            )
        company = company or named
    if company is None:
        return BookedRow(
            outcome=Outcome.UNMATCHED,
            message="Unmatched: no invoice number in the remittance and no known account "
            "number. Not booked: record it by hand once you know the payer.",
        )
    try:
        payment = record_payment(
            company_id=company.pk,
            amount=row.amount,
            currency=row.currency,
            received_date=row.received_date,
            method=ReceivedPaymentMethod.BANK_TRANSFER,
            bank_reference=row.bank_reference,
            note=row.remittance[:500],
            invoice_ids=[invoice.pk for invoice in invoices] if invoices else None,
            actor=actor,
        )
    except DuplicatePayment as exc:
        return BookedRow(
            outcome=Outcome.DUPLICATE,
            payer=str(company),
            message=f"Duplicate: {exc.message} Not booked again.",
        )
    applied = list(payment.applications.select_related("invoice").order_by("pk"))
    numbers = [a.invoice.number for a in applied]
    on_account = payment.on_account
    parts = [f"Booked {format_money(payment.amount, payment.currency)} from {company}"]
    if numbers:
        parts.append("applied to " + ", ".join(numbers))
    if on_account > 0:
        parts.append(f"{format_money(on_account, payment.currency)} on account")
    missed = sorted({i.number for i in invoices} - set(numbers))
    if missed:
        parts.append("nothing due on " + ", ".join(missed))
    return BookedRow(
        outcome=Outcome.BOOKED,
        message="; ".join(parts) + ".",
        payer=str(company),
        invoices=numbers,
        applied=payment.applied_total,
        on_account=on_account,
        payment=payment,
    )


def refusal_fields(exc: DomainError) -> dict[str, str]:
    """The columns a refusal names, for the import's report."""
    found = exc.details.get("fields")
    return {str(k): str(v) for k, v in found.items()} if isinstance(found, dict) else {}
