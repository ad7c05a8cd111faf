"""A hold stops the work: an order's fulfillment orders follow its holds (issue: holds
that hold). Each test places or releases holds through the workflows the admin and API
call (``fulfillment.holds``) and checks the warehouse, the partner and the customer."""

import shutil
import subprocess
from decimal import Decimal

import pytest
from django.core import mail
from rest_framework.test import APIClient

from core.models import OutboxEvent
from customers.api_keys import create_vendor_api_key
from fulfillment import holds
from fulfillment import operations as ops
from fulfillment.changes import cancel_order, change_line_quantity
from fulfillment.documents import pick_list_pdf
from fulfillment.models import FulfillmentOrder, FulfillmentStatus, RequestStatus, Shipment
from fulfillment.routing import route_order
from inventory.models import LocationKind, StockLevel, StockMovement
from oms.notifications import send_order_notification
from orders.errors import OrderOnHold
from orders.models import HoldKind, OrderEvent, OrderHold, OrderStatus
from shipping.models import ServiceLevel
from tests.factories import (
    CompanyFactory,
    CustomerFactory,
    ProductFactory,
    ShippingMethodFactory,
)

from .conftest import NEWARK, SYSTEM, make_location, place, receive

pytestmark = pytest.mark.django_db


def _hold(order, kind=HoldKind.FRAUD_REVIEW, reason="Card used from three countries"):
    return holds.place_order_hold(order=order, kind=kind, reason=reason, actor=SYSTEM)


def _release(hold, reason="Checked with the customer"):
    return holds.release_order_hold(hold_id=hold.pk, reason=reason, actor=SYSTEM)


def _stock_snapshot():
    return (
        list(StockLevel.objects.order_by("pk").values_list("on_hand", "allocated")),
        StockMovement.objects.count(),
        Shipment.objects.count(),
    )


def test_a_hold_on_a_routed_order_stops_its_fulfillment_order_in_the_same_transaction(routed):
    order, fo = routed

    _hold(order)

    fo.refresh_from_db()
    assert fo.status == FulfillmentStatus.ON_HOLD
    assert fo.status_before_hold == FulfillmentStatus.OPEN
    assert "fraud review" in fo.hold_reason
    # The internal reason is not spread to the warehouse or a partner.
    assert "three countries" not in fo.hold_reason
    assert OrderEvent.objects.filter(
        order=order, message__startswith="Fulfillment stopped by the hold"
    ).exists()


def test_shipping_a_held_fulfillment_order_is_refused_and_changes_nothing(routed):
    order, fo = routed
    _hold(order)
    before = _stock_snapshot()

    with pytest.raises(OrderOnHold) as refused:
        ops.ship_fulfillment_order(fo_id=fo.pk, actor=SYSTEM)

    assert refused.value.code == "order_on_hold"
    assert fo.number in refused.value.message
    assert "fraud review" in refused.value.message
    assert _stock_snapshot() == before
    order.refresh_from_db()
    assert order.status == OrderStatus.PROCESSING


def _pdf_text(pdf: bytes) -> str:
    return subprocess.run(
        ["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode()


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="needs pdftotext (poppler-utils)")
def test_a_held_fulfillment_order_leaves_the_pick_list(routed, network):
    order, fo = routed
    assert fo.number in _pdf_text(pick_list_pdf(network["NWK"]))

    _hold(order)

    assert fo.number not in _pdf_text(pick_list_pdf(network["NWK"]))


def test_releasing_the_last_hold_returns_the_fulfillment_order_to_where_it_was(routed):
    order, fo = routed
    line = fo.lines.order_by("id").first()
    ops.ship_fulfillment_order(fo_id=fo.pk, actor=SYSTEM, quantities={line.pk: 1})
    fo.refresh_from_db()
    assert fo.status == FulfillmentStatus.IN_PROGRESS  # being packed: one parcel is out
    fraud = _hold(order)
    manual = _hold(order, kind=HoldKind.MANUAL, reason="Customer asked us to wait")
    fo.refresh_from_db()
    assert fo.status == FulfillmentStatus.ON_HOLD
    assert "fraud review" in fo.hold_reason
    assert "manual" in fo.hold_reason

    _release(fraud)
    fo.refresh_from_db()
    assert fo.status == FulfillmentStatus.ON_HOLD  # the manual hold still stops it
    assert "fraud review" not in fo.hold_reason

    _release(manual)
    fo.refresh_from_db()
    assert (fo.status, fo.hold_reason, fo.status_before_hold) == (
        FulfillmentStatus.IN_PROGRESS,
        "",
        "",
    )
    ops.ship_fulfillment_order(fo_id=fo.pk, actor=SYSTEM)
    order.refresh_from_db()
    assert order.status == OrderStatus.COMPLETED


def test_a_fully_shipped_fulfillment_order_is_not_held(routed):
    order, fo = routed
    ops.ship_fulfillment_order(fo_id=fo.pk, actor=SYSTEM)
    order.refresh_from_db()
    assert order.status == OrderStatus.COMPLETED

    # A completed order cannot be held at all; nothing moves.
    with pytest.raises(Exception, match="cannot be held"):
        _hold(order)
    fo.refresh_from_db()
    assert fo.status == FulfillmentStatus.CLOSED


def test_a_held_fulfillment_order_may_still_be_given_back(routed):
    order, fo = routed
    _hold(order)

    ops.reject_fulfillment_lines(fo_id=fo.pk, reason="damaged", actor=SYSTEM)

    fo.refresh_from_db()
    assert fo.status == FulfillmentStatus.CANCELLED
    assert (fo.hold_reason, fo.status_before_hold) == ("", "")
    # The order is not routed again while it is held.
    assert not FulfillmentOrder.objects.filter(order=order).exclude(pk=fo.pk).exists()


@pytest.fixture
def vendor_routed(db, method, sim):
    vendor = make_location(
        "DROP1",
        NEWARK,
        kind=LocationKind.DROPSHIP_VENDOR,
        contact_email="orders@vendor.example",
    )
    product = ProductFactory(list_price=Decimal("25"), dropship_vendor=vendor)
    receive(vendor, product, 5)
    order = place([(product, 1)])
    route_order(order_id=order.pk)
    fo = FulfillmentOrder.objects.get(order=order)
    assert fo.request_status == RequestStatus.SUBMITTED
    return order, fo


def test_a_partner_is_told_to_stop_and_then_to_go_on(
    vendor_routed, django_capture_on_commit_callbacks
):
    order, fo = vendor_routed
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        hold = _hold(order)
    assert OutboxEvent.objects.filter(topic="fulfillment.held").count() == 1
    stop = [m for m in mail.outbox if m.to == ["orders@vendor.example"]]
    assert len(stop) == 1
    assert stop[0].subject.startswith("STOP")
    assert fo.number in stop[0].body

    with pytest.raises(OrderOnHold):
        ops.accept_fulfillment_request(fo_id=fo.pk, actor=SYSTEM)
    fo.refresh_from_db()
    assert fo.request_status == RequestStatus.SUBMITTED

    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        _release(hold)
    go_on = [m for m in mail.outbox if m.to == ["orders@vendor.example"]]
    assert len(go_on) == 1
    assert "released" in go_on[0].subject
    fo.refresh_from_db()
    assert fo.status == FulfillmentStatus.OPEN
    ops.accept_fulfillment_request(fo_id=fo.pk, actor=SYSTEM)


@pytest.fixture
def pickup_routed(db, sim):
    store = make_location("STORE1", NEWARK, kind=LocationKind.STORE, pickup=True)
    ShippingMethodFactory(
        code="PICKUP",
        name="Store pickup",
        service_level=ServiceLevel.PICKUP,
        carrier=None,
        transit_days_min=0,
        transit_days_max=0,
        price=Decimal("0"),
    )
    product = ProductFactory(list_price=Decimal("12"))
    receive(store, product, 4)
    order = place(
        [(product, 1)],
        customer=CustomerFactory(),
        shipping_method_code="PICKUP",
        pickup_location_code="STORE1",
    )
    route_order(order_id=order.pk)
    return order, FulfillmentOrder.objects.get(order=order)


def test_a_held_pickup_is_neither_made_ready_nor_handed_over(pickup_routed):
    order, fo = pickup_routed
    hold = _hold(order, kind=HoldKind.PAYMENT, reason="Card declined")

    with pytest.raises(OrderOnHold):
        ops.mark_ready_for_pickup(fo_id=fo.pk, actor=SYSTEM)
    fo.refresh_from_db()
    assert fo.ready_for_pickup_at is None

    _release(hold)
    ops.mark_ready_for_pickup(fo_id=fo.pk, actor=SYSTEM)
    _hold(order, kind=HoldKind.MANUAL, reason="Customer disputes the charge")
    fo.refresh_from_db()
    with pytest.raises(OrderOnHold):
        ops.confirm_pickup(fo_id=fo.pk, code=fo.pickup_code, actor=SYSTEM)
    assert not Shipment.objects.filter(fulfillment_order=fo).exists()


def test_the_customer_of_a_held_order_hears_under_review_then_confirmed(
    network, products, method, django_capture_on_commit_callbacks, settings
):
    settings.OMS_AUTO_ROUTE = True
    a = products[0]
    receive(network["NWK"], a, 10)
    order = place([(a, 1)])
    hold = _hold(order)
    mail.outbox.clear()

    send_order_notification(order_id=order.pk, event="order_confirmed")

    assert [m.subject for m in mail.outbox] == [
        f"We received your order {order.number}: it is under review"
    ]
    assert "under review" in mail.outbox[0].body

    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        _release(hold)
    assert [m.subject for m in mail.outbox] == [f"Your order {order.number} is confirmed"]
    # The order was routed on release (and only then).
    assert FulfillmentOrder.objects.filter(order=order).exists()


def test_an_edit_that_opens_a_hold_stops_the_fulfillment_orders(db, network, method, sim):
    company = CompanyFactory(approval_threshold=Decimal("100"), credit_limit=Decimal("100000"))
    buyer = CustomerFactory(company=company, company_role="buyer")
    product = ProductFactory(list_price=Decimal("10"))
    receive(network["NWK"], product, 50)
    order = place([(product, 2)], customer=buyer)
    route_order(order_id=order.pk)
    fo = FulfillmentOrder.objects.get(order=order)
    assert not OrderHold.objects.filter(order=order).exists()

    change_line_quantity(order_id=order.pk, line_number=1, quantity=20, actor=SYSTEM)

    assert OrderHold.objects.filter(
        order=order, kind=HoldKind.B2B_APPROVAL, released_at__isnull=True
    ).exists()
    fo.refresh_from_db()
    assert fo.status == FulfillmentStatus.ON_HOLD


def test_the_vendor_api_shows_held_work_and_refuses_to_ship_it(vendor_routed, sim):
    order, fo = vendor_routed
    vendor_api = APIClient()
    vendor_api.credentials(
        HTTP_AUTHORIZATION="Bearer "
        + create_vendor_api_key(vendor=fo.location, name="vendor").raw_key
    )
    _hold(order, kind=HoldKind.PAYMENT, reason="Card declined")

    listing = vendor_api.get("/api/v1/fulfillment-orders/").json()["results"]
    detail = vendor_api.get(f"/api/v1/fulfillment-orders/{fo.number}/").json()
    shipped = vendor_api.post(
        f"/api/v1/fulfillment-orders/{fo.number}/shipments/",
        {"carrier": "SIM", "tracking_number": "SIM-1"},
        format="json",
    )
    accepted = vendor_api.post(f"/api/v1/fulfillment-orders/{fo.number}/accept/")

    assert [(f["number"], f["status"]) for f in listing] == [(fo.number, "on_hold")]
    assert "payment" in detail["hold_reason"]
    for refused in (shipped, accepted):
        assert refused.status_code == 409
        assert refused["Content-Type"] == "application/problem+json"
        assert refused.json()["code"] == "order_on_hold"
    assert not Shipment.objects.exists()
    fo.refresh_from_db()
    assert fo.request_status == RequestStatus.SUBMITTED


def test_cancelling_a_held_order_cancels_its_held_fulfillment_order(routed, network, products):
    order, fo = routed
    _hold(order)

    cancel_order(order_id=order.pk, reason="Fraud confirmed", actor=SYSTEM)

    fo.refresh_from_db()
    assert fo.status == FulfillmentStatus.CANCELLED
    assert (fo.hold_reason, fo.status_before_hold) == ("", "")
    assert StockLevel.objects.get(location=network["NWK"], product=products[0]).allocated == 0
