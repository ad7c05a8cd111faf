"""Payments applied at the same time never pay an invoice more than it owes, and a
payment applied against a refund of the same order does not deadlock (both lock the
order first)."""

from decimal import Decimal

import pytest
from django.utils import timezone

from billing.models import Invoice, PaymentApplication, ReceivedPayment
from billing.receivables import Allocation, ApplicationExceedsBalance, record_payment
from billing.refunds import refund_order
from orders.models import OpenReceivable
from tests.api.support import run_together
from tests.billing.conftest import SYSTEM, company_buyer, make_products, place_routed, ship

pytestmark = pytest.mark.django_db(transaction=True)

D = Decimal
TODAY = timezone.localdate()


def shipped_in_two(shop):
    """An order on terms shipped in two parts: two invoices (issued as each commits)."""
    buyer = company_buyer()
    a, b = make_products(shop, [D("100.00"), D("60.00")])
    order, fo = place_routed([(a, 1), (b, 1)], customer=buyer)
    ship(fo, {a.pk: 1})
    ship(fo)
    return buyer.company, list(Invoice.objects.filter(order=order).order_by("pk"))


def test_two_payments_of_the_whole_balance_pay_it_once(shop):
    company, [invoice, _] = shipped_in_two(shop)

    def pay(reference: str):
        return lambda: record_payment(
            company_id=company.pk,
            amount=invoice.grand_total,
            received_date=TODAY,
            bank_reference=reference,
            allocations=[Allocation(invoice.pk, invoice.grand_total)],
            actor=SYSTEM,
        )

    results = run_together([pay("T-1"), pay("T-2")])

    paid = [r for r in results if isinstance(r, ReceivedPayment)]
    refused = [r for r in results if isinstance(r, ApplicationExceedsBalance)]
    assert (len(paid), len(refused)) == (1, 1), results
    invoice.refresh_from_db()
    assert invoice.amount_paid == invoice.grand_total
    assert PaymentApplication.objects.count() == 1
    assert ReceivedPayment.objects.count() == 1  # the refused one wrote nothing
    assert not OpenReceivable.objects.filter(invoice_number=invoice.number).exists()


def test_a_payment_and_a_refund_of_the_same_order_do_not_deadlock(shop):
    company, invoices = shipped_in_two(shop)
    total = sum((i.grand_total for i in invoices), D("0"))

    results = run_together(
        [
            lambda: record_payment(
                company_id=company.pk,
                amount=total,
                received_date=TODAY,
                bank_reference="T-3",
                actor=SYSTEM,
            ),
            lambda: refund_order(
                order_id=invoices[0].order_id,
                amount=D("30.00"),
                reason="goodwill",
                actor=SYSTEM,
            ),
        ]
    )

    assert not any(isinstance(r, BaseException) for r in results), results
    for invoice in invoices:
        invoice.refresh_from_db()
    # the payment paid what was owed when it ran: everything (refund after) or all but
    # the credit (refund first), the rest on account
    payment = ReceivedPayment.objects.get()
    assert payment.applied_total == sum((i.amount_paid for i in invoices), D("0"))
    assert payment.applied_total in (total, total - D("30.00"))
