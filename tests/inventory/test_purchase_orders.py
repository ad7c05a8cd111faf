"""Purchase orders and transfers in transit: incoming supply through the ledger."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from core.errors import InvalidInput
from customers.api_keys import create_api_key, create_vendor_api_key
from inventory.errors import InsufficientStock, UnknownSku
from inventory.models import (
    MovementReason,
    PurchaseOrder,
    PurchaseOrderEvent,
    PurchaseOrderReceipt,
    PurchaseOrderStatus,
    StockLevel,
    StockMovement,
)
from inventory.purchase_orders import (
    DuplicateReference,
    OverReceipt,
    PurchaseOrderClosed,
    UnknownPurchaseOrderLine,
    cancel_purchase_order_lines,
    create_purchase_order,
    earliest_supply_date,
    get_availability_by_date,
    receive_purchase_order,
)
from inventory.services import receive_stock
from tests.factories import CompanyFactory, CustomerFactory, LocationFactory, ProductFactory

pytestmark = pytest.mark.django_db


def level(location, product) -> StockLevel:
    return StockLevel.objects.get(location=location, product=product)


def in_days(n: int):
    return timezone.localdate() + timedelta(days=n)


@pytest.fixture
def dc(db):
    return LocationFactory(code="DC1")


@pytest.fixture
def kettle(db):
    return ProductFactory(sku="KETTLE")


@pytest.fixture
def mug(db):
    return ProductFactory(sku="MUG")


def test_a_purchase_order_fills_incoming_through_the_ledger(dc, kettle, mug, system_actor):
    result = create_purchase_order(
        location=dc,
        supplier="Acme Kitchen",
        lines={"KETTLE": 40, "mug": 12},
        expected_date=in_days(10),
        actor=system_actor,
        reference="ERP-1",
    )
    po = result.purchase_order
    assert result.created
    assert po.number == f"PO-{po.pk:06d}"
    assert po.status == PurchaseOrderStatus.OPEN
    assert [(line.product.sku, line.quantity_ordered) for line in po.lines.all()] == [
        ("KETTLE", 40),
        ("MUG", 12),
    ]
    assert level(dc, kettle).incoming == 40
    assert level(dc, mug).incoming == 12
    assert level(dc, kettle).on_hand == 0
    moves = StockMovement.objects.filter(reference=po.number)
    assert {(m.product.sku, m.bucket, m.delta, m.reason) for m in moves} == {
        ("KETTLE", "incoming", 40, MovementReason.EXPECTED),
        ("MUG", "incoming", 12, MovementReason.EXPECTED),
    }
    assert PurchaseOrderEvent.objects.get(purchase_order=po).kind == "created"


def test_the_same_reference_again_is_the_same_order(dc, kettle, system_actor):
    args = {
        "location": dc,
        "supplier": "Acme",
        "lines": {"KETTLE": 5},
        "expected_date": in_days(3),
        "actor": system_actor,
        "reference": "ERP-7",
    }
    first = create_purchase_order(**args)
    again = create_purchase_order(**args)
    assert not again.created
    assert again.purchase_order.pk == first.purchase_order.pk
    assert level(dc, kettle).incoming == 5
    with pytest.raises(DuplicateReference):
        create_purchase_order(**{**args, "lines": {"KETTLE": 6}})
    assert PurchaseOrder.objects.count() == 1
    assert level(dc, kettle).incoming == 5


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"lines": {}}, InvalidInput),
        ({"lines": {"KETTLE": 0}}, InvalidInput),
        ({"lines": {"KETTLE": -3}}, InvalidInput),
        ({"lines": {"KETTLE": 2.5}}, InvalidInput),
        ({"lines": [("KETTLE", 1), ("kettle", 2)]}, InvalidInput),
        ({"lines": {"KETTLE": 1, "NOPE": 1}}, UnknownSku),
        ({"supplier": ""}, InvalidInput),
        ({"expected_date": in_days(-1)}, InvalidInput),
    ],
)
def test_bad_input_writes_nothing(dc, kettle, system_actor, changes, error):
    args = {
        "location": dc,
        "supplier": "Acme",
        "lines": {"KETTLE": 5},
        "expected_date": in_days(3),
        "actor": system_actor,
        **changes,
    }
    with pytest.raises(error):
        create_purchase_order(**args)
    assert not PurchaseOrder.objects.exists()
    assert not StockMovement.objects.exists()


def test_receipts_move_incoming_to_on_hand_exactly(dc, kettle, mug, system_actor):
    po = create_purchase_order(
        location=dc,
        supplier="Acme",
        lines={"KETTLE": 10, "MUG": 4},
        expected_date=in_days(2),
        actor=system_actor,
    ).purchase_order
    receive_purchase_order(purchase_order=po, lines={"KETTLE": 6}, actor=system_actor)
    po.refresh_from_db()
    assert po.status == PurchaseOrderStatus.PARTIALLY_RECEIVED
    assert (level(dc, kettle).incoming, level(dc, kettle).on_hand) == (4, 6)
    assert kettle.network_stock.__class__.objects.get(product=kettle).available == 6
    receive_purchase_order(
        purchase_order=po, lines={"KETTLE": 4, "MUG": 4}, actor=system_actor, reference="DN-2"
    )
    po.refresh_from_db()
    assert po.status == PurchaseOrderStatus.RECEIVED
    assert (level(dc, kettle).incoming, level(dc, kettle).on_hand) == (0, 10)
    assert (level(dc, mug).incoming, level(dc, mug).on_hand) == (0, 4)
    assert PurchaseOrderReceipt.objects.filter(purchase_order=po).count() == 2


def test_over_receipt_and_unknown_lines_are_refused_and_nothing_moves(
    dc, kettle, mug, system_actor
):
    po = create_purchase_order(
        location=dc,
        supplier="Acme",
        lines={"KETTLE": 10},
        expected_date=in_days(2),
        actor=system_actor,
    ).purchase_order
    before = StockMovement.objects.count()
    with pytest.raises(OverReceipt):
        receive_purchase_order(purchase_order=po, lines={"KETTLE": 11}, actor=system_actor)
    with pytest.raises(UnknownPurchaseOrderLine):
        receive_purchase_order(purchase_order=po, lines={"KETTLE": 1, "MUG": 1}, actor=system_actor)
    assert StockMovement.objects.count() == before
    assert not PurchaseOrderReceipt.objects.exists()
    assert (level(dc, kettle).incoming, level(dc, kettle).on_hand) == (10, 0)
    po.refresh_from_db()
    assert po.status == PurchaseOrderStatus.OPEN


def test_a_receipt_retried_with_its_reference_is_recorded_once(dc, kettle, system_actor):
    po = create_purchase_order(
        location=dc,
        supplier="Acme",
        lines={"KETTLE": 10},
        expected_date=in_days(2),
        actor=system_actor,
    ).purchase_order
    first = receive_purchase_order(
        purchase_order=po, lines={"KETTLE": 3}, actor=system_actor, reference="DN-1"
    )
    again = receive_purchase_order(
        purchase_order=po, lines={"KETTLE": 3}, actor=system_actor, reference="DN-1"
    )
    assert first.created
    assert not again.created
    assert again.receipt.pk == first.receipt.pk
    assert level(dc, kettle).on_hand == 3


def test_cancelling_a_line_releases_its_open_incoming(dc, kettle, mug, system_actor):
    po = create_purchase_order(
        location=dc,
        supplier="Acme",
        lines={"KETTLE": 10, "MUG": 5},
        expected_date=in_days(2),
        actor=system_actor,
    ).purchase_order
    receive_purchase_order(purchase_order=po, lines={"KETTLE": 4}, actor=system_actor)
    cancel_purchase_order_lines(
        purchase_order=po, skus=["KETTLE"], reason="supplier short", actor=system_actor
    )
    line = po.lines.get(product=kettle)
    assert (line.quantity_received, line.quantity_cancelled) == (4, 6)
    assert (level(dc, kettle).incoming, level(dc, kettle).on_hand) == (0, 4)
    assert level(dc, mug).incoming == 5
    po.refresh_from_db()
    assert po.status == PurchaseOrderStatus.PARTIALLY_RECEIVED
    with pytest.raises(OverReceipt):
        receive_purchase_order(purchase_order=po, lines={"KETTLE": 1}, actor=system_actor)
    cancel_purchase_order_lines(purchase_order=po, reason="no longer needed", actor=system_actor)
    po.refresh_from_db()
    assert po.status == PurchaseOrderStatus.RECEIVED
    assert level(dc, mug).incoming == 0
    with pytest.raises(PurchaseOrderClosed):
        cancel_purchase_order_lines(purchase_order=po, reason="again", actor=system_actor)


def test_a_transfer_in_transit_leaves_the_source_and_arrives_at_the_destination(
    dc, kettle, system_actor
):
    store = LocationFactory(code="STORE1")
    receive_stock(location=dc, product=kettle, quantity=20, actor=system_actor)
    po = create_purchase_order(
        location=store,
        source_location=dc,
        lines={"KETTLE": 8},
        expected_date=in_days(1),
        actor=system_actor,
    ).purchase_order
    assert po.number.startswith("TR-")
    assert level(dc, kettle).on_hand == 12
    assert level(store, kettle).incoming == 8
    receive_purchase_order(purchase_order=po, lines={"KETTLE": 5}, actor=system_actor)
    cancel_purchase_order_lines(
        purchase_order=po, reason="lost in transit? no: recalled", actor=system_actor
    )
    assert (level(store, kettle).on_hand, level(store, kettle).incoming) == (5, 0)
    assert level(dc, kettle).on_hand == 15
    with pytest.raises(InsufficientStock):
        create_purchase_order(
            location=store,
            source_location=dc,
            lines={"KETTLE": 16},
            expected_date=in_days(1),
            actor=system_actor,
        )
    assert level(dc, kettle).on_hand == 15


def test_availability_by_date_counts_supply_due_by_then(dc, kettle, system_actor):
    receive_stock(location=dc, product=kettle, quantity=3, actor=system_actor)
    for days, qty in ((5, 10), (20, 30)):
        create_purchase_order(
            location=dc,
            supplier="Acme",
            lines={"KETTLE": qty},
            expected_date=in_days(days),
            actor=system_actor,
        )
    now = get_availability_by_date(["kettle"], by_date=None)["KETTLE"]
    assert (now.available_now, now.incoming_by_date) == (3, 0)
    assert get_availability_by_date(["KETTLE"], by_date=in_days(4))["KETTLE"].available_by_date == 3
    assert (
        get_availability_by_date(["KETTLE"], by_date=in_days(5))["KETTLE"].available_by_date == 13
    )
    assert (
        get_availability_by_date(["KETTLE"], by_date=in_days(30))["KETTLE"].available_by_date == 43
    )
    assert earliest_supply_date(kettle, 3) == in_days(0)
    assert earliest_supply_date(kettle, 4) == in_days(5)
    assert earliest_supply_date(kettle, 14) == in_days(20)
    assert earliest_supply_date(kettle, 44) is None


# --- the API ------------------------------------------------------------------------

API = "/api/v1/purchase-orders/"


def api(raw_key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    return client


@pytest.fixture
def tpl(db):
    return LocationFactory(code="TPL1", kind="3pl")


@pytest.fixture
def tpl_key(tpl):
    return create_vendor_api_key(vendor=tpl, name="3PL WMS").raw_key


def po_body(**changes):
    return {
        "supplier": "Acme Kitchen",
        "reference": "ERP-100",
        "expected_date": in_days(7).isoformat(),
        "lines": [{"sku": "KETTLE", "quantity": 24}, {"sku": "MUG", "quantity": 6}],
        **changes,
    }


def test_api_records_a_purchase_order_once_per_reference(tpl, tpl_key, kettle, mug):
    client = api(tpl_key)
    first = client.post(API, po_body(), format="json")
    assert first.status_code == 201, first.content
    body = first.json()
    assert body["location"] == "TPL1"
    assert body["status"] == "open"
    assert [(li["sku"], li["quantity_open"]) for li in body["lines"]] == [
        ("KETTLE", 24),
        ("MUG", 6),
    ]
    again = client.post(API, po_body(), format="json")
    assert again.status_code == 200
    assert again.json()["number"] == body["number"]
    changed = client.post(API, po_body(lines=[{"sku": "KETTLE", "quantity": 1}]), format="json")
    assert changed.status_code == 409
    assert changed["Content-Type"].startswith("application/problem+json")
    assert changed.json()["code"] == "duplicate_reference"
    assert PurchaseOrder.objects.count() == 1
    assert level(tpl, kettle).incoming == 24
    listed = client.get(API).json()["results"]
    assert [po["number"] for po in listed] == [body["number"]]


@pytest.mark.parametrize(
    "changes",
    [
        {"lines": []},
        {"lines": [{"sku": "KETTLE", "quantity": 0}]},
        {"lines": [{"sku": "KETTLE", "quantity": "lots"}]},
        {"lines": [{"sku": "NOPE", "quantity": 1}]},
        {"lines": [{"sku": "KETTLE", "quantity": 1}, {"sku": "kettle", "quantity": 1}]},
        {"expected_date": "next week"},
        {"expected_date": in_days(-3).isoformat()},
        {"supplier": ""},
        {"reference": ""},
    ],
)
def test_api_bad_input_is_a_problem_and_writes_nothing(tpl_key, kettle, mug, changes):
    response = api(tpl_key).post(API, po_body(**changes), format="json")
    assert 400 <= response.status_code < 500, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    assert not PurchaseOrder.objects.exists()
    assert not StockMovement.objects.exists()


def test_api_receipts_move_incoming_to_on_hand(tpl, tpl_key, kettle, mug):
    client = api(tpl_key)
    number = client.post(API, po_body(), format="json").json()["number"]
    url = f"{API}{number}/receipts/"
    part = {"reference": "DN-1", "lines": [{"sku": "KETTLE", "quantity": 20}]}
    response = client.post(url, part, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["purchase_order"]["status"] == "partially_received"
    assert client.post(url, part, format="json").status_code == 200  # a retry
    assert (level(tpl, kettle).incoming, level(tpl, kettle).on_hand) == (4, 20)

    over = client.post(
        url, {"reference": "DN-2", "lines": [{"sku": "KETTLE", "quantity": 5}]}, format="json"
    )
    assert over.status_code == 409
    assert over.json()["code"] == "over_receipt"
    unknown = client.post(
        url,
        {
            "reference": "DN-3",
            "lines": [{"sku": "KETTLE", "quantity": 1}, {"sku": "TEAPOT", "quantity": 1}],
        },
        format="json",
    )
    assert unknown.status_code == 422
    assert unknown.json()["code"] in {"unknown_purchase_order_line", "unknown_sku"}
    assert (level(tpl, kettle).incoming, level(tpl, kettle).on_hand) == (4, 20)
    assert PurchaseOrderReceipt.objects.count() == 1

    rest = {
        "reference": "DN-4",
        "lines": [{"sku": "KETTLE", "quantity": 4}, {"sku": "MUG", "quantity": 6}],
    }
    done = client.post(url, rest, format="json")
    assert done.json()["purchase_order"]["status"] == "received"
    assert (level(tpl, kettle).incoming, level(tpl, kettle).on_hand) == (0, 24)
    assert (level(tpl, mug).incoming, level(tpl, mug).on_hand) == (0, 6)


def test_api_keys_see_only_their_own_location(tpl, tpl_key, kettle, mug, system_actor):
    other = LocationFactory(code="TPL2", kind="3pl")
    theirs = create_purchase_order(
        location=other,
        supplier="Acme",
        lines={"KETTLE": 5},
        expected_date=in_days(3),
        actor=system_actor,
    ).purchase_order
    client = api(tpl_key)
    assert client.get(f"{API}{theirs.number}/").status_code == 404
    refused = client.post(
        f"{API}{theirs.number}/receipts/",
        {"reference": "X", "lines": [{"sku": "KETTLE", "quantity": 1}]},
        format="json",
    )
    assert refused.status_code == 404
    assert client.get(API).json()["results"] == []
    assert level(other, kettle).on_hand == 0


def test_company_keys_and_anonymous_callers_may_not_record_supply(kettle, mug):
    company = CompanyFactory()
    CustomerFactory(company=company, company_role="buyer")
    company_key = create_api_key(company=company, name="ERP").raw_key
    assert api(company_key).post(API, po_body(), format="json").status_code == 403
    assert APIClient().post(API, po_body(), format="json").status_code == 401
    assert not PurchaseOrder.objects.exists()


def test_the_schema_documents_the_purchase_order_endpoints(db):
    schema = APIClient().get("/api/schema/", HTTP_ACCEPT="application/json").json()
    assert "post" in schema["paths"]["/api/v1/purchase-orders/"]
    assert "post" in schema["paths"]["/api/v1/purchase-orders/{number}/receipts/"]


def test_the_availability_api_counts_supply_due_by_a_date(tpl, kettle, system_actor):
    company = CompanyFactory()
    CustomerFactory(company=company, company_role="buyer")
    client = api(create_api_key(company=company, name="ERP").raw_key)
    receive_stock(location=tpl, product=kettle, quantity=3, actor=system_actor)
    create_purchase_order(
        location=tpl,
        supplier="Acme",
        lines={"KETTLE": 20},
        expected_date=in_days(6),
        actor=system_actor,
    )
    url = "/api/v1/availability/"
    plain = client.get(url, {"sku": "KETTLE"}).json()
    assert "supply_by_date" not in plain
    before = client.get(url, {"sku": "KETTLE", "by": in_days(5).isoformat()}).json()
    assert before["supply_by_date"] == [
        {"sku": "KETTLE", "available_now": 3, "incoming_by_date": 0, "available_by_date": 3}
    ]
    after = client.get(url, {"sku": "KETTLE", "by": in_days(6).isoformat()}).json()
    assert after["by_date"] == in_days(6).isoformat()
    assert after["supply_by_date"][0]["available_by_date"] == 23
    bad = client.get(url, {"sku": "KETTLE", "by": "soon"})
    assert bad.status_code in {400, 422}
    assert bad["Content-Type"].startswith("application/problem+json")
