"""The aging report: what invoices on terms still owe, by company and by how long past
due, on an as-of date.

An invoice counts when it has a due date (it is on terms), was issued on or before the
as-of date, is not paid and still owes money (``billing.receivables``' balance due:
total - credited - paid). Its balance goes in one bucket by its days past due on the
as-of date (as-of date - due date): **current** (0 or less: not yet due, or due that
day), **1-30**, **31-60**, **61-90**, **over 90**. One row per company and currency,
one for customers without a company, and a totals row per currency.

Balances are today's: money received or credited after the as-of date already counts.
The whole table is one aggregate query, whatever the number of companies and invoices.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from decimal import Decimal

import tablib
from django.db.models import Case, DecimalField, F, Q, Sum, Value, When
from django.db.models.functions import Coalesce

from core.money import to_cents

from .models import Invoice, InvoiceStatus
from .receivables import with_balance

ZERO = Decimal("0.00")

# (key, heading): the buckets in order, and the (first, last) days past due of each;
# None is open-ended.
BUCKETS: tuple[tuple[str, str, int | None, int | None], ...] = (
    ("current", "Current", None, 0),
    ("days_1_30", "1–30 days", 1, 30),
    ("days_31_60", "31–60 days", 31, 60),
    ("days_61_90", "61–90 days", 61, 90),
    ("days_over_90", "Over 90 days", 91, None),
)
BUCKET_KEYS = tuple(key for key, *_ in BUCKETS)
NO_COMPANY = "Customers without a company"
COLUMNS = ("Account", "Company", "Currency", *(h for _, h, *_ in BUCKETS), "Total")
FORMATS = ("csv", "xlsx")
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@dataclass(frozen=True)
class AgingRow:
    """One company's (or the totals') balances in one currency, bucket by bucket."""

    company_id: int | None
    account_number: str
    name: str
    currency: str
    current: Decimal
    days_1_30: Decimal
    days_31_60: Decimal
    days_61_90: Decimal
    days_over_90: Decimal

    @property
    def buckets(self) -> tuple[Decimal, ...]:
        return tuple(getattr(self, key) for key in BUCKET_KEYS)

    @property
    def total(self) -> Decimal:
        return sum(self.buckets, ZERO)

    def as_tuple(self) -> tuple[object, ...]:
        return (self.account_number, self.name, self.currency, *self.buckets, self.total)


@dataclass(frozen=True)
class AgingTable:
    as_of: dt.date
    rows: list[AgingRow]
    totals: list[AgingRow]  # one per currency


def _days_past_due(as_of: dt.date, first: int | None, last: int | None) -> Q:
    # days past due = as_of - due_date, so "at least n days" is due_date <= as_of - n.
    condition = Q()
    if first is not None:
        condition &= Q(due_date__lte=as_of - dt.timedelta(days=first))
    if last is not None:
        condition &= Q(due_date__gte=as_of - dt.timedelta(days=last))
    return condition


def _money() -> DecimalField:
    return DecimalField(max_digits=14, decimal_places=2)


def aging_rows(as_of: dt.date) -> list[AgingRow]:
    """The report's rows on ``as_of``, by company name (customers without a company
    last), in one query."""
    open_on_terms = with_balance(
        Invoice.objects.filter(due_date__isnull=False, issue_date__lte=as_of).exclude(
            status=InvoiceStatus.PAID
        ),
        today=as_of,
    ).filter(Q(balance_due__gt=0))  # an annotation (``with_balance``)
    sums = {
        key: Coalesce(
            Sum(
                Case(
                    When(_days_past_due(as_of, first, last), then=F("balance_due")),
                    default=Value(ZERO),
                    output_field=_money(),
                )
            ),
            Value(ZERO),
            output_field=_money(),
        )
        for key, _, first, last in BUCKETS
    }
    grouped = (
        open_on_terms.values("company_id", "company__account_number", "company__name", "currency")
        .annotate(**sums)
        .order_by(F("company__name").asc(nulls_last=True), "company_id", "currency")
    )
    return [
        AgingRow(
            company_id=row["company_id"],
            account_number=row["company__account_number"] or "",
            name=row["company__name"] or NO_COMPANY,
            currency=row["currency"],
            # SQLite sums decimals as floats: back to cents, as stored.
            **{key: to_cents(Decimal(row[key])) for key in BUCKET_KEYS},
        )
        for row in grouped
    ]


def totals_of(rows: list[AgingRow]) -> list[AgingRow]:
    """One totals row per currency of ``rows`` (money is never added across currencies)."""
    totals: list[AgingRow] = []
    for currency in sorted({row.currency for row in rows}):
        same = [row for row in rows if row.currency == currency]
        sums = {key: sum((getattr(row, key) for row in same), ZERO) for key in BUCKET_KEYS}
        totals.append(
            AgingRow(company_id=None, account_number="", name="Total", currency=currency, **sums)
        )
    return totals


def aging_report(as_of: dt.date) -> AgingTable:
    rows = aging_rows(as_of)
    return AgingTable(as_of=as_of, rows=rows, totals=totals_of(rows))


def aging_file(report: AgingTable, file_format: str) -> bytes:
    """The report as a CSV (UTF-8, a header row, amounts with two decimals) or an XLSX
    workbook: the same columns and rows as on screen, totals last."""
    if file_format not in FORMATS:
        raise ValueError(f"Unknown aging report format {file_format!r}: one of {FORMATS}.")
    rows = [row.as_tuple() for row in [*report.rows, *report.totals]]
    if file_format == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(COLUMNS)
        writer.writerows(rows)
        return out.getvalue().encode()
    dataset = tablib.Dataset(headers=list(COLUMNS), title=f"Aging {report.as_of.isoformat()}")
    for row in rows:
        dataset.append(row)
    content: bytes = dataset.export("xlsx")
    return content


def aging_filename(as_of: dt.date, file_format: str) -> str:
    return f"aging-{as_of.isoformat()}.{file_format}"
