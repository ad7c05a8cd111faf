"""A B2B client can never see or touch another company's data, and every request
without a valid key is refused with problem+json."""

from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from customers.api_keys import create_vendor_api_key, revoke_api_key
from inventory.models import LocationKind
from orders.models import Order, OrderEvent, OrderStatus
from tests.factories import LocationFactory

from .conftest import api_client
from .support import ORDERS_URL, assert_problem, order_body, post_order, written

pytestmark = pytest.mark.django_db


def place(client, products, address, key, **extra):
    response = post_order(client, order_body([(p.sku, 1) for p in products], address, **extra), key)
    assert response.status_code == 201, response.content
    return response.json()["number"]


@pytest.fixture
def a_number(api, stocked, address, standard):
    return place(api, stocked[:2], address, "a-1", po_number="PO-A")


def test_another_companys_order_is_not_found(api_b, a_number):
    response = api_b.get(f"{ORDERS_URL}{a_number}/")

    assert_problem(response, 404, "not_found")
    assert a_number not in response.content.decode()


def test_another_companys_order_cannot_be_cancelled(api_b, a_number):
    before = written()

    response = api_b.post(f"{ORDERS_URL}{a_number}/cancel/", {"reason": "not mine"}, format="json")

    assert_problem(response, 404, "not_found")
    assert written() == before
    assert Order.objects.get(number=a_number).status == OrderStatus.PLACED
    assert not OrderEvent.objects.filter(order__number=a_number, type__contains="cancel").exists()


def test_a_partial_cancel_of_another_companys_order_is_not_found(api_b, a_number):
    before = written()

    response = api_b.post(
        f"{ORDERS_URL}{a_number}/cancel/",
        {"reason": "not mine", "lines": [{"line_number": 1, "quantity": 1}]},
        format="json",
    )

    assert_problem(response, 404, "not_found")
    assert written() == before


def test_lists_and_filters_show_only_the_callers_orders(
    api, api_b, stocked, address, standard, a_number
):
    b_first = place(api_b, stocked[:1], address, "b-1", po_number="PO-B1")
    b_second = place(api_b, stocked[1:2], address, "b-2", po_number="PO-B2")
    api_b.post(f"{ORDERS_URL}{b_second}/cancel/", {"reason": "dup"}, format="json")
    a_cancelled = place(api, stocked[2:], address, "a-2", po_number="PO-B1")
    api.post(f"{ORDERS_URL}{a_cancelled}/cancel/", {"reason": "dup"}, format="json")

    def numbers(client, **query):
        response = client.get(f"{ORDERS_URL}?{urlencode(query)}")
        assert response.status_code == 200, response.content
        return [o["number"] for o in response.json()["results"]]

    future = (timezone.now() + timedelta(hours=1)).isoformat()
    past = (timezone.now() - timedelta(hours=1)).isoformat()
    assert numbers(api_b) == [b_second, b_first]
    assert numbers(api) == [a_cancelled, a_number]
    assert numbers(api_b, status="cancelled") == [b_second]
    assert numbers(api_b, status="placed") == [b_first]
    assert numbers(api_b, po_number="PO-B1") == [b_first]  # not A's order with the same PO
    assert numbers(api_b, po_number="PO-A") == []
    assert numbers(api_b, created_since=past) == [b_second, b_first]
    assert numbers(api_b, created_since=future) == []
    assert numbers(api, status="cancelled", po_number="PO-B1") == [a_cancelled]


def test_an_invalid_filter_value_is_a_problem(api_b):
    response = api_b.get(f"{ORDERS_URL}?status=shipped-yesterday")

    problem = assert_problem(response, 400, "invalid_input")
    assert "status" in problem["fields"]


def test_a_revoked_key_is_refused(issued_key, api, a_number, stocked, address):
    revoke_api_key(api_key_id=issued_key.api_key.pk)
    before = written()

    listing = api.get(ORDERS_URL)
    detail = api.get(f"{ORDERS_URL}{a_number}/")
    create = post_order(api, order_body([(stocked[0].sku, 1)], address), "after-revoke")

    for response in (listing, detail, create):
        assert_problem(response, 401, "not_authenticated")
        assert response["WWW-Authenticate"].startswith("Bearer")
    assert written() == before


@pytest.mark.parametrize(
    "authorization",
    [
        pytest.param(None, id="no-key"),
        pytest.param("Bearer garbage", id="garbage"),
        pytest.param("Bearer oms_000000000000_notarealsecret", id="well-formed-unknown"),
        pytest.param("Bearer ", id="empty-bearer"),
        pytest.param("Token abc", id="other-scheme"),
    ],
)
def test_requests_without_a_valid_key_are_refused(
    authorization, a_number, stocked, address, standard
):
    client = APIClient()
    if authorization is not None:
        client.credentials(HTTP_AUTHORIZATION=authorization)
    before = written()

    responses = [
        client.get(ORDERS_URL),
        client.get(f"{ORDERS_URL}{a_number}/"),
        client.post(f"{ORDERS_URL}{a_number}/cancel/", {"reason": "x"}, format="json"),
        post_order(client, order_body([(stocked[0].sku, 1)], address), "anon-1"),
        client.get("/api/v1/products/"),
    ]

    for response in responses:
        assert_problem(response, 401, "not_authenticated")
    assert written() == before


def test_a_known_prefix_with_a_wrong_secret_is_refused(issued_key, a_number):
    """The prefix finds the row, but the secret must match it."""
    forged = api_client(f"oms_{issued_key.api_key.prefix}_{'x' * 43}")

    assert_problem(forged.get(f"{ORDERS_URL}{a_number}/"), 401, "not_authenticated")


def test_keys_of_a_deactivated_company_are_refused(api, company, a_number):
    company.is_active = False
    company.save()

    assert_problem(api.get(f"{ORDERS_URL}{a_number}/"), 401, "not_authenticated")


def test_a_vendor_key_cannot_use_the_ordering_endpoints(a_number, stocked, address):
    """Dropship vendors and 3PLs have keys for their own fulfilment orders only."""
    vendor = LocationFactory(code="DS-ACME", kind=LocationKind.DROPSHIP_VENDOR)
    client = api_client(create_vendor_api_key(vendor=vendor, name="vendor").raw_key)
    before = written()

    responses = [
        client.get(ORDERS_URL),
        client.get(f"{ORDERS_URL}{a_number}/"),
        client.post(f"{ORDERS_URL}{a_number}/cancel/", {"reason": "x"}, format="json"),
        post_order(client, order_body([(stocked[0].sku, 1)], address), "vendor-1"),
    ]

    for response in responses:
        assert_problem(response, 403, "permission_denied")
        assert a_number not in response.content.decode()
    assert written() == before
