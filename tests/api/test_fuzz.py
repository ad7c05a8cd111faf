"""The API fuzzed against its own OpenAPI schema (schemathesis), with a company's, the
storefront's and a vendor's key.

Every generated request, valid or not (``mode: all``), is sent with each of the three
keys, and again with the key's own order (or fulfillment order) number in place of a
generated one, so commands reach real objects too. Each response must:

- not be a server error;
- have a status the schema documents for the operation, a content type and a body
  that the schema allows for that status;
- be ``application/problem+json`` when it is an error;
- refuse a request that breaks the schema (negative data) with a 4xx.

The run in the suite is bounded (``OMS_FUZZ_EXAMPLES`` examples per operation, the
same ones every run); docs/api.md gives the command of a longer one.
"""

import os
from decimal import Decimal

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings

from core import refcache
from customers.api_keys import create_api_key, create_storefront_api_key, create_vendor_api_key
from fulfillment.models import FulfillmentOrder
from fulfillment.routing import route_order
from inventory import services as stock
from orders.placement import LineRequest, OrderRequest, place_order
from tests.factories import (
    CarrierFactory,
    CompanyFactory,
    CustomerFactory,
    LocationFactory,
    ProductFactory,
    ShippingMethodFactory,
)

PROBLEM = "application/problem+json"


EXAMPLES = int(os.environ.get("OMS_FUZZ_EXAMPLES", "8"))

schema = schemathesis.openapi.from_wsgi(
    "/api/schema/",
    get_wsgi_application(),
    config=schemathesis.Config.from_dict(
        {
            "generation": {
                "mode": "all",
                "max-examples": EXAMPLES,
                "deterministic": True,
                # The keys are ours to send: a generated Authorization header would
                # only ever be refused.
                "with-security-parameters": False,
            },
            # A request the schema allows may still be refused (an unknown SKU, stock).
            "checks": {"positive_data_acceptance": {"enabled": False}},
        }
    ),
)


@pytest.fixture(autouse=True)
def _requests_share_the_test_transaction():
    """Requests go through the WSGI handler, which closes the database connection at
    the end of each request (and with it the test's transaction) unless told not to,
    as Django's test client does."""
    refcache.clear()
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)
    refcache.clear()


ADDRESS = {
    "name": "Pat Buyer",
    "line1": "350 Fifth Avenue",
    "city": "New York",
    "region": "NY",
    "postal_code": "10118",
    "country": "US",
}


@pytest.fixture
def tenants(db, system_actor):
    """Per kind of key: the raw key and the number of an object of its own to act on
    (the company's order, a shopper's web order, the vendor's fulfillment order)."""
    CarrierFactory(code="SIM", webhook_secret="carrier-secret")
    ShippingMethodFactory()
    warehouse = LocationFactory(code="WH-NJ", postal_code="07001")
    vendor = LocationFactory(code="VEND", kind="dropship", contact_email="v@example.com")
    stocked = ProductFactory(sku="MUG-RED", list_price=Decimal("10.00"))
    dropshipped = ProductFactory(sku="KIT-DROP", dropship_vendor=vendor)
    stock.receive_stock(location=warehouse, product=stocked, quantity=500, actor=system_actor)
    stock.receive_stock(location=vendor, product=dropshipped, quantity=500, actor=system_actor)
    company = CompanyFactory(credit_limit=Decimal("1000000"))
    buyer = CustomerFactory(company=company, company_role="buyer")

    def place(customer, sku, channel):
        request = OrderRequest(
            customer=customer,
            channel=channel,
            shipping_method_code="STANDARD",
            shipping_address=ADDRESS,
            lines=[LineRequest(sku=sku, quantity=2)],
        )
        return place_order(request=request, actor=system_actor).order

    business = place(buyer, stocked.sku, "b2b_api")
    web = place(CustomerFactory(), stocked.sku, "web")
    partner = place(CustomerFactory(), dropshipped.sku, "web")
    route_order(order_id=partner.pk)
    return {
        "company": (create_api_key(company=company, name="erp").raw_key, business.number),
        "storefront": (create_storefront_api_key(name="shop").raw_key, web.number),
        "vendor": (
            create_vendor_api_key(vendor=vendor, name="portal").raw_key,
            FulfillmentOrder.objects.get(order=partner).number,
        ),
    }


def errors_are_problems(ctx, response, case):
    """Every error response is RFC 9457 problem+json with a stable code."""
    if response.status_code < 400:
        return
    content_type = response.headers.get("content-type", [""])[0]
    assert content_type == PROBLEM, f"{response.status_code} answered as {content_type!r}"
    body = response.json()
    assert body["status"] == response.status_code, body
    assert body["type"] == f"/problems/{body['code']}", body


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_the_api_keeps_to_its_schema(case, tenants):
    generated = dict(case.path_parameters or {})
    for key, own_number in tenants.values():
        headers = {"Authorization": f"Bearer {key}"}
        case.call_and_validate(headers=headers, additional_checks=[errors_are_problems])
        if "number" in generated:
            case.path_parameters = {**generated, "number": own_number}
            case.call_and_validate(headers=headers, additional_checks=[errors_are_problems])
            case.path_parameters = dict(generated)


# --- the documented answers, given for real ---------------------------------------------
#
# Generated requests rarely get past validation to a success (a random SKU is unknown),
# so each operation is also called once as a client would, and its answer (2xx, or the
# documented refusal) checked against the schema the same way.


def call(kind, tenants, method, path, *, status, **parts):
    key = tenants[kind][0]
    headers = {"Authorization": f"Bearer {key}", **parts.pop("headers", {})}
    case = schema[path][method].Case(headers=headers, **parts)
    response = case.call_and_validate(headers=headers, additional_checks=[errors_are_problems])
    assert response.status_code == status, response.text
    return response.json()


def test_every_operation_answers_as_documented(tenants, system_actor):
    company_order, web_order = tenants["company"][1], tenants["storefront"][1]
    fulfillment_order = tenants["vendor"][1]
    ShippingMethodFactory(code="EXPRESS", name="Express", service_level="express")
    address = {**ADDRESS, "phone": "+1 212 555 0100"}
    line = {"sku": "MUG-RED", "quantity": 1}

    # Reads
    for kind in ("company", "storefront"):
        call(kind, tenants, "GET", "/api/v1/products/", status=200, query={"page_size": 1})
        call(kind, tenants, "GET", "/api/v1/orders/", status=200, query={"status": "placed"})
    call(
        "company", tenants, "GET", "/api/v1/availability/", status=200,
        query={"sku": ["MUG-RED", "NOPE"], "shipping_method": "STANDARD", "postal_code": "10118"},
    )  # fmt: skip
    call(
        "company", tenants, "GET", "/api/v1/availability/", status=422,
        query={"sku": ["MUG-RED"], "shipping_method": "TELEPORT"},
    )  # fmt: skip
    call("company", tenants, "GET", "/api/v1/orders/{number}/", status=200,
         path_parameters={"number": company_order})  # fmt: skip
    call("vendor", tenants, "GET", "/api/v1/fulfillment-orders/", status=200)
    call("vendor", tenants, "GET", "/api/v1/fulfillment-orders/{number}/", status=200,
         path_parameters={"number": fulfillment_order})  # fmt: skip

    # Placing orders: a company's, a shopper's, and the refusals
    placed = call(
        "company", tenants, "POST", "/api/v1/orders/", status=201,
        headers={"Idempotency-Key": "doc-1"},
        body={"shipping_address": address, "shipping_method": "STANDARD", "lines": [line]},
    )  # fmt: skip
    call(
        "storefront", tenants, "POST", "/api/v1/orders/", status=201,
        headers={"Idempotency-Key": "doc-2"},
        body={
            "customer": {"email": "sam@example.com", "first_name": "Sam", "last_name": "Shop"},
            "shipping_address": address, "shipping_method": "STANDARD", "lines": [line],
        },
    )  # fmt: skip
    call(
        "company", tenants, "POST", "/api/v1/orders/", status=409,
        headers={"Idempotency-Key": "doc-3"},
        body={"shipping_address": address, "shipping_method": "STANDARD",
              "lines": [{"sku": "MUG-RED", "quantity": 5000}]},
    )  # fmt: skip
    call(
        "company", tenants, "POST", "/api/v1/orders/", status=422,
        headers={"Idempotency-Key": "doc-4"},
        body={"shipping_address": address, "shipping_method": "TELEPORT", "lines": [line]},
    )  # fmt: skip

    # Commands on the company's orders
    number = {"number": placed["number"]}
    call("company", tenants, "POST", "/api/v1/orders/{number}/change-address/", status=200,
         path_parameters=number,
         body={"shipping_address": {**address, "line1": "20 W 34th St", "postal_code": "10001"}},
    )  # fmt: skip
    call("company", tenants, "POST", "/api/v1/orders/{number}/change-shipping-method/",
         status=200, path_parameters=number, body={"shipping_method": "EXPRESS"})  # fmt: skip
    call("company", tenants, "POST", "/api/v1/orders/{number}/approve/", status=403,
         path_parameters=number, body={"reason": "Budget line 7"})  # fmt: skip
    call("company", tenants, "POST", "/api/v1/orders/{number}/cancel/", status=200,
         path_parameters=number, body={"reason": "Not needed"})  # fmt: skip
    call("company", tenants, "POST", "/api/v1/orders/{number}/cancel/", status=409,
         path_parameters=number, body={"reason": "Not needed"})  # fmt: skip

    # The vendor's work, then the carrier's scans, then what the buyer sees
    call("vendor", tenants, "POST", "/api/v1/fulfillment-orders/{number}/accept/", status=200,
         path_parameters={"number": fulfillment_order})  # fmt: skip
    call("vendor", tenants, "POST", "/api/v1/fulfillment-orders/{number}/shipments/",
         status=201, path_parameters={"number": fulfillment_order},
         body={"carrier": "SIM", "tracking_number": "SIM-1"})  # fmt: skip
    call("vendor", tenants, "POST", "/api/v1/fulfillment-orders/{number}/reject/", status=409,
         path_parameters={"number": fulfillment_order},
         body={"reason": "out_of_stock"})  # fmt: skip
    event = {
        "tracking_number": "SIM-1", "status": "in_transit",
        "occurred_at": "2030-01-02T10:00:00Z", "event_id": "scan-1",
    }  # fmt: skip
    for status in (202, 200):
        call("company", tenants, "POST", "/api/carriers/{code}/events/", status=status,
             path_parameters={"code": "SIM"}, body=event,
             headers={"X-Carrier-Token": "carrier-secret"})  # fmt: skip
    partner_order = FulfillmentOrder.objects.get(number=fulfillment_order).order.number
    shipments = call("storefront", tenants, "GET", "/api/v1/orders/{number}/shipments/",
                     status=200, path_parameters={"number": partner_order})  # fmt: skip
    assert [s["tracking_number"] for s in shipments] == ["SIM-1"]
    call("storefront", tenants, "GET", "/api/v1/orders/{number}/shipments/", status=404,
         path_parameters={"number": company_order})  # fmt: skip
    assert web_order
