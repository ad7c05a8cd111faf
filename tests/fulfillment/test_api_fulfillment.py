import pytest
from rest_framework.test import APIClient

from customers.api_keys import create_api_key, create_vendor_api_key
from fulfillment import operations as ops
from fulfillment.models import FulfillmentOrder, Shipment, TrackingEvent
from fulfillment.routing import route_order
from tests.factories import CarrierFactory, CompanyFactory, CustomerFactory, LocationFactory

from .conftest import SYSTEM, place, receive

pytestmark = pytest.mark.django_db


def client_for(raw_key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    return client


@pytest.fixture
def b2b(db):
    company = CompanyFactory()
    buyer = CustomerFactory(company=company, company_role="buyer")
    return company, buyer, client_for(create_api_key(company=company, name="erp").raw_key)


@pytest.fixture
def carrier(db):
    return CarrierFactory(code="PEX", name="ParcelExpress", webhook_secret="s3cret")


def test_dropship_vendor_confirms_shipment_and_buyer_sees_tracking(
    network, products, method, carrier, b2b
):
    _, buyer, buyer_api = b2b
    vendor = LocationFactory(code="VEND", kind="dropship", contact_email="v@example.com")
    product = products[0]
    product.dropship_vendor = vendor
    product.save()
    receive(vendor, product, 5)
    order = place([(product, 2)], customer=buyer)
    route_order(order_id=order.pk)
    fo = FulfillmentOrder.objects.get(order=order)
    vendor_api = client_for(create_vendor_api_key(vendor=vendor, name="vendor").raw_key)

    listing = vendor_api.get("/api/v1/fulfillment-orders/")
    shipped = vendor_api.post(
        f"/api/v1/fulfillment-orders/{fo.number}/shipments/",
        {"carrier": "PEX", "tracking_number": "PX123"},
        format="json",
    )
    as_buyer = buyer_api.get(f"/api/v1/orders/{order.number}/shipments/")
    detail = buyer_api.get(f"/api/v1/orders/{order.number}/")
    vendor_on_orders = vendor_api.get("/api/v1/orders/")

    assert [f["number"] for f in listing.json()["results"]] == [fo.number]
    assert shipped.status_code == 201, shipped.content
    assert as_buyer.json()[0]["tracking_number"] == "PX123"
    assert detail.json()["shipments"][0]["carrier"] == "PEX"
    assert detail.json()["fulfillment_status"] == "shipped"
    assert vendor_on_orders.status_code == 403


def test_other_vendor_cannot_see_or_ship(network, products, method, carrier):
    vendor = LocationFactory(code="VEND", kind="dropship")
    other = LocationFactory(code="VEND2", kind="dropship")
    product = products[0]
    product.dropship_vendor = vendor
    product.save()
    receive(vendor, product, 5)
    order = place([(product, 1)])
    route_order(order_id=order.pk)
    fo = FulfillmentOrder.objects.get(order=order)
    intruder = client_for(create_vendor_api_key(vendor=other, name="x").raw_key)

    seen = intruder.get(f"/api/v1/fulfillment-orders/{fo.number}/")
    shipped = intruder.post(
        f"/api/v1/fulfillment-orders/{fo.number}/shipments/",
        {"carrier": "PEX", "tracking_number": "PX9"},
        format="json",
    )

    assert seen.status_code == 404
    assert shipped.status_code == 404
    assert Shipment.objects.count() == 0


def test_carrier_webhook_needs_its_secret_and_ignores_repeats(network, products, method, carrier):
    product = products[0]
    receive(network["NWK"], product, 5)
    order = place([(product, 1)])
    route_order(order_id=order.pk)
    fo = FulfillmentOrder.objects.get(order=order)
    ops.ship_fulfillment_order(fo_id=fo.pk, actor=SYSTEM, carrier_code="PEX", tracking_number="T1")
    event = {
        "tracking_number": "T1",
        "status": "delivered",
        "occurred_at": "2026-11-24T10:00:00Z",
        "event_id": "evt-1",
    }
    api = APIClient()

    wrong = api.post("/api/carriers/PEX/events/", event, format="json", HTTP_X_CARRIER_TOKEN="no")
    first = api.post(
        "/api/carriers/PEX/events/", event, format="json", HTTP_X_CARRIER_TOKEN="s3cret"
    )
    again = api.post(
        "/api/carriers/PEX/events/", event, format="json", HTTP_X_CARRIER_TOKEN="s3cret"
    )
    unknown = api.post(
        "/api/carriers/PEX/events/",
        {**event, "tracking_number": "NOPE", "event_id": "evt-2"},
        format="json",
        HTTP_X_CARRIER_TOKEN="s3cret",
    )

    assert wrong.status_code == 401
    assert wrong["Content-Type"] == "application/problem+json"
    assert (first.status_code, again.status_code, unknown.status_code) == (202, 200, 404)
    assert TrackingEvent.objects.count() == 1
    order.refresh_from_db()
    assert order.fulfillment_status == "delivered"
