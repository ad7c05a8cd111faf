"""The credit rule counts unpaid invoices on terms once, and overdue invoices put new
orders on a credit hold that finance releases once they are paid."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db.models import Sum
from django.test import override_settings
from django.utils import timezone

from billing.invoicing import invoice_shipment
from billing.models import Invoice, InvoiceStatus, PaymentMethod
from billing.receivables import record_payment, with_balance
from customers.models import Company
from fulfillment.changes import cancel_order
from fulfillment.holds import release_order_hold
from orders.holds import company_credit_standing, company_open_exposure
from orders.models import CompanyExposure, HoldKind, OpenReceivable, Order, OrderHold, OrderStatus
from orders.placement import LineRequest, OrderRequest, place_order
from tests.billing.conftest import (
    NEW_YORK,
    SYSTEM,
    company_buyer,
    make_products,
    place_routed,
    ship,
)

D = Decimal
TODAY = timezone.localdate()


def recounted(company: Company) -> Decimal:
    """The exposure counted from scratch: what open orders have not invoiced on terms,
    plus the balances of the unpaid invoices on terms."""
    open_orders = Order.objects.filter(
        company=company, status__in=[OrderStatus.PLACED, OrderStatus.PROCESSING]
    )
    uninvoiced = sum(
        (max(o.grand_total - o.invoiced_on_terms, D("0")) for o in open_orders), D("0")
    )
    balances = with_balance(
        Invoice.objects.filter(company=company, payment_method=PaymentMethod.INVOICE)
    ).aggregate(t=Sum("balance_due"))["t"] or D("0")
    return uninvoiced + balances


def place(buyer, product) -> Order:
    """Place an order of one unit (not routed: a held order waits)."""
    return place_order(
        request=OrderRequest(
            customer=buyer,
            channel="web",
            shipping_method_code="STANDARD",
            shipping_address={
                "name": "Pat",
                "line1": "350 Fifth Avenue",
                "country": "US",
                **NEW_YORK,
            },
            lines=[LineRequest(sku=product.sku, quantity=1)],
        ),
        actor=SYSTEM,
    ).order


def kept_open_orders(company: Company) -> Decimal:
    total = CompanyExposure.objects.filter(company=company).aggregate(t=Sum("open_orders_total"))
    return total["t"] or D("0")


@pytest.mark.django_db(transaction=True)
def test_a_partly_shipped_order_and_its_unpaid_invoice_count_once(shop):
    # given an open order on terms of two units
    buyer = company_buyer()
    company = buyer.company
    a, b = make_products(shop, [D("100.00"), D("40.00")])
    order, fo = place_routed([(a, 1), (b, 1)], customer=buyer)
    assert company_open_exposure(company.pk) == order.grand_total

    # when one unit ships and is invoiced (the invoice is issued as the shipment commits)
    ship(fo, {a.pk: 1})
    invoice = Invoice.objects.get(order=order)
    order.refresh_from_db()

    # then the exposure has not moved: the invoiced part counts as the invoice's balance
    assert order.status == OrderStatus.PROCESSING
    assert order.invoiced_on_terms == invoice.grand_total
    assert OpenReceivable.objects.get(invoice_number=invoice.number).balance_due == (
        invoice.grand_total
    )
    assert kept_open_orders(company) == order.grand_total - invoice.grand_total
    assert company_open_exposure(company.pk) == order.grand_total == recounted(company)

    # when the invoice is paid, it no longer counts
    record_payment(
        company_id=company.pk, amount=invoice.grand_total, received_date=TODAY, actor=SYSTEM
    )
    expected = order.grand_total - invoice.grand_total
    assert company_open_exposure(company.pk) == expected == recounted(company)

    # when the rest ships, the order closes and its last invoice is what is owed
    ship(fo)
    order.refresh_from_db()
    last = Invoice.objects.filter(order=order).exclude(pk=invoice.pk).get()
    assert company_open_exposure(company.pk) == recounted(company)
    assert recounted(company) == last.grand_total + (
        max(order.grand_total - order.invoiced_on_terms, D("0"))
        if order.status in (OrderStatus.PLACED, OrderStatus.PROCESSING)
        else D("0")
    )


@pytest.mark.django_db(transaction=True)
def test_unpaid_invoices_push_a_new_order_over_the_credit_limit(shop):
    # given a company whose shipped order's invoice is unpaid, its order completed
    buyer = company_buyer()
    company = buyer.company
    (product,) = make_products(shop, [D("100.00")])
    order, fo = place_routed([(product, 1)], customer=buyer)
    ship(fo)
    invoice = Invoice.objects.get(order=order)
    Company.objects.filter(pk=company.pk).update(credit_limit=invoice.grand_total + D("50.00"))
    buyer.company.refresh_from_db()

    # when it orders again, the unpaid invoice counts with the new order
    second = place(buyer, product)
    hold = OrderHold.objects.get(order=second, kind=HoldKind.CREDIT_LIMIT)
    assert "over the credit limit" in hold.reason

    # and once paid, the next order passes
    record_payment(
        company_id=company.pk, amount=invoice.grand_total, received_date=TODAY, actor=SYSTEM
    )
    cancel_order(order_id=second.pk, reason="placed again", actor=SYSTEM)
    third = place(buyer, product)
    assert not OrderHold.objects.filter(order=third, kind=HoldKind.CREDIT_LIMIT).exists()


def overdue_invoices(shop, buyer, *days_late: int) -> list[Invoice]:
    """Invoices on terms of ``buyer``, each ``days_late`` past its due date (orders all
    shipped first: an overdue invoice would hold the next order)."""
    (product,) = make_products(shop, [D("80.00")])
    shipments = [ship(place_routed([(product, 1)], customer=buyer)[1]) for _ in days_late]
    return [
        invoice_shipment(shipment.pk, issue_date=TODAY - dt.timedelta(days=30 + late))
        for shipment, late in zip(shipments, days_late, strict=True)
    ]


@pytest.mark.django_db
@override_settings(OMS_OVERDUE_GRACE_DAYS=7)
def test_an_invoice_overdue_past_the_grace_period_holds_new_orders_until_paid(shop):
    buyer = company_buyer()
    company = buyer.company
    late, in_grace = overdue_invoices(shop, buyer, 8, 7)
    (product,) = make_products(shop, [D("10.00")])

    # a new order goes on a credit hold naming the invoice past the grace period only
    standing = company_credit_standing(company.pk)
    assert standing.overdue_numbers == (late.number,)
    order = place(buyer, product)
    hold = OrderHold.objects.get(order=order, kind=HoldKind.CREDIT_LIMIT)
    assert late.number in hold.reason
    assert in_grace.number not in hold.reason
    assert "overdue by more than 7 days" in hold.reason

    # paying it: finance releases the hold as usual, and new orders pass again
    record_payment(
        company_id=company.pk,
        amount=late.grand_total,
        received_date=TODAY,
        actor=SYSTEM,
        allocations=None,
    )
    late.refresh_from_db()
    assert late.status == InvoiceStatus.PAID
    release_order_hold(hold_id=hold.pk, reason="Invoice paid", actor=SYSTEM)
    assert OrderHold.objects.get(pk=hold.pk).released_at is not None
    assert company_credit_standing(company.pk).overdue_count == 0
    again = place(buyer, product)
    assert not OrderHold.objects.filter(order=again, kind=HoldKind.CREDIT_LIMIT).exists()


@pytest.mark.django_db
@override_settings(OMS_OVERDUE_GRACE_DAYS=0)
def test_the_hold_reason_names_the_oldest_invoices_and_counts_the_rest(shop):
    buyer = company_buyer()
    late = overdue_invoices(shop, buyer, *range(10, 3, -1))
    (product,) = make_products(shop, [D("10.00")])
    order = place(buyer, product)
    reason = OrderHold.objects.get(order=order, kind=HoldKind.CREDIT_LIMIT).reason
    oldest = ", ".join(invoice.number for invoice in late[:5])
    assert f"Invoices overdue by more than 0 days: {oldest} and 2 more." in reason


@pytest.mark.django_db
def test_prepaid_companies_are_not_held_for_invoices(shop):
    buyer = company_buyer(terms="prepaid")
    (product,) = make_products(shop, [D("10.00")])
    order, _ = place_routed([(product, 1)], customer=buyer, payment_token="tok_approve")
    assert not OrderHold.objects.filter(order=order, kind=HoldKind.CREDIT_LIMIT).exists()
