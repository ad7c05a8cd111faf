"""An ERP's API key: purchase orders and their receipts for every location, and nothing
else. Company and location keys keep to what they were given."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.test import APIClient

from customers.api_keys import create_api_key, create_erp_api_key, create_vendor_api_key
from customers.models import ApiKey
from inventory.models import (
    PurchaseOrder,
    PurchaseOrderEvent,
    PurchaseOrderReceipt,
    StockLevel,
    StockMovement,
)
from inventory.purchase_orders import create_purchase_order
from orders.models import Order
from tests.factories import CompanyFactory, CustomerFactory, LocationFactory, ProductFactory

pytestmark = pytest.mark.django_db

API = "/api/v1/purchase-orders/"
PROBLEM = "application/problem+json"


def api(raw_key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    return client


def in_days(n: int):
    return timezone.localdate() + timedelta(days=n)


def po_body(**changes):
    return {
        "supplier": "Acme Kitchen",
        "reference": "ERP-4711",
        "expected_date": in_days(7).isoformat(),
        "lines": [{"sku": "KETTLE", "quantity": 24}],
        **changes,
    }


def level(location, product) -> StockLevel:
    return StockLevel.objects.get(location=location, product=product)


def nothing_written() -> bool:
    return not (
        PurchaseOrder.objects.exists()
        or PurchaseOrderReceipt.objects.exists()
        or PurchaseOrderEvent.objects.exists()
        or StockMovement.objects.exists()
    )


@pytest.fixture
def kettle(db):
    return ProductFactory(sku="KETTLE")


@pytest.fixture
def east(db):
    return LocationFactory(code="EAST")


@pytest.fixture
def west(db):
    return LocationFactory(code="WEST")


@pytest.fixture
def erp_key(db) -> str:
    return create_erp_api_key(name="NetSuite").raw_key


@pytest.fixture
def company_key(db) -> str:
    company = CompanyFactory()
    CustomerFactory(company=company, company_role="buyer")
    return create_api_key(company=company, name="shop").raw_key


def test_the_erp_key_records_and_receives_purchase_orders_for_two_locations(
    erp_key, kettle, east, west
):
    client = api(erp_key)

    to_east = client.post(API, po_body(location="east"), format="json")
    to_west = client.post(
        API, po_body(location="WEST", reference="ERP-4712", supplier="Globex"), format="json"
    )

    assert to_east.status_code == to_west.status_code == 201, (to_east.content, to_west.content)
    assert (to_east.json()["location"], to_west.json()["location"]) == ("EAST", "WEST")
    assert (level(east, kettle).incoming, level(west, kettle).incoming) == (24, 24)
    # The same reference and content again (a retry) is the order already recorded.
    again = client.post(API, po_body(location="EAST"), format="json")
    assert (again.status_code, again.json()["number"]) == (200, to_east.json()["number"])
    # The ERP sees every location's orders, and can narrow them to one.
    listed = [po["number"] for po in client.get(API).json()["results"]]
    assert sorted(listed) == sorted([to_east.json()["number"], to_west.json()["number"]])
    only_west = client.get(API, {"location": "west"}).json()["results"]
    assert [po["number"] for po in only_west] == [to_west.json()["number"]]

    number = to_west.json()["number"]
    receipt = client.post(
        f"{API}{number}/receipts/",
        {"reference": "DN-88", "lines": [{"sku": "KETTLE", "quantity": 20}]},
        format="json",
    )

    assert receipt.status_code == 201, receipt.content
    assert receipt.json()["purchase_order"]["status"] == "partially_received"
    assert (level(west, kettle).incoming, level(west, kettle).on_hand) == (4, 20)
    assert (level(east, kettle).incoming, level(east, kettle).on_hand) == (24, 0)
    assert client.get(f"{API}{to_east.json()['number']}/").status_code == 200
    # Who did it is on the purchase order's timeline.
    labels = set(PurchaseOrderEvent.objects.values_list("actor_label", flat=True))
    assert labels == {"erp/NetSuite"}


@pytest.mark.parametrize(
    ("changes", "field"),
    [({}, "location"), ({"location": ""}, "location"), ({"location": "NOWHERE"}, "location")],
)
def test_the_erp_key_must_name_a_known_location(erp_key, kettle, east, changes, field):
    response = api(erp_key).post(API, po_body(**changes), format="json")

    assert response.status_code == 400
    assert response["Content-Type"].startswith(PROBLEM)
    assert field in response.json()["fields"]
    assert nothing_written()


def test_a_company_key_gets_403_on_the_purchase_order_api_and_writes_nothing(
    company_key, kettle, east, system_actor
):
    theirs = create_purchase_order(
        location=east,
        supplier="Acme",
        lines={"KETTLE": 5},
        expected_date=in_days(3),
        actor=system_actor,
    ).purchase_order
    before = (PurchaseOrderEvent.objects.count(), StockMovement.objects.count())
    client = api(company_key)

    responses = [
        client.post(API, po_body(location="EAST", reference="X-1"), format="json"),
        client.get(API),
        client.get(f"{API}{theirs.number}/"),
        client.post(
            f"{API}{theirs.number}/receipts/",
            {"reference": "DN-1", "lines": [{"sku": "KETTLE", "quantity": 5}]},
            format="json",
        ),
    ]

    for response in responses:
        assert response.status_code == 403, response.content
        assert response["Content-Type"].startswith(PROBLEM)
        assert response.json()["code"] == "permission_denied"
    assert PurchaseOrder.objects.count() == 1
    assert not PurchaseOrderReceipt.objects.exists()
    assert (PurchaseOrderEvent.objects.count(), StockMovement.objects.count()) == before
    assert (level(east, kettle).incoming, level(east, kettle).on_hand) == (5, 0)


def test_a_vendor_key_gets_403_recording_supply_for_another_location(kettle, east):
    tpl = LocationFactory(code="TPL1", kind="3pl")
    vendor_key = create_vendor_api_key(vendor=tpl, name="3PL WMS").raw_key

    response = api(vendor_key).post(API, po_body(location="EAST"), format="json")

    assert response.status_code == 403
    assert response["Content-Type"].startswith(PROBLEM)
    assert response.json()["code"] == "location_not_allowed"
    assert nothing_written()
    # Its own location, named or not, it still records (docs/api.md).
    own = api(vendor_key).post(API, po_body(location="tpl1"), format="json")
    assert (own.status_code, own.json()["location"]) == (201, "TPL1")


def test_the_erp_key_places_no_orders_and_confirms_no_fulfillment(erp_key, kettle, east):
    client = api(erp_key)
    order = {
        "shipping_method": "STANDARD",
        "shipping_address": {
            "name": "Ann Buyer",
            "line1": "1 Main St",
            "city": "New York",
            "region": "NY",
            "postal_code": "10001",
            "country": "US",
        },
        "lines": [{"sku": "KETTLE", "quantity": 1}],
    }

    responses = [
        client.post("/api/v1/orders/", order, format="json", HTTP_IDEMPOTENCY_KEY="erp-1"),
        client.get("/api/v1/orders/"),
        client.get("/api/v1/fulfillment-orders/"),
        client.get("/api/v1/invoices/"),
    ]

    for response in responses:
        assert response.status_code == 403, response.content
        assert response["Content-Type"].startswith(PROBLEM)
    assert not Order.objects.exists()


def test_an_erp_key_belongs_to_no_company_vendor_or_storefront(db):
    issued = create_erp_api_key(name="  ")
    assert issued.api_key.is_erp
    assert issued.api_key.name == "ERP"
    company = CompanyFactory()
    buyer = CustomerFactory(company=company, company_role="buyer")
    for owner in ({"company": company, "buyer": buyer}, {"is_storefront": True}):
        with pytest.raises(IntegrityError), transaction.atomic():
            ApiKey.objects.create(
                is_erp=True, name="x", prefix=f"p{len(owner)}", key_hash="h", **owner
            )


def test_a_revoked_erp_key_is_refused(erp_key, kettle, east):
    ApiKey.objects.filter(is_erp=True).update(revoked_at=timezone.now())

    response = api(erp_key).post(API, po_body(location="EAST"), format="json")

    assert response.status_code == 401
    assert nothing_written()


def test_the_command_issues_an_erp_key(db, capsys, kettle, east):
    call_command("create_api_key", "--erp", "--name", "SAP")

    raw_key = capsys.readouterr().out.strip()
    assert ApiKey.objects.get(is_erp=True).name == "SAP"
    response = api(raw_key).post(API, po_body(location="EAST"), format="json")
    assert response.status_code == 201
