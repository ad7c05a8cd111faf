"""The invoices API shows what is still due and the derived overdue status, and filters
on it (``GET /api/v1/invoices/?status=overdue``)."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from billing.invoicing import invoice_shipment
from billing.receivables import Allocation, record_payment
from tests.billing.conftest import SYSTEM, make_products, place_routed, ship
from tests.billing.test_api_invoices import INVOICES, acme, invoiced, media  # noqa: F401

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()


def numbers(api, **query) -> list[str]:
    response = api.get(INVOICES, query)
    assert response.status_code == 200, response.content
    return [i["number"] for i in response.json()["results"]]


def test_balance_due_and_status_follow_payments_received(shop, acme):  # noqa: F811
    buyer, api = acme
    invoice = invoiced(shop, buyer)
    record_payment(
        company_id=buyer.company_id,
        amount=Decimal("20.00"),
        received_date=TODAY,
        actor=SYSTEM,
        allocations=[Allocation(invoice.pk, Decimal("20.00"))],
    )

    body = api.get(f"{INVOICES}{invoice.number}/").json()

    assert body["status"] == "partially_paid"
    assert body["amount_paid"] == "20.00"
    assert body["balance_due"] == f"{invoice.grand_total - Decimal('20.00'):.2f}"
    assert body["overdue"] is False


def test_the_list_filters_overdue_invoices(shop, acme):  # noqa: F811
    buyer, api = acme
    # shipped first: an overdue invoice holds the company's next orders
    [product] = make_products(shop, [Decimal("40.00")])
    shipments = [ship(place_routed([(product, 1)], customer=buyer)[1]) for _ in range(3)]
    past = TODAY - dt.timedelta(days=45)
    late, late_but_paid, current = (
        invoice_shipment(shipments[0].pk, issue_date=past),
        invoice_shipment(shipments[1].pk, issue_date=past),
        invoice_shipment(shipments[2].pk, issue_date=TODAY),
    )
    record_payment(
        company_id=buyer.company_id,
        amount=late_but_paid.grand_total,
        received_date=TODAY,
        actor=SYSTEM,
        allocations=[Allocation(late_but_paid.pk, late_but_paid.grand_total)],
    )

    assert numbers(api, status="overdue") == [late.number]
    assert numbers(api, status="issued") == [current.number]
    assert numbers(api, status="paid") == [late_but_paid.number]
    listed = {i["number"]: i for i in api.get(INVOICES).json()["results"]}
    assert listed[late.number]["status"] == "overdue"
    assert listed[late.number]["balance_due"] == f"{late.grand_total:.2f}"
    assert listed[late_but_paid.number]["balance_due"] == "0.00"
