"""The aging report: balances of invoices on terms by company and days past due, its
bucket boundaries, its totals, its CSV and XLSX files, and its one query."""

import csv
import datetime as dt
import io
from decimal import Decimal

import openpyxl
import pytest
from django.utils import timezone

from billing.aging import (
    COLUMNS,
    NO_COMPANY,
    aging_file,
    aging_report,
    aging_rows,
)
from billing.credit_notes import issue_credit_note
from billing.invoicing import invoice_shipment
from billing.models import CreditReason, Invoice, InvoiceStatus, PaymentMethod
from tests.billing.conftest import SYSTEM, company_buyer, make_products, place_routed, ship

pytestmark = pytest.mark.django_db

AS_OF = dt.date(2026, 9, 30)
ZERO = Decimal("0.00")
# Days past due on AS_OF -> the bucket it falls in.
BOUNDARIES = {
    -5: "current",
    0: "current",
    1: "days_1_30",
    30: "days_1_30",
    31: "days_31_60",
    60: "days_31_60",
    61: "days_61_90",
    90: "days_61_90",
    91: "days_over_90",
}


def invoice_due(shop, days_past_due: int, *, price: str = "100.00", customer=None) -> Invoice:
    """An invoice on net 30 terms, issued so that it is ``days_past_due`` on AS_OF."""
    [invoice] = invoices_due(shop, [days_past_due], price=price, customer=customer)
    return invoice


def invoices_due(shop, days: list[int], *, price: str = "100.00", customer=None) -> list[Invoice]:
    # All placed before any is invoiced: an overdue invoice puts the company's next
    # orders on a credit hold.
    [product] = make_products(shop, [Decimal(price)])
    buyer = customer or company_buyer("net30")
    placed = [place_routed([(product, 1)], customer=buyer)[1] for _ in days]
    return [
        invoice_shipment(
            ship(fo).pk, issue_date=AS_OF - dt.timedelta(days=d) - dt.timedelta(days=30)
        )
        for fo, d in zip(placed, days, strict=True)
    ]


def by_company(rows):
    return {row.company_id: row for row in rows}


def test_each_balance_falls_in_its_bucket_at_the_boundaries(shop):
    invoices = {days: invoice_due(shop, days) for days in BOUNDARIES}

    rows = by_company(aging_rows(AS_OF))

    assert len(rows) == len(BOUNDARIES)
    for days, bucket in BOUNDARIES.items():
        invoice = invoices[days]
        row = rows[invoice.company_id]
        assert getattr(row, bucket) == invoice.grand_total, (days, bucket)
        assert row.total == invoice.grand_total
        assert [b for b in row.buckets if b] == [invoice.grand_total]
        assert (row.account_number, row.name, row.currency) == (
            invoice.company.account_number,
            invoice.company.name,
            "USD",
        )


def test_a_row_adds_a_companys_invoices_and_the_totals_add_the_rows(shop):
    buyer = company_buyer("net30")
    a, b, c = invoices_due(shop, [10, 45, 12], customer=buyer)
    other = invoice_due(shop, 100, price="70.00")

    report = aging_report(AS_OF)

    rows = by_company(report.rows)
    mine = rows[buyer.company_id]
    assert mine.days_1_30 == a.grand_total + c.grand_total
    assert mine.days_31_60 == b.grand_total
    assert mine.total == a.grand_total + b.grand_total + c.grand_total
    [total] = report.totals
    assert total.name == "Total"
    assert total.days_1_30 == a.grand_total + c.grand_total
    assert total.days_31_60 == b.grand_total
    assert total.days_over_90 == other.grand_total
    assert total.current == total.days_61_90 == ZERO
    assert total.total == sum(row.total for row in report.rows)


def test_what_is_counted_is_the_balance_due(shop):
    credited = invoice_due(shop, 5)
    issue_credit_note(
        invoice_id=credited.pk, amount=Decimal("30.00"), reason=CreditReason.GOODWILL, actor=SYSTEM
    )
    partly_paid = invoice_due(shop, 5)
    Invoice.objects.filter(pk=partly_paid.pk).update(
        status=InvoiceStatus.PARTIALLY_PAID, amount_paid=Decimal("25.00")
    )
    paid = invoice_due(shop, 5)
    Invoice.objects.filter(pk=paid.pk).update(
        status=InvoiceStatus.PAID, amount_paid=paid.grand_total
    )
    credited_in_full = invoice_due(shop, 5)
    issue_credit_note(
        invoice_id=credited_in_full.pk,
        amount=credited_in_full.grand_total,
        reason=CreditReason.INVOICE_ERROR,
        actor=SYSTEM,
    )
    [product] = make_products(shop, [Decimal("40.00")])
    _, fo = place_routed([(product, 1)])
    invoice_shipment(ship(fo).pk, issue_date=AS_OF - dt.timedelta(days=40))  # a card

    rows = by_company(aging_rows(AS_OF))

    assert set(rows) == {credited.company_id, partly_paid.company_id}
    assert rows[credited.company_id].days_1_30 == credited.grand_total - Decimal("30.00")
    assert rows[partly_paid.company_id].days_1_30 == partly_paid.grand_total - Decimal("25.00")


def test_invoices_issued_after_the_as_of_date_are_left_out(shop):
    invoice = invoice_due(shop, 0)  # issued 30 days before AS_OF

    assert aging_rows(invoice.issue_date - dt.timedelta(days=1)) == []
    [row] = aging_rows(invoice.issue_date)
    assert row.current == invoice.grand_total
    # Aged on a later date, the same balance moves along the buckets.
    [row] = aging_rows(AS_OF + dt.timedelta(days=31))
    assert row.days_31_60 == invoice.grand_total


def test_customers_without_a_company_have_one_row(shop):
    # An invoice on terms of a customer without a company (as an import may bring):
    # the invoicing service gives them none, so the row is written as such.
    [product] = make_products(shop, [Decimal("10.00")])
    order, fo = place_routed([(product, 1)])
    shipment = ship(fo)
    legacy = Invoice.objects.create(
        number="INV-LEGACY-1",
        order=order,
        shipment=shipment,
        customer=order.customer,
        currency="USD",
        issue_date=AS_OF - dt.timedelta(days=70),
        issued_at=timezone.now(),
        due_date=AS_OF - dt.timedelta(days=40),
        payment_method=PaymentMethod.INVOICE,
        payment_terms="net30",
        payment_terms_days=30,
        subtotal=Decimal("10.00"),
        tax_total=ZERO,
        grand_total=Decimal("10.00"),
    )
    on_terms = invoice_due(shop, 3)

    rows = aging_rows(AS_OF)

    assert [row.name for row in rows] == [on_terms.company.name, NO_COMPANY]
    assert (rows[-1].company_id, rows[-1].account_number) == (None, "")
    assert rows[-1].days_31_60 == legacy.grand_total


def test_the_report_is_one_query_whatever_the_number_of_companies(shop, django_assert_num_queries):
    for days in (3, 40, 95):
        invoice_due(shop, days)
    with django_assert_num_queries(1):
        assert len(aging_rows(AS_OF)) == 3

    for days in (1, 2, 61, 62, 200):
        invoice_due(shop, days)
    with django_assert_num_queries(1):
        assert len(aging_report(AS_OF).rows) == 8


def test_the_csv_holds_the_table_and_its_totals(shop):
    early = invoice_due(shop, 1, price="100.00")
    late = invoice_due(shop, 91, price="20.00")
    report = aging_report(AS_OF)

    parsed = list(csv.reader(io.StringIO(aging_file(report, "csv").decode())))

    assert tuple(parsed[0]) == COLUMNS
    assert parsed[0] == [
        "Account",
        "Company",
        "Currency",
        "Current",
        "1–30 days",
        "31–60 days",
        "61–90 days",
        "Over 90 days",
        "Total",
    ]
    body = {row[0]: row for row in parsed[1:-1]}
    e, la = str(early.grand_total), str(late.grand_total)
    assert body[early.company.account_number] == [
        early.company.account_number,
        early.company.name,
        "USD",
        "0.00",
        e,
        "0.00",
        "0.00",
        "0.00",
        e,
    ]
    assert body[late.company.account_number][3:] == ["0.00", "0.00", "0.00", "0.00", la, la]
    total = str(early.grand_total + late.grand_total)
    assert parsed[-1] == ["", "Total", "USD", "0.00", e, "0.00", "0.00", la, total]


def test_the_xlsx_holds_the_same_table(shop):
    invoice = invoice_due(shop, 35)
    report = aging_report(AS_OF)

    sheet = openpyxl.load_workbook(io.BytesIO(aging_file(report, "xlsx"))).active
    values = [list(row) for row in sheet.iter_rows(values_only=True)]

    assert tuple(values[0]) == COLUMNS
    amount = float(invoice.grand_total)
    assert values[1][:3] == [invoice.company.account_number, invoice.company.name, "USD"]
    assert [float(v) for v in values[1][3:]] == [0, 0, amount, 0, 0, amount]
    assert values[2][1] == "Total"
    assert [float(v) for v in values[2][3:]] == [0, 0, amount, 0, 0, amount]


def test_an_unknown_format_is_refused(shop):
    with pytest.raises(ValueError, match="Unknown aging report format"):
        aging_file(aging_report(AS_OF), "pdf")
