"""Payments received against invoices on terms: partial, over, split, oldest due first,
duplicates, unapplying, and what the invoices then say."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from billing import receivables
from billing.integrity import check_receivables
from billing.invoicing import invoice_shipment
from billing.models import (
    Invoice,
    InvoiceStatus,
    PaymentApplication,
    PaymentMethod,
    ReceivedPayment,
)
from billing.receivables import (
    Allocation,
    ApplicationExceedsBalance,
    ApplicationExceedsPayment,
    ApplicationReversed,
    DuplicatePayment,
    InvoiceNotPayable,
    apply_payment,
    balance_due,
    record_payment,
    unapply_payment,
    with_balance,
)
from billing.refunds import refund_order
from core.errors import InvalidInput
from core.models import OutboxEvent
from orders.models import OpenReceivable, OrderEvent
from tests.billing.conftest import SYSTEM, company_buyer, make_products, place_routed, ship

pytestmark = pytest.mark.django_db

D = Decimal
HUNDRED = D("100.00")

TODAY = timezone.localdate()


def terms_invoice(shop, buyer=None, price=HUNDRED, units=1, due_days_ago=None) -> Invoice:
    """A shipped order of ``buyer`` (a company on net 30) and its invoice on terms, due
    in 30 days or ``due_days_ago``."""
    buyer = buyer or company_buyer()
    (product,) = make_products(shop, [price])
    _, fo = place_routed([(product, units)], customer=buyer)
    issued = None if due_days_ago is None else TODAY - dt.timedelta(days=30 + due_days_ago)
    invoice = invoice_shipment(ship(fo).pk, issue_date=issued)
    assert invoice.payment_method == PaymentMethod.INVOICE
    return invoice


def fresh(invoice: Invoice) -> Invoice:
    return with_balance(Invoice.objects.filter(pk=invoice.pk)).get()


def paid_events() -> list[dict]:
    return [e.payload for e in OutboxEvent.objects.filter(topic="invoice.paid")]


def pay(company, amount, **kwargs) -> ReceivedPayment:
    kwargs.setdefault("received_date", TODAY)
    return record_payment(company_id=company.pk, amount=D(amount), actor=SYSTEM, **kwargs)


def test_balance_due_is_total_less_credited_less_paid(shop):
    invoice = terms_invoice(shop)
    total = invoice.grand_total
    assert balance_due(invoice) == total
    assert fresh(invoice).balance_due == total
    refund_order(order_id=invoice.order_id, amount=D("10.00"), reason="goodwill", actor=SYSTEM)
    invoice = fresh(invoice)
    assert invoice.credited_total == D("10.00")
    assert balance_due(invoice) == invoice.balance_due == total - D("10.00")


def test_a_partial_payment_leaves_the_invoice_partially_paid(shop):
    invoice = terms_invoice(shop)
    company = invoice.company
    payment = pay(company, "40.00", bank_reference="TRX-1")

    invoice = fresh(invoice)
    assert invoice.amount_paid == D("40.00")
    assert invoice.status == InvoiceStatus.PARTIALLY_PAID
    assert invoice.paid_at is None
    assert invoice.balance_due == invoice.grand_total - D("40.00")
    assert payment.applied_total == D("40.00")
    assert payment.on_account == D("0.00")
    # the credit rule sees the balance; the order's timeline says what happened
    assert OpenReceivable.objects.get(invoice_number=invoice.number).balance_due == (
        invoice.balance_due
    )
    event = OrderEvent.objects.filter(order_id=invoice.order_id).latest("id")
    assert f"applied to invoice {invoice.number}" in event.message
    assert paid_events() == []


def test_paying_in_full_marks_paid_and_announces_it(shop):
    invoice = terms_invoice(shop)
    pay(invoice.company, str(invoice.grand_total), bank_reference="TRX-2")

    invoice = fresh(invoice)
    assert invoice.status == InvoiceStatus.PAID
    assert invoice.paid_at is not None
    assert invoice.balance_due == 0
    assert not OpenReceivable.objects.filter(invoice_number=invoice.number).exists()
    assert paid_events() == [{"order_id": invoice.order_id, "invoice_id": invoice.pk}]


def test_an_over_payment_keeps_the_rest_on_account_and_applies_it_later(shop):
    buyer = company_buyer()
    first = terms_invoice(shop, buyer, price=D("50.00"))
    payment = pay(buyer.company, "200.00", bank_reference="TRX-3")
    first = fresh(first)
    assert first.status == InvoiceStatus.PAID
    assert payment.on_account == D("200.00") - first.grand_total

    second = terms_invoice(shop, buyer, price=D("60.00"))
    [application] = apply_payment(payment_id=payment.pk, actor=SYSTEM)

    second = fresh(second)
    assert application.invoice_id == second.pk
    assert second.status == InvoiceStatus.PAID
    payment.refresh_from_db()
    assert payment.on_account == D("200.00") - first.grand_total - second.grand_total


def test_one_payment_split_explicitly_across_invoices(shop):
    buyer = company_buyer()
    a = terms_invoice(shop, buyer, price=D("50.00"))
    b = terms_invoice(shop, buyer, price=D("80.00"))
    payment = pay(
        buyer.company,
        "100.00",
        allocations=[Allocation(a.pk, D("30.00")), Allocation(b.pk, D("70.00"))],
    )
    a, b = fresh(a), fresh(b)
    assert (a.amount_paid, b.amount_paid) == (D("30.00"), D("70.00"))
    assert a.status == b.status == InvoiceStatus.PARTIALLY_PAID
    assert payment.on_account == 0
    assert PaymentApplication.objects.filter(payment=payment).count() == 2


def test_without_a_split_the_oldest_due_is_paid_first(shop):
    buyer = company_buyer()
    newer = terms_invoice(shop, buyer, price=D("50.00"))
    older = terms_invoice(shop, buyer, price=D("50.00"), due_days_ago=10)
    pay(buyer.company, str(older.grand_total + D("5.00")))
    older, newer = fresh(older), fresh(newer)
    assert older.status == InvoiceStatus.PAID
    assert newer.amount_paid == D("5.00")


def test_a_bank_reference_is_booked_once_per_payer(shop):
    invoice = terms_invoice(shop)
    company = invoice.company
    pay(company, "10.00", bank_reference="TRX-9")

    with pytest.raises(DuplicatePayment):
        pay(company, "10.00", bank_reference=" TRX-9 ")
    # nothing more was written
    assert ReceivedPayment.objects.count() == 1
    assert fresh(invoice).amount_paid == D("10.00")
    # another payer may use the same reference
    other = company_buyer().company
    pay(other, "5.00", bank_reference="TRX-9", auto_apply=False)
    # and the database refuses a duplicate that went around the service
    with pytest.raises(IntegrityError), transaction.atomic():
        ReceivedPayment.objects.create(
            company=company,
            received_date=TODAY,
            amount=D("1.00"),
            currency="USD",
            bank_reference="TRX-9",
            **SYSTEM.as_fields(),
        )


@pytest.mark.parametrize(
    ("allocation", "error"),
    [
        (lambda inv: [Allocation(inv.pk, inv.grand_total + D("0.01"))], ApplicationExceedsBalance),
        (lambda inv: [Allocation(inv.pk, D("-1.00"))], InvalidInput),
        (lambda inv: [Allocation(inv.pk, D("1.001"))], InvalidInput),
    ],
)
def test_an_allocation_that_does_not_fit_writes_nothing(shop, allocation, error):
    invoice = terms_invoice(shop)
    with pytest.raises(error):
        pay(invoice.company, "500.00", allocations=allocation(invoice))
    assert ReceivedPayment.objects.count() == 0
    assert PaymentApplication.objects.count() == 0
    invoice = fresh(invoice)
    assert invoice.amount_paid == 0
    assert invoice.status == InvoiceStatus.ISSUED


def test_allocations_beyond_the_payment_are_refused(shop):
    buyer = company_buyer()
    a = terms_invoice(shop, buyer)
    b = terms_invoice(shop, buyer)
    with pytest.raises(ApplicationExceedsPayment):
        pay(
            buyer.company,
            "50.00",
            allocations=[Allocation(a.pk, D("30.00")), Allocation(b.pk, D("30.00"))],
        )
    assert ReceivedPayment.objects.count() == 0
    assert fresh(a).amount_paid == fresh(b).amount_paid == 0


def test_another_companys_invoice_is_refused(shop):
    invoice = terms_invoice(shop)
    stranger = company_buyer().company
    with pytest.raises(InvoiceNotPayable):
        pay(stranger, "10.00", allocations=[Allocation(invoice.pk, D("10.00"))])
    assert ReceivedPayment.objects.count() == 0


def test_bad_input_is_refused(shop):
    company = company_buyer().company
    with pytest.raises(InvalidInput):
        pay(company, "0.00")
    with pytest.raises(InvalidInput):
        pay(company, "10.00", received_date=TODAY + dt.timedelta(days=1))
    with pytest.raises(InvalidInput):
        pay(company, "10.00", method="bitcoin")
    with pytest.raises(InvalidInput):
        record_payment(amount=D("1.00"), received_date=TODAY, actor=SYSTEM)
    assert ReceivedPayment.objects.count() == 0


def test_unapplying_puts_the_money_back_on_account(shop):
    invoice = terms_invoice(shop)
    payment = pay(invoice.company, str(invoice.grand_total))
    [application] = payment.applications.all()

    unapply_payment(application_id=application.pk, actor=SYSTEM)

    invoice = fresh(invoice)
    assert invoice.status == InvoiceStatus.ISSUED
    assert invoice.amount_paid == 0
    assert invoice.paid_at is None
    assert OpenReceivable.objects.get(invoice_number=invoice.number).balance_due == (
        invoice.grand_total
    )
    payment.refresh_from_db()
    assert payment.on_account == payment.amount
    with pytest.raises(ApplicationReversed):
        unapply_payment(application_id=application.pk, actor=SYSTEM)


def test_a_credit_note_that_covers_the_rest_pays_the_invoice(shop):
    invoice = terms_invoice(shop)
    pay(invoice.company, "50.00")
    rest = fresh(invoice).balance_due
    refund_order(order_id=invoice.order_id, amount=rest, reason="goodwill", actor=SYSTEM)

    invoice = fresh(invoice)
    assert invoice.status == InvoiceStatus.PAID
    assert invoice.balance_due == 0
    assert not OpenReceivable.objects.filter(invoice_number=invoice.number).exists()


def test_card_invoices_take_no_payment_received(shop):
    (product,) = make_products(shop, [D("20.00")])
    buyer = company_buyer()
    _, fo = place_routed(
        [(product, 1)], customer=buyer, payment_method="card", payment_token="tok_approve"
    )
    invoice = invoice_shipment(ship(fo).pk)
    assert invoice.payment_method == PaymentMethod.CARD
    with pytest.raises(InvoiceNotPayable):
        pay(buyer.company, "5.00", allocations=[Allocation(invoice.pk, D("5.00"))])
    assert not OpenReceivable.objects.filter(invoice_number=invoice.number).exists()


def test_overdue_is_derived_and_filterable(shop):
    buyer = company_buyer()
    late = terms_invoice(shop, buyer, due_days_ago=3)
    current = terms_invoice(shop, buyer)
    paid_late = terms_invoice(shop, buyer, due_days_ago=3)
    pay(
        buyer.company,
        str(paid_late.grand_total),
        allocations=[Allocation(paid_late.pk, paid_late.grand_total)],
    )
    statuses = dict(with_balance().values_list("pk", "display_status"))
    assert statuses[late.pk] == receivables.OVERDUE
    assert statuses[current.pk] == InvoiceStatus.ISSUED
    assert statuses[paid_late.pk] == InvoiceStatus.PAID
    overdue = receivables.filter_display_status(Invoice.objects.all(), receivables.OVERDUE)
    assert list(overdue.values_list("pk", flat=True)) == [late.pk]
    still_open = receivables.filter_display_status(Invoice.objects.all(), InvoiceStatus.ISSUED)
    assert list(still_open.values_list("pk", flat=True)) == [current.pk]


def test_the_integrity_check_holds_and_sees_a_broken_copy(shop):
    buyer = company_buyer()
    invoice = terms_invoice(shop, buyer)
    other = terms_invoice(shop, buyer)
    payment = pay(buyer.company, "30.00", allocations=[Allocation(invoice.pk, D("30.00"))])
    apply_payment(payment_id=payment.pk, actor=SYSTEM)
    assert check_receivables() == []

    # a receivable row that says another balance, and a payment whose total drifted
    OpenReceivable.objects.filter(invoice_number=other.number).update(balance_due=D("1.00"))
    ReceivedPayment.objects.filter(pk=payment.pk).update(applied_total=D("29.00"))
    found = {(v.check, v.subject) for v in check_receivables()}
    assert found == {
        ("open_receivable", f"invoice {other.number}"),
        ("received_payment_applied", f"payment received {payment.pk}"),
    }
