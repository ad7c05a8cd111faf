"""Every bad input gets a clear 4xx problem+json with a stable code, and nothing is
written: no order, line, event, outbox row or idempotency record; stock untouched."""

import copy
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.test import override_settings

from inventory import services as stock
from tests.factories import ProductFactory

from .support import ORDERS_URL, assert_problem, order_body, post_order, written

pytestmark = pytest.mark.django_db


def _set_line(field, value):
    def change(body):
        body["lines"][0][field] = value

    return change


def _drop(field):
    def change(body):
        del body[field]

    return change


def _set_address(field, value):
    def change(body):
        body["shipping_address"][field] = value

    return change


def _set(field, value):
    def change(body):
        body[field] = value

    return change


@pytest.mark.parametrize(
    ("change", "status", "code", "field"),
    [
        pytest.param(_set_line("quantity", 0), 400, "invalid_input", "lines", id="quantity-0"),
        pytest.param(_set_line("quantity", -3), 400, "invalid_input", "lines", id="negative"),
        pytest.param(_set_line("quantity", 10**9), 400, "invalid_input", "lines", id="huge"),
        pytest.param(_set_line("quantity", 1.5), 400, "invalid_input", "lines", id="fraction"),
        pytest.param(_set_line("quantity", "two"), 400, "invalid_input", "lines", id="text"),
        pytest.param(_set_line("quantity", None), 400, "invalid_input", "lines", id="null-qty"),
        pytest.param(_set_line("quantity", True), 400, "invalid_input", "lines", id="boolean"),
        pytest.param(_set_line("sku", "NO-SUCH-SKU"), 400, "unknown_sku", None, id="unknown-sku"),
        pytest.param(_set("lines", ["SKU-1"]), 400, "invalid_input", "lines", id="line-not-object"),
        pytest.param(_drop("lines"), 400, "invalid_input", "lines", id="no-lines"),
        pytest.param(_set("lines", []), 400, "invalid_input", "lines", id="empty-lines"),
        pytest.param(
            _drop("shipping_method"), 400, "invalid_input", "shipping_method", id="no-method"
        ),
        pytest.param(
            _set("shipping_method", "TELEPORT"),
            422,
            "unknown_shipping_method",
            "shipping_method",
            id="unknown-method",
        ),
        pytest.param(
            _drop("shipping_address"), 422, "invalid_order", "shipping_address", id="no-address"
        ),
        pytest.param(
            _set_address("country", "XX"), 400, "invalid_input", "country", id="unknown-country"
        ),
        pytest.param(
            _set_address("postal_code", "00000"),
            400,
            "invalid_input",
            "postal_code",
            id="unknown-zip",
        ),
        pytest.param(
            _set("shipping_method", "PICKUP"),
            422,
            "invalid_order",
            "pickup_location",
            id="pickup-without-store",
        ),
        pytest.param(
            lambda body: body.update(shipping_method="PICKUP", pickup_location="NOWHERE"),
            422,
            "invalid_order",
            "pickup_location",
            id="pickup-at-unknown-store",
        ),
        pytest.param(
            _set_line("customization", {"engraving": "Hi"}),
            422,
            "invalid_order",
            "lines[0].customization",
            id="customization-not-allowed",
        ),
    ],
)
def test_bad_order_is_refused_and_nothing_is_written(
    api, stocked, address, standard, pickup_method, change, status, code, field
):
    body = order_body([(stocked[0].sku, 2), (stocked[1].sku, 1)], address)
    change(body)
    before = written()

    response = post_order(api, body, "bad-1")

    problem = assert_problem(response, status, code)
    if field is not None:
        assert field in problem["fields"]
    assert written() == before


def test_unknown_customization_field_is_refused(api, address, standard, warehouse, system_actor):
    given = ProductFactory(is_customizable=True, customization_fields=["engraving"])
    stock.receive_stock(location=warehouse, product=given, quantity=5, actor=system_actor)
    body = order_body([(given.sku, 1)], address)
    body["lines"][0]["customization"] = {"monogram": "PB"}
    before = written()

    response = post_order(api, body, "bad-custom")

    problem = assert_problem(response, 422, "invalid_order")
    assert "monogram" in problem["fields"]["lines[0].customization"]
    assert written() == before


def test_malformed_json_is_refused(api, stocked, standard):
    before = written()

    response = api.post(
        ORDERS_URL, '{"lines": [', content_type="application/json", HTTP_IDEMPOTENCY_KEY="m-1"
    )

    assert_problem(response, 400, "malformed_request")
    assert written() == before


@pytest.mark.parametrize(
    ("payload", "content_type", "status", "code"),
    [
        pytest.param("[]", "application/json", 400, "invalid_input", id="json-list"),
        pytest.param('"order"', "application/json", 400, "invalid_input", id="json-string"),
        pytest.param("null", "application/json", 400, "invalid_input", id="json-null"),
        pytest.param("lines=1", "text/plain", 415, "unsupported_media_type", id="not-json"),
    ],
)
def test_a_body_that_is_not_an_order_object_is_refused(
    api, stocked, standard, payload, content_type, status, code
):
    before = written()

    response = api.post(
        ORDERS_URL, payload, content_type=content_type, HTTP_IDEMPOTENCY_KEY="shape-1"
    )

    assert_problem(response, status, code)
    assert written() == before


def test_missing_idempotency_key_is_refused(api, stocked, address, standard):
    before = written()

    response = post_order(api, order_body([(stocked[0].sku, 1)], address), key=None)

    assert_problem(response, 400, "idempotency_key_required")
    assert written() == before


def test_missing_po_number_is_refused_when_the_company_requires_one(
    api, company, stocked, address, standard
):
    company.po_required = True
    company.save()
    before = written()

    response = post_order(api, order_body([(stocked[0].sku, 1)], address, po_number=""), "po-1")

    problem = assert_problem(response, 422, "po_number_required")
    assert problem["fields"] == {"po_number": "required"}
    assert written() == before


@pytest.fixture
def placed(api, stocked, address, standard):
    response = post_order(
        api, order_body([(stocked[0].sku, 3), (stocked[1].sku, 2)], address), "placed-1"
    )
    assert response.status_code == 201, response.content
    return response.json()


def test_cancelling_a_line_that_does_not_exist_is_refused(api, placed):
    before = written()

    response = api.post(
        f"{ORDERS_URL}{placed['number']}/cancel/",
        {"reason": "typo", "lines": [{"line_number": 9, "quantity": 1}]},
        format="json",
    )

    assert_problem(response, 422, "invalid_order")
    assert written() == before


def test_cancelling_more_than_is_left_is_refused(api, placed):
    before = written()

    response = api.post(
        f"{ORDERS_URL}{placed['number']}/cancel/",
        {"reason": "too many", "lines": [{"line_number": 1, "quantity": 4}]},
        format="json",
    )

    assert_problem(response, 409, "order_not_cancellable")
    assert written() == before


def test_cancelling_without_a_reason_is_refused(api, placed):
    before = written()

    response = api.post(f"{ORDERS_URL}{placed['number']}/cancel/", {}, format="json")

    problem = assert_problem(response, 400, "invalid_input")
    assert "reason" in problem["fields"]
    assert written() == before


def test_cancelling_a_cancelled_order_again_is_a_conflict(api, placed):
    url = f"{ORDERS_URL}{placed['number']}/cancel/"
    first = api.post(url, {"reason": "not needed"}, format="json")
    assert first.status_code == 200, first.content
    assert first.json()["status"] == "cancelled"
    before = written()

    again = api.post(url, {"reason": "not needed"}, format="json")

    assert_problem(again, 409, "order_not_cancellable")
    assert written() == before


def test_throttled_requests_get_429_with_retry_after(api, stocked, address, standard):
    body = order_body([(stocked[0].sku, 1)], address)
    with override_settings(OMS_API_THROTTLE_RATE="2/min"):
        cache.clear()
        assert api.get(ORDERS_URL).status_code == 200
        assert api.get(ORDERS_URL).status_code == 200
        before = written()

        response = post_order(api, copy.deepcopy(body), "throttled-1")

        assert_problem(response, 429, "throttled")
        assert int(response["Retry-After"]) > 0
        assert written() == before
    cache.clear()
    assert post_order(api, body, "throttled-1").status_code == 201
    assert Decimal(api.get(ORDERS_URL).json()["results"][0]["totals"]["subtotal"]) == Decimal(
        "10.00"
    )
