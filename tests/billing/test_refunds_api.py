"""``POST /api/v1/orders/{number}/refunds/``: a company refunds money on its own order,
idempotently; over-refunds and bad input are problems with nothing written."""

from decimal import Decimal

import pytest
from django.core.cache import caches
from rest_framework.test import APIClient

from billing.models import CreditNote, Invoice, Payment, Refund, RefundStatus
from billing.providers.test import DEFAULT_STORE
from customers.api_keys import create_api_key, create_storefront_api_key
from orders.models import PaymentStatus
from tests.billing.conftest import company_buyer, make_products, place_routed, ship

pytestmark = pytest.mark.django_db(transaction=True)

D = Decimal
PROBLEM = "application/problem+json"


@pytest.fixture(autouse=True)
def _clean():
    DEFAULT_STORE.clear()
    for cache in caches.all():
        cache.clear()
    yield
    DEFAULT_STORE.clear()
    for cache in caches.all():
        cache.clear()


def client_for(raw_key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    return client


def url(order) -> str:
    return f"/api/v1/orders/{order.number}/refunds/"


def post(api, order, body, key="refund-1"):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return api.post(url(order), body, format="json", **headers)


def assert_problem(response, status, code):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM
    assert response.json()["code"] == code


@pytest.fixture
def card_order(shop):
    """A company's card order of two lines, shipped, and its key."""
    buyer = company_buyer("prepaid")
    a, b = make_products(shop, [D("30.00"), D("12.50")])
    order, fo = place_routed(
        [(a, 2), (b, 1)], customer=buyer, payment_method="card", payment_token="tok_approve"
    )
    ship(fo)
    order.refresh_from_db()
    api = client_for(create_api_key(company=buyer.company, name="erp").raw_key)
    return order, api


def test_a_company_refunds_an_amount_and_a_retry_returns_the_same_refund(card_order):
    order, api = card_order
    body = {"amount": "12.50", "reason": "damaged", "note": "Crushed box"}

    created = post(api, order, body)

    assert created.status_code == 201, created.content
    refund = created.json()
    [credit_note] = CreditNote.objects.filter(order=order)
    assert refund["credit_notes"] == [credit_note.number]
    assert refund["amount"] == "12.50"
    assert refund["status"] == RefundStatus.REFUNDED
    assert refund["order_number"] == order.number
    assert Payment.objects.get(order=order).amount_refunded == D("12.50")
    order.refresh_from_db()
    assert order.payment_status == PaymentStatus.PARTIALLY_REFUNDED

    again = post(api, order, body)
    assert again.status_code == 201
    assert again.json()["id"] == refund["id"]
    assert Refund.objects.count() == 1
    assert CreditNote.objects.count() == 1

    other_body = post(api, order, {**body, "amount": "1.00"})
    assert_problem(other_body, 422, "idempotency_key_reused")


def test_a_company_refunds_units_of_a_line(card_order):
    order, api = card_order
    line = order.lines.get(line_number=2)
    invoice_line = Invoice.objects.get(order=order).lines.get(order_line=line)

    created = post(api, order, {"lines": [{"line_number": 2, "quantity": 1}], "reason": "return"})

    assert created.status_code == 201, created.content
    assert D(created.json()["amount"]) == invoice_line.line_total + invoice_line.tax


def test_an_over_refund_is_409_and_writes_nothing(card_order):
    order, api = card_order
    response = post(
        api, order, {"amount": str(order.grand_total + D("0.01")), "reason": "goodwill"}
    )
    assert_problem(response, 409, "refund_exceeds_refundable")
    assert f"${order.grand_total}" in response.json()["detail"]
    assert not Refund.objects.exists()
    assert not CreditNote.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        {"reason": "goodwill"},
        {"amount": "0.00", "reason": "goodwill"},
        {"amount": "5.00", "reason": "because"},
        {"lines": [{"line_number": 9, "quantity": 1}], "reason": "goodwill"},
    ],
)
def test_bad_input_is_a_problem(card_order, body):
    order, api = card_order
    response = post(api, order, body)
    assert response.status_code in (400, 422), response.content
    assert response["Content-Type"] == PROBLEM
    assert not Refund.objects.exists()


def test_the_idempotency_key_is_required(card_order):
    order, api = card_order
    response = post(api, order, {"amount": "5.00", "reason": "goodwill"}, key=None)
    assert_problem(response, 400, "idempotency_key_required")


def test_another_companys_order_is_404_and_the_storefront_is_refused(card_order, shop):
    order, _ = card_order
    other = client_for(create_api_key(company=company_buyer().company, name="erp").raw_key)
    response = post(other, order, {"amount": "5.00", "reason": "goodwill"})
    assert response.status_code == 404
    unknown = other.post(
        "/api/v1/orders/NOPE/refunds/",
        {"amount": "5.00", "reason": "goodwill"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="k",
    )
    assert unknown.status_code == 404
    storefront = client_for(create_storefront_api_key(name="shop").raw_key)
    assert post(storefront, order, {"amount": "5.00", "reason": "goodwill"}).status_code == 403
    assert not Refund.objects.exists()
