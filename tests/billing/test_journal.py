"""The journal export: each invoice and credit note is a balanced group of rows on the
configured accounts, a range balances as a whole, and the command's files parse."""

import csv
import datetime as dt
import io
from decimal import Decimal

import openpyxl
import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from billing.credit_notes import CreditLine, issue_credit_note
from billing.invoicing import invoice_shipment
from billing.journal import COLUMNS, journal_events, journal_rows
from billing.models import (
    CreditReason,
    Payment,
    PaymentTransaction,
    TransactionKind,
    TransactionOutcome,
)
from core.actors import Actor
from tests.billing.conftest import company_buyer, make_products, place_routed, ship

pytestmark = pytest.mark.django_db

NOV_1, NOV_30 = dt.date(2026, 11, 1), dt.date(2026, 11, 30)


@pytest.fixture
def november(shop):
    """Two invoices in November (one with a discount-free order of two lines shipped
    in two parts), one in October, and two credit notes in November."""
    cheap, dear = make_products(shop, [Decimal("19.99"), Decimal("5.25")])
    buyer = company_buyer("net30")
    _, fo = place_routed([(cheap, 2), (dear, 3)], customer=buyer)
    first = invoice_shipment(ship(fo, {cheap.pk: 1, dear.pk: 1}).pk, issue_date=NOV_1)
    second = invoice_shipment(ship(fo).pk, issue_date=dt.date(2026, 11, 20))
    _, other = place_routed([(dear, 1)])
    october = invoice_shipment(ship(other).pk, issue_date=dt.date(2026, 10, 31))
    damaged = issue_credit_note(
        invoice_id=second.pk,
        lines=[CreditLine(invoice_line_id=second.lines.first().pk, quantity=1)],
        shipping=True,
        reason=CreditReason.DAMAGED,
        actor=Actor.system("test"),
        issue_date=dt.date(2026, 11, 25),
    )
    goodwill = issue_credit_note(
        invoice_id=first.pk,
        amount=Decimal("3.33"),
        reason=CreditReason.GOODWILL,
        actor=Actor.system("test"),
        issue_date=NOV_30,
    )
    return {
        "first": first,
        "second": second,
        "october": october,
        "damaged": damaged,
        "goodwill": goodwill,
    }


def test_each_invoice_and_credit_note_is_one_balanced_event(november):
    events = journal_events(NOV_1, NOV_30)

    documents = [event.rows[0].document_number for event in events]
    assert documents == [
        november["first"].number,
        november["second"].number,
        november["damaged"].number,
        november["goodwill"].number,
    ]
    for event in events:
        assert event.is_balanced, event
        assert len({row.document_number for row in event.rows}) == 1
        assert all((row.debit > 0) != (row.credit > 0) for row in event.rows)


def test_an_invoice_debits_receivable_and_credits_revenue_shipping_and_tax(november):
    invoice = november["second"]
    [event] = [
        e for e in journal_events(NOV_1, NOV_30) if e.rows[0].document_number == invoice.number
    ]

    by_account = {row.account: (row.debit, row.credit) for row in event.rows}
    zero = Decimal("0.00")
    assert by_account == {
        "1200": (invoice.grand_total, zero),
        "4000": (zero, invoice.subtotal - invoice.discount_total),
        "4100": (zero, invoice.shipping_total),
        "2200": (zero, invoice.tax_total),
    }
    assert {row.order_number for row in event.rows} == {invoice.order.number}
    assert {row.company for row in event.rows} == {invoice.company.account_number}


def test_a_credit_note_reverses_what_it_credits(november):
    note = november["goodwill"]
    [event] = [e for e in journal_events(NOV_1, NOV_30) if e.rows[0].document_number == note.number]

    assert event.kind == "credit_note"
    receivable = [row for row in event.rows if row.account == "1200"]
    assert [(row.debit, row.credit) for row in receivable] == [(Decimal("0.00"), note.grand_total)]
    assert event.debit_total == note.grand_total


def test_the_range_balances_and_leaves_out_other_months(november):
    rows = journal_rows(NOV_1, NOV_30)

    assert sum(row.debit for row in rows) == sum(row.credit for row in rows)
    assert november["october"].number not in {row.document_number for row in rows}
    # Receivable: what November invoiced less what it credited.
    receivable = sum(row.debit - row.credit for row in rows if row.account == "1200")
    assert receivable == (
        november["first"].grand_total
        + november["second"].grand_total
        - november["damaged"].grand_total
        - november["goodwill"].grand_total
    )


def test_accounts_come_from_the_settings(november, settings):
    settings.OMS_JOURNAL_ACCOUNTS = {
        **settings.OMS_JOURNAL_ACCOUNTS,
        "receivable": "1210",
        "tax_payable": "2300",
    }

    accounts = {row.account for row in journal_rows(NOV_1, NOV_30)}

    assert accounts == {"1210", "4000", "4100", "2300"}


def test_the_command_writes_a_csv_that_parses_and_balances(november, capsys):
    call_command("export_journal", "--from", "2026-11-01", "--to", "2026-11-30")

    parsed = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))

    assert tuple(parsed[0]) == COLUMNS
    assert len(parsed) == len(journal_rows(NOV_1, NOV_30))
    debit = sum(Decimal(row["debit"]) for row in parsed)
    credit = sum(Decimal(row["credit"]) for row in parsed)
    assert debit == credit > 0
    assert {dt.date.fromisoformat(row["date"]) for row in parsed} <= {
        NOV_1 + dt.timedelta(days=d) for d in range(30)
    }
    assert {row["document_number"] for row in parsed} >= {november["first"].number}


def test_the_command_writes_an_xlsx_file(november, tmp_path):
    out = tmp_path / "journal.xlsx"

    call_command(
        "export_journal", "--from", "2026-11-01", "--to", "2026-11-30", "--format", "xlsx",
        "--output", str(out),
    )  # fmt: skip

    sheet = openpyxl.load_workbook(out).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == COLUMNS
    assert len(rows) - 1 == len(journal_rows(NOV_1, NOV_30))
    assert sum(Decimal(str(r[2])) for r in rows[1:]) == sum(Decimal(str(r[3])) for r in rows[1:])


def test_the_command_refuses_a_range_backwards_or_an_xlsx_without_a_file(db):
    with pytest.raises(CommandError):
        call_command("export_journal", "--from", "2026-11-30", "--to", "2026-11-01")
    with pytest.raises(CommandError):
        call_command(
            "export_journal", "--from", "2026-11-01", "--to", "2026-11-30", "--format", "xlsx"
        )
    with pytest.raises(CommandError):
        call_command("export_journal", "--from", "November", "--to", "2026-11-30")


def _at(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(15)))


def test_card_money_captured_and_refunded_is_journaled_when_it_moved(november):
    invoice = november["second"]
    payment = Payment.objects.create(
        order=invoice.order,
        provider="test",
        currency="USD",
        amount_authorised=invoice.grand_total,
        amount_captured=invoice.grand_total,
        amount_refunded=Decimal("10.00"),
    )

    def transaction(kind, amount, key, outcome=TransactionOutcome.SUCCEEDED, day=None, **extra):
        return PaymentTransaction.objects.create(
            payment=payment,
            kind=kind,
            amount=amount,
            idempotency_key=key,
            outcome=outcome,
            finished_at=_at(day) if day else None,
            **extra,
        )

    transaction(TransactionKind.AUTHORISE, invoice.grand_total, "a", day=dt.date(2026, 11, 19))
    transaction(
        TransactionKind.CAPTURE, invoice.grand_total, "c1", TransactionOutcome.FAILED,
        day=dt.date(2026, 11, 20), invoice=invoice,
    )  # fmt: skip
    transaction(
        TransactionKind.CAPTURE, invoice.grand_total, "c2", day=dt.date(2026, 11, 21),
        invoice=invoice, provider_reference="testcap_1",
    )  # fmt: skip
    transaction(
        TransactionKind.REFUND, Decimal("10.00"), "r1", day=dt.date(2026, 11, 26),
        provider_reference="testre_1",
    )  # fmt: skip
    transaction(TransactionKind.REFUND, Decimal("5.00"), "r2", TransactionOutcome.PENDING)
    transaction(
        TransactionKind.CAPTURE, Decimal("1.00"), "c3", day=dt.date(2026, 12, 1), invoice=invoice
    )  # outside the range

    events = journal_events(NOV_1, NOV_30)
    money = [e for e in events if e.kind.startswith("payment_")]

    assert [(e.kind, e.rows[0].date, e.rows[0].document_number) for e in money] == [
        ("payment_captured", dt.date(2026, 11, 21), invoice.number),
        ("payment_refunded", dt.date(2026, 11, 26), "testre_1"),
    ]
    captured, refunded = money
    assert [(r.account, r.debit, r.credit) for r in captured.rows] == [
        ("1000", invoice.grand_total, Decimal("0.00")),
        ("1200", Decimal("0.00"), invoice.grand_total),
    ]
    assert [(r.account, r.debit, r.credit) for r in refunded.rows] == [
        ("1200", Decimal("10.00"), Decimal("0.00")),
        ("1000", Decimal("0.00"), Decimal("10.00")),
    ]
    assert all(e.is_balanced for e in events)
    assert {r.order_number for e in money for r in e.rows} == {invoice.order.number}
    rows = journal_rows(NOV_1, NOV_30)
    assert sum(r.debit for r in rows) == sum(r.credit for r in rows)
