"""The payment instruction through the order API: what it accepts, what it refuses
(422 problem+json, nothing placed), and the payment method and status it shows."""

from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from billing.models import Payment
from billing.providers.test import DEFAULT_STORE
from customers.api_keys import create_api_key, create_storefront_api_key
from orders.models import Order, PaymentMethod, PaymentStatus
from tests.billing.conftest import NEW_YORK, company_buyer, make_products

pytestmark = pytest.mark.django_db(transaction=True)

ADDRESS = {"name": "Pat", "line1": "350 Fifth Avenue", "country": "US", **NEW_YORK}
SHOPPER = {"email": "pat@example.com", "first_name": "Pat", "last_name": "Doe"}


@pytest.fixture(autouse=True)
def _fresh_provider():
    DEFAULT_STORE.clear()
    yield
    DEFAULT_STORE.clear()


def client_for(raw_key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    return client


@pytest.fixture
def storefront(shop):
    return client_for(create_storefront_api_key(name="web").raw_key)


def order_body(sku: str, **extra) -> dict:
    return {
        "shipping_method": "STANDARD",
        "shipping_address": ADDRESS,
        "lines": [{"sku": sku, "quantity": 1}],
        **extra,
    }


def post(client: APIClient, body: dict, key: str):
    return client.post("/api/v1/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def test_a_storefront_order_with_a_card_token_is_authorised(shop, storefront):
    [product] = make_products(shop, [Decimal("30.00")])
    body = order_body(
        product.sku, customer=SHOPPER, payment={"method": "card", "token": "tok_approve"}
    )

    response = post(storefront, body, "k1")

    assert response.status_code == 201, response.content
    assert response.json()["payment_method"] == "card"
    order = Order.objects.get(number=response.json()["number"])
    assert order.payment_token == "tok_approve"
    assert order.payment_status == PaymentStatus.AUTHORISED
    assert Payment.objects.get(order=order).amount_authorised == order.grand_total
    read = storefront.get(f"/api/v1/orders/{order.number}/")
    assert read.status_code == 200, read.content
    assert read.json()["payment_status"] == "authorised"


def test_a_storefront_authorisation_is_taken_as_given(shop, storefront):
    [product] = make_products(shop, [Decimal("30.00")])
    body = order_body(
        product.sku, customer=SHOPPER, payment={"method": "card", "authorisation": "pi_123"}
    )

    response = post(storefront, body, "k1")

    assert response.status_code == 201, response.content
    order = Order.objects.get(number=response.json()["number"])
    assert Payment.objects.get(order=order).authorisation_reference == "pi_123"
    assert order.payment_status == PaymentStatus.AUTHORISED


@pytest.mark.parametrize(
    ("payment", "field"),
    [
        ({"method": "invoice"}, "payment.method"),
        ({"method": "card"}, "payment"),
        ({"method": "card", "token": "tok_approve", "authorisation": "pi_1"}, "payment"),
    ],
)
def test_a_payment_the_buyer_cannot_make_is_refused(shop, storefront, payment, field):
    [product] = make_products(shop, [Decimal("30.00")])

    response = post(storefront, order_body(product.sku, customer=SHOPPER, payment=payment), "k")

    assert response.status_code == 422, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert field in response.json()["fields"]
    assert not Order.objects.exists()


def test_a_company_on_terms_pays_by_invoice_by_default_or_by_card(shop):
    [product] = make_products(shop, [Decimal("30.00")])
    buyer = company_buyer("net30")
    assert buyer.company is not None
    api = client_for(create_api_key(company=buyer.company, name="erp").raw_key)

    by_default = post(api, order_body(product.sku), "k1")
    by_card = post(
        api, order_body(product.sku, payment={"method": "card", "token": "tok_approve"}), "k2"
    )

    assert by_default.status_code == 201, by_default.content
    assert by_default.json()["payment_method"] == PaymentMethod.INVOICE
    assert by_default.json()["payment_status"] == PaymentStatus.NONE
    assert by_card.status_code == 201, by_card.content
    order = Order.objects.get(number=by_card.json()["number"])
    assert order.payment_method == PaymentMethod.CARD
    assert order.payment_status == PaymentStatus.AUTHORISED
