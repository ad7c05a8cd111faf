"""Every bad input gets a clear 4xx problem+json with a stable code, and nothing is
written: no order, line, event, outbox row or idempotency record; stock untouched."""

import copy
import json
from decimal import Decimal

import pytest
from django.core.cache import caches
from django.test import Client, override_settings
from rest_framework.exceptions import ParseError, ValidationError
from rest_framework.test import APIClient

from core.actors import Actor
from core.api.errors import server_error
from core.api.parsers import MAX_JSON_DEPTH
from customers.api_keys import create_storefront_api_key
from customers.models import PriceList, PriceListEntry
from fulfillment import operations as ops
from fulfillment.models import FulfillmentOrder, TrackingEvent
from fulfillment.routing import route_order
from inventory import services as stock
from orders.api.serializers import read_order_input
from orders.models import Order
from tests.factories import CarrierFactory, ProductFactory

from .conftest import api_client
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
        caches["throttle"].clear()
        assert api.get(ORDERS_URL).status_code == 200
        assert api.get(ORDERS_URL).status_code == 200
        before = written()

        response = post_order(api, copy.deepcopy(body), "throttled-1")

        assert_problem(response, 429, "throttled")
        assert int(response["Retry-After"]) > 0
        assert written() == before
    caches["throttle"].clear()
    assert post_order(api, body, "throttled-1").status_code == 201
    assert Decimal(api.get(ORDERS_URL).json()["results"][0]["totals"]["subtotal"]) == Decimal(
        "10.00"
    )


# --- the storefront's key on company reads ------------------------------------------


@pytest.fixture
def storefront(db):
    return api_client(create_storefront_api_key(name="shop").raw_key)


def _shopper_body(sku, address):
    return {
        "customer": {"email": "shopper@example.com", "first_name": "Sam", "last_name": "Shop"},
        "shipping_address": address,
        "shipping_method": "STANDARD",
        "lines": [{"sku": sku, "quantity": 1}],
    }


def _ship(order_number, tracking_number):
    order = Order.objects.get(number=order_number)
    route_order(order_id=order.pk)
    fulfillment = FulfillmentOrder.objects.get(order=order)
    return ops.ship_fulfillment_order(
        fo_id=fulfillment.pk,
        actor=Actor.system("test"),
        carrier_code="SIM",
        tracking_number=tracking_number,
    )


def test_the_storefront_sees_list_prices_and_no_contract_prices(storefront, api, company, stocked):
    # Given a company whose contract prices one of the products
    price_list = PriceList.objects.create(code="GOLD", name="Gold accounts")
    PriceListEntry.objects.create(
        price_list=price_list, product=stocked[0], min_quantity=1, unit_price=Decimal("7.50")
    )
    company.price_list = price_list
    company.save()

    # When the storefront and the company list the products
    as_storefront = storefront.get("/api/v1/products/")
    as_company = api.get("/api/v1/products/")

    # Then the storefront gets every product at list price, with no contract price
    assert as_storefront.status_code == 200, as_storefront.content
    listed = {p["sku"]: p for p in as_storefront.json()["results"]}
    assert set(listed) == {p.sku for p in stocked}
    assert {p["list_price"] for p in listed.values()} == {"10.00"}
    assert all(p["contract_prices"] == [] for p in listed.values())
    # ...while the company still sees its own
    contract = {p["sku"]: p["contract_prices"] for p in as_company.json()["results"]}
    assert contract[stocked[0].sku] == [{"min_quantity": 1, "unit_price": "7.50"}]


def test_the_storefront_reads_the_shipments_of_its_shoppers_orders_only(
    storefront, api, stocked, address, standard
):
    # Given a shipped web order of the storefront and a shipped order of a company
    web = storefront.post(
        ORDERS_URL, _shopper_body(stocked[0].sku, address), format="json",
        HTTP_IDEMPOTENCY_KEY="web-1",
    )  # fmt: skip
    business = post_order(api, order_body([(stocked[1].sku, 1)], address), "b2b-1")
    assert web.status_code == 201, web.content
    assert business.status_code == 201, business.content
    web_number, business_number = web.json()["number"], business.json()["number"]
    _ship(web_number, "WEB-TRACK-1")
    _ship(business_number, "B2B-TRACK-1")

    # When each key reads its own order's shipments and the other's
    own = storefront.get(f"{ORDERS_URL}{web_number}/shipments/")
    company_order = storefront.get(f"{ORDERS_URL}{business_number}/shipments/")
    web_order_as_company = api.get(f"{ORDERS_URL}{web_number}/shipments/")
    company_own = api.get(f"{ORDERS_URL}{business_number}/shipments/")

    # Then each sees its own, and the other's order does not exist for it
    assert own.status_code == 200, own.content
    assert [s["tracking_number"] for s in own.json()] == ["WEB-TRACK-1"]
    assert_problem(company_order, 404, "not_found")
    assert_problem(web_order_as_company, 404, "not_found")
    assert [s["tracking_number"] for s in company_own.json()] == ["B2B-TRACK-1"]


def test_the_storefront_gets_404_for_an_unknown_orders_shipments(storefront, db):
    assert_problem(storefront.get(f"{ORDERS_URL}NO-SUCH/shipments/"), 404, "not_found")


# --- bodies nested too deep -----------------------------------------------------------


def test_a_body_nested_thousands_deep_is_refused(api, stocked, standard):
    before = written()

    response = api.post(
        ORDERS_URL,
        "[" * 5000 + "]" * 5000,
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="deep-1",
    )

    problem = assert_problem(response, 400, "malformed_request")
    assert f"more than {MAX_JSON_DEPTH} levels" in problem["detail"]
    assert written() == before


def _nested(depth):
    """A JSON value with ``depth`` levels of containers (a string at the bottom)."""
    value = "x"
    for level in range(depth):
        value = [value] if level % 2 else {"k": value}
    return value


def test_a_field_nested_past_the_limit_is_refused_at_the_limit_it_is_read(
    api, stocked, address, standard
):
    # Given order bodies whose notes nest just within and just past the limit (the body
    # itself is one level)
    within = order_body([(stocked[0].sku, 1)], address, notes=_nested(MAX_JSON_DEPTH - 1))
    past = order_body([(stocked[0].sku, 1)], address, notes=_nested(MAX_JSON_DEPTH))
    before = written()

    # When both are posted
    read = post_order(api, within, "depth-ok")
    refused = post_order(api, past, "depth-past")

    # Then the first is read and refused by its fields, the second refused as a body
    problem = assert_problem(read, 400, "invalid_input")
    assert "notes" in problem["fields"]
    assert_problem(refused, 400, "malformed_request")
    assert written() == before


def test_read_order_input_refuses_a_deep_body_whoever_parsed_it(address):
    body = order_body([("SKU-1", 1)], address, notes=_nested(2000))

    with pytest.raises(ParseError):
        read_order_input(body)


# --- NUL characters -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "url"),
    [
        pytest.param("get", "/api/v1/orders/%00/", id="order-number"),
        pytest.param("get", "/api/v1/orders/%00/shipments/", id="shipments"),
        pytest.param("post", "/api/v1/orders/%00/cancel/", id="cancel"),
        pytest.param("get", "/api/v1/availability/?sku=%00", id="sku"),
        pytest.param("get", "/api/v1/orders/?po_number=A%00B", id="filter"),
        pytest.param("get", "/api/v1/products/?cursor=%00", id="cursor"),
        pytest.param("post", "/api/carriers/%00/events/", id="carrier"),
        pytest.param("get", "/api/v1/fulfillment-orders/%00/", id="fulfillment-order"),
    ],
)
def test_a_nul_in_the_url_is_refused_before_any_lookup(api, stocked, method, url):
    before = written()

    response = getattr(api, method)(url, {} if method == "post" else None, format="json")

    problem = assert_problem(response, 400, "malformed_request")
    assert "NUL" in problem["detail"]
    assert written() == before


def test_a_nul_in_a_url_outside_the_api_is_a_plain_400(client, db):
    response = client.get("/admin/orders/order/?q=%00")

    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/plain")


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(_set("notes", "Leave at\x00the door"), id="value"),
        pytest.param(_set_address("line1", "350\x00Fifth"), id="address"),
        pytest.param(_set("extra\x00key", "x"), id="unknown-key"),
    ],
)
def test_a_nul_in_a_json_string_is_refused(api, stocked, address, standard, change):
    body = order_body([(stocked[0].sku, 1)], address)
    change(body)
    before = written()

    response = post_order(api, body, "nul-1")

    problem = assert_problem(response, 400, "malformed_request")
    assert "NUL" in problem["detail"]
    assert written() == before


def test_a_nul_in_a_customization_name_is_refused(api, address, standard, warehouse, system_actor):
    # Given a customizable product (customization reaches a jsonb column)
    given = ProductFactory(is_customizable=True, customization_fields=["engraving"])
    stock.receive_stock(location=warehouse, product=given, quantity=5, actor=system_actor)
    body = order_body([(given.sku, 1)], address)
    body["lines"][0]["customization"] = {"engraving\x00": "Hi"}
    before = written()

    response = post_order(api, body, "nul-custom")

    assert_problem(response, 400, "malformed_request")
    assert written() == before


def test_the_order_fields_refuse_a_nul_in_a_customization_name_too(address):
    body = order_body([("SKU-1", 1)], address)
    body["lines"][0]["customization"] = {"engraving\x00": "Hi"}

    with pytest.raises(ValidationError) as refused:
        read_order_input(body)

    assert "customization" in refused.value.detail["lines"][0]


# --- bodies over the upload limit ---------------------------------------------------


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=2_000)
def test_a_body_over_the_upload_limit_is_refused_with_413(api, stocked, address, standard):
    body = order_body([(stocked[0].sku, 1)], address, notes="x" * 2_500)
    before = written()

    response = post_order(api, body, "big-1")

    problem = assert_problem(response, 413, "request_too_large")
    assert "2,000 bytes" in problem["detail"]
    assert written() == before


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=2_000)
def test_a_carrier_event_over_the_upload_limit_is_refused_with_413(db):
    CarrierFactory(code="PEX", webhook_secret="s3cret")

    response = APIClient().post(
        "/api/carriers/PEX/events/",
        {"tracking_number": "PX1", "status": "in_transit", "description": "x" * 2_500},
        format="json",
        HTTP_X_CARRIER_TOKEN="s3cret",
    )

    assert_problem(response, 413, "request_too_large")
    assert TrackingEvent.objects.count() == 0


def test_an_unknown_api_address_is_a_problem_not_a_page(api):
    response = api.get("/api/v1/no-such-thing/")

    assert_problem(response, 404, "not_found")


# --- paging and filters the API cannot honour ---------------------------------------


@pytest.mark.parametrize(
    ("query", "field"),
    [
        pytest.param("page_size=0", "page_size", id="page-size-0"),
        pytest.param("page_size=ten", "page_size", id="page-size-text"),
        pytest.param("page_size=201", "page_size", id="page-size-over-max"),
        pytest.param("cursor=not-a-cursor", "cursor", id="forged-cursor"),
        pytest.param("status=", "status", id="blank-status"),
        pytest.param("updated_since=", "updated_since", id="blank-date"),
        pytest.param("created_since=yesterday", "created_since", id="not-a-date"),
    ],
)
def test_a_list_query_it_cannot_honour_is_refused(api, query, field):
    response = api.get(f"{ORDERS_URL}?{query}")

    problem = assert_problem(response, 400, "invalid_input")
    assert field in problem["fields"]


def test_paging_within_bounds_still_pages(api, stocked):
    first = api.get("/api/v1/products/?page_size=2")

    assert first.status_code == 200, first.content
    assert len(first.json()["results"]) == 2
    rest = api.get(first.json()["next"])
    assert [p["sku"] for p in rest.json()["results"]] == [stocked[2].sku]


# --- answers given outside the API's views --------------------------------------------


@override_settings(ALLOWED_HOSTS=["oms.example.com"])
def test_a_request_django_refuses_before_the_view_is_a_problem_under_the_api(db):
    # Given a Host header the site does not serve (Django refuses it as suspicious)
    client = Client(HTTP_HOST="intruder.example.net")

    api = client.get("/api/v1/products/")
    admin = client.get("/admin/")

    assert_problem(api, 400, "malformed_request")
    assert admin.status_code == 400
    assert admin["Content-Type"].startswith("text/html")


def test_a_server_error_under_the_api_is_a_problem(rf):
    response = server_error(rf.get("/api/v1/orders/"))

    assert response.status_code == 500
    assert response["Content-Type"] == "application/problem+json"
    assert json.loads(response.content)["code"] == "server_error"
