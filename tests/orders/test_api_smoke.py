import json

import pytest
from django.test import Client
from rest_framework.test import APIClient

from customers.api_keys import create_api_key
from orders.models import Order

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(buyer, company):
    issued = create_api_key(company=company, name="erp")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.raw_key}")
    return client


def body(products, address):
    return {
        "po_number": "PO-1",
        "shipping_address": address,
        "shipping_method": "STANDARD",
        "lines": [{"sku": p.sku, "quantity": 2} for p in products],
    }


def test_post_then_replay_and_read(api, stocked, address, standard):
    payload = body(stocked[:2], address)

    first = api.post("/api/v1/orders/", payload, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    again = api.post("/api/v1/orders/", payload, format="json", HTTP_IDEMPOTENCY_KEY="k1")

    assert first.status_code == 201, first.content
    assert again.status_code == 201
    assert first.content == again.content
    assert Order.objects.count() == 1
    number = json.loads(first.content)["number"]
    detail = api.get(f"/api/v1/orders/{number}/")
    assert detail.status_code == 200
    assert detail.json()["lines"][0]["quantity"] == 2
    listing = api.get("/api/v1/orders/")
    assert [o["number"] for o in listing.json()["results"]] == [number]
    cancel = api.post(f"/api/v1/orders/{number}/cancel/", {"reason": "changed mind"}, format="json")
    assert cancel.status_code == 200, cancel.content
    assert cancel.json()["status"] == "cancelled"


def test_errors_are_problem_json(api, stocked, address, standard):
    missing_key = api.post("/api/v1/orders/", body(stocked[:1], address), format="json")
    malformed = api.post(
        "/api/v1/orders/", "{not json", content_type="application/json", HTTP_IDEMPOTENCY_KEY="x"
    )
    short = api.post(
        "/api/v1/orders/",
        {**body(stocked[:1], address), "lines": [{"sku": stocked[0].sku, "quantity": 500}]},
        format="json",
        HTTP_IDEMPOTENCY_KEY="y",
    )

    assert missing_key.status_code == 400
    assert missing_key["Content-Type"] == "application/problem+json"
    assert missing_key.json()["code"] == "idempotency_key_required"
    assert malformed.status_code == 400
    assert malformed.json()["code"] == "malformed_request"
    assert short.status_code == 409
    assert short.json()["code"] == "insufficient_stock"
    assert short.json()["lines"][0]["sku"] == stocked[0].sku
    assert Order.objects.count() == 0


def test_products_and_availability(api, stocked):
    products = api.get("/api/v1/products/")
    availability = api.get(f"/api/v1/availability/?sku={stocked[0].sku}&sku=NOPE")

    assert products.status_code == 200
    assert len(products.json()["results"]) == 3
    assert availability.json()["results"][0]["available_to_promise"] == 100
    assert availability.json()["unknown_skus"] == ["NOPE"]


def test_schema_is_public():
    response = Client().get("/api/schema/")
    assert response.status_code == 200


def test_availability_with_delivery_promise(api, stocked, standard):
    response = api.get(
        f"/api/v1/availability/?sku={stocked[0].sku}&shipping_method=STANDARD&postal_code=10001"
    )
    unknown_method = api.get(f"/api/v1/availability/?sku={stocked[0].sku}&shipping_method=NOPE")

    assert response.status_code == 200
    promise = response.json()["delivery_promise"]
    assert promise["ships_from"] == "WH-NJ"
    assert promise["delivery_date"] >= promise["ship_by_date"]
    assert unknown_method.status_code == 422
    assert unknown_method.json()["code"] == "unknown_shipping_method"
