import pytest
from rest_framework.test import APIClient

from customers.api_keys import create_api_key, create_storefront_api_key
from customers.models import Customer
from orders.models import IdempotencyKey, Order

pytestmark = pytest.mark.django_db


@pytest.fixture
def storefront(db):
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION=f"Bearer {create_storefront_api_key(name='shop').raw_key}"
    )
    return client


def order_body(product, address, email="shopper@example.com"):
    return {
        "customer": {"email": email, "first_name": "Sam", "last_name": "Shopper"},
        "shipping_address": address,
        "shipping_method": "STANDARD",
        "lines": [{"sku": product.sku, "quantity": 1}],
    }


def test_storefront_places_b2c_orders_and_registers_shoppers_once(
    storefront, stocked, address, standard
):
    first = storefront.post(
        "/api/v1/orders/",
        order_body(stocked[0], address),
        format="json",
        HTTP_IDEMPOTENCY_KEY="cart-1",
    )
    second = storefront.post(
        "/api/v1/orders/",
        order_body(stocked[1], address, "SHOPPER@example.com"),
        format="json",
        HTTP_IDEMPOTENCY_KEY="cart-2",
    )

    assert first.status_code == 201, first.content
    assert second.status_code == 201
    customer = Customer.objects.get()
    assert customer.company_id is None
    assert set(Order.objects.values_list("channel", "customer_id")) == {("web", customer.pk)}
    assert set(IdempotencyKey.objects.values_list("scope", flat=True)) == {"storefront"}
    assert len(storefront.get("/api/v1/orders/").json()["results"]) == 2


def test_refused_storefront_order_registers_nobody(storefront, stocked, address, standard):
    body = order_body(stocked[0], address)
    body["lines"][0]["quantity"] = 500

    response = storefront.post("/api/v1/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY="c")
    missing = storefront.post(
        "/api/v1/orders/", {**body, "customer": None}, format="json", HTTP_IDEMPOTENCY_KEY="d"
    )

    assert response.status_code == 409
    assert missing.status_code == 400
    assert Customer.objects.count() == 0
    assert Order.objects.count() == 0


def test_storefront_and_companies_do_not_see_each_other(
    storefront, stocked, address, standard, buyer, company
):
    b2b = APIClient()
    b2b.credentials(
        HTTP_AUTHORIZATION=f"Bearer {create_api_key(company=company, name='e').raw_key}"
    )
    web = storefront.post(
        "/api/v1/orders/",
        order_body(stocked[0], address),
        format="json",
        HTTP_IDEMPOTENCY_KEY="same",
    ).json()["number"]
    business = b2b.post(
        "/api/v1/orders/",
        {
            "shipping_address": address,
            "shipping_method": "STANDARD",
            "lines": [{"sku": stocked[0].sku, "quantity": 1}],
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY="same",
    ).json()["number"]

    assert storefront.get(f"/api/v1/orders/{business}/").status_code == 404
    assert b2b.get(f"/api/v1/orders/{web}/").status_code == 404
    assert Order.objects.count() == 2


def test_business_buyer_email_is_refused_on_the_storefront(
    storefront, stocked, address, standard, buyer
):
    response = storefront.post(
        "/api/v1/orders/",
        order_body(stocked[0], address, buyer.email),
        format="json",
        HTTP_IDEMPOTENCY_KEY="b",
    )

    assert response.status_code == 400
    assert Order.objects.count() == 0
