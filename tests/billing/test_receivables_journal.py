"""Money received in the journal export: cash in, held on account until applied, then
off the receivable; every event balances."""

from decimal import Decimal

import pytest
from django.utils import timezone

from billing import journal
from billing.receivables import Allocation, record_payment, unapply_payment
from tests.billing.conftest import SYSTEM
from tests.billing.test_receivables import terms_invoice

pytestmark = pytest.mark.django_db

D = Decimal
TODAY = timezone.localdate()


def sums(rows, account):
    debit = sum((r.debit for r in rows if r.account == account), D("0"))
    credit = sum((r.credit for r in rows if r.account == account), D("0"))
    return debit, credit


def test_receipts_applications_and_reversals_balance(shop):
    invoice = terms_invoice(shop)
    accounts = journal.journal_accounts()
    # received more than the invoice, part applied; then one application taken off
    payment = record_payment(
        company_id=invoice.company_id,
        amount=D("250.00"),
        received_date=TODAY,
        bank_reference="TRX-77",
        actor=SYSTEM,
        allocations=[Allocation(invoice.pk, D("60.00"))],
    )
    [application] = payment.applications.all()
    unapply_payment(application_id=application.pk, actor=SYSTEM)

    events = journal.journal_events(TODAY, TODAY)
    assert all(event.is_balanced for event in events)
    kinds = [event.kind for event in events]
    assert kinds.count("payment_received") == 1
    assert kinds.count("payment_applied") == 1
    assert kinds.count("payment_unapplied") == 1
    rows = journal.journal_rows(TODAY, TODAY)
    assert sums(rows, accounts["cash"]) == (D("250.00"), D("0"))
    # on account: 250 in, 60 out to the invoice, 60 back
    assert sums(rows, accounts["payments_on_account"]) == (D("60.00"), D("310.00"))
    received = next(e for e in events if e.kind == "payment_received")
    assert {row.document_number for row in received.rows} == {"TRX-77"}
    applied = next(e for e in events if e.kind == "payment_applied")
    assert {row.document_number for row in applied.rows} == {invoice.number}
    # and the whole day's journal, invoice included, still balances
    assert sum((r.debit for r in rows), D("0")) == sum((r.credit for r in rows), D("0"))


def test_the_csv_export_carries_receipts(shop):
    invoice = terms_invoice(shop)
    record_payment(
        company_id=invoice.company_id,
        amount=invoice.grand_total,
        received_date=TODAY,
        bank_reference="TRX-78",
        actor=SYSTEM,
    )
    content = journal.journal_file(TODAY, TODAY, "csv").decode()
    assert "TRX-78" in content
    assert f"{invoice.grand_total:.2f}" in content
