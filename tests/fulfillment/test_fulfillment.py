import datetime as dt
import shutil
import subprocess
from decimal import Decimal

import pytest
from django.core import mail
from django.utils import timezone

from core.errors import DomainError
from fulfillment import operations as ops
from fulfillment.changes import cancel_order
from fulfillment.documents import packing_slip_pdf, pick_list_pdf
from fulfillment.models import (
    FulfillmentOrder,
    FulfillmentStatus,
    RequestStatus,
    Shipment,
    ShipmentStatus,
    TrackingEvent,
)
from fulfillment.partners import send_fulfillment_request
from fulfillment.routing import route_order
from fulfillment.simulation import advance_simulated_shipments
from fulfillment.sla import flag_at_risk
from inventory.models import NetworkStock, StockLevel, StockMovement
from orders.models import FulfillmentStatus as OrderFulfillment
from orders.models import OrderStatus
from tests.factories import CustomerFactory, LocationFactory, ShippingMethodFactory

from .conftest import SYSTEM, place, receive

pytestmark = pytest.mark.django_db


def level(location, product):
    return StockLevel.objects.get(location=location, product=product)


def test_partial_then_full_shipment_updates_buckets_and_statuses(routed, network, products):
    order, fo = routed
    a = products[0]
    first_line = fo.lines.get(order_line__product=a)

    shipment = ops.ship_fulfillment_order(fo_id=fo.pk, actor=SYSTEM, quantities={first_line.pk: 2})

    assert shipment.tracking_number.startswith("SIM")
    order.refresh_from_db()
    fo.refresh_from_db()
    assert order.fulfillment_status == OrderFulfillment.PARTIALLY_SHIPPED
    assert fo.status == FulfillmentStatus.IN_PROGRESS
    stock = level(network["NWK"], a)
    assert (stock.on_hand, stock.allocated) == (8, 1)
    line = order.lines.get(product=a)
    assert (line.quantity_shipped, line.quantity_allocated) == (2, 1)

    ops.ship_fulfillment_order(fo_id=fo.pk, actor=SYSTEM)

    order.refresh_from_db()
    fo.refresh_from_db()
    assert order.status == OrderStatus.COMPLETED
    assert order.fulfillment_status == OrderFulfillment.SHIPPED
    assert fo.status == FulfillmentStatus.CLOSED
    assert NetworkStock.objects.get(product=a).available == 7


def test_shipping_more_than_open_changes_nothing(routed):
    _, fo = routed
    line = fo.lines.first()
    before = StockMovement.objects.count()

    with pytest.raises(DomainError):
        ops.ship_fulfillment_order(fo_id=fo.pk, actor=SYSTEM, quantities={line.pk: 99})

    assert StockMovement.objects.count() == before
    assert Shipment.objects.count() == 0


def test_rejection_adjusts_stock_and_reroutes(routed, network, products):
    order, fo = routed
    a = products[0]
    receive(network["DAL"], a, 10)
    line = fo.lines.get(order_line__product=a)

    ops.reject_fulfillment_lines(
        fo_id=fo.pk, reason="damaged", actor=SYSTEM, quantities={line.pk: 3}
    )

    stock = level(network["NWK"], a)
    assert (stock.on_hand, stock.unsellable, stock.allocated) == (7, 3, 0)
    order_line = order.lines.get(product=a)
    assert order_line.quantity_allocated == 0
    assert NetworkStock.objects.get(product=a).committed == 3

    route_order(order_id=order.pk)  # what the outbox triggers in production

    order_line.refresh_from_db()
    assert order_line.quantity_allocated == 3
    rerouted = FulfillmentOrder.objects.filter(order=order).exclude(pk=fo.pk).get()
    assert rerouted.location.code == "DAL"


def test_tracking_events_drive_delivery_and_are_idempotent(routed, settings):
    settings.OMS_SIMULATED_CARRIER_STEP_MINUTES = 1
    order, fo = routed
    shipment = ops.ship_fulfillment_order(fo_id=fo.pk, actor=SYSTEM)
    mail.outbox.clear()

    recorded = advance_simulated_shipments(now=timezone.now() + dt.timedelta(minutes=5))
    again = advance_simulated_shipments(now=timezone.now() + dt.timedelta(minutes=10))

    shipment.refresh_from_db()
    order.refresh_from_db()
    assert recorded == 3
    assert again == 0
    assert shipment.status == ShipmentStatus.DELIVERED
    assert TrackingEvent.objects.filter(shipment=shipment).count() == 3
    assert order.fulfillment_status == OrderFulfillment.DELIVERED
    assert all(li.quantity_delivered == li.quantity_ordered for li in order.lines.all())


def test_pickup_ready_then_handed_over_with_the_right_code(network, products, method, db):
    ShippingMethodFactory(
        code="PICKUP",
        name="Store pickup",
        service_level="pickup",
        carrier=None,
        transit_days_min=0,
        transit_days_max=0,
        price=Decimal("0"),
    )
    store = LocationFactory(code="ST-1", kind="store", pickup=True)
    a = products[0]
    receive(store, a, 2)
    order = place(
        [(a, 2)],
        shipping_method_code="PICKUP",
        pickup_location_code="ST-1",
        customer=CustomerFactory(),
    )
    route_order(order_id=order.pk)
    fo = FulfillmentOrder.objects.get(order=order)
    assert fo.is_pickup
    assert len(fo.pickup_code) == 6

    ops.mark_ready_for_pickup(fo_id=fo.pk, actor=SYSTEM)
    with pytest.raises(ops.WrongPickupCode):
        ops.confirm_pickup(
            fo_id=fo.pk, code="000000" if fo.pickup_code != "000000" else "1", actor=SYSTEM
        )
    ops.confirm_pickup(fo_id=fo.pk, code=fo.pickup_code, actor=SYSTEM)

    order.refresh_from_db()
    assert order.status == OrderStatus.COMPLETED
    assert order.fulfillment_status == OrderFulfillment.DELIVERED
    assert level(store, a).on_hand == 0


def test_partner_must_accept_before_shipping(network, products, method, sim):
    tpl = LocationFactory(code="3PL", kind="3pl", contact_email="ops@3pl.example")
    a = products[0]
    receive(tpl, a, 5)
    order = place([(a, 1)])
    route_order(order_id=order.pk)
    fo = FulfillmentOrder.objects.get(order=order)
    assert fo.request_status == RequestStatus.SUBMITTED

    with pytest.raises(ops.FulfillmentConflict):
        ops.ship_fulfillment_order(fo_id=fo.pk, actor=SYSTEM)
    ops.accept_fulfillment_request(fo_id=fo.pk, actor=SYSTEM)
    ops.ship_fulfillment_order(fo_id=fo.pk, actor=SYSTEM, tracking_number="1Z999")

    assert Shipment.objects.get().tracking_number == "1Z999"


def test_partner_gets_the_request_with_pdf_once(network, products, method):
    vendor = LocationFactory(code="VEND", kind="dropship", contact_email="orders@vendor.example")
    a = products[0]
    a.dropship_vendor = vendor
    a.save()
    receive(vendor, a, 5)
    order = place([(a, 1)])
    route_order(order_id=order.pk)
    fo = FulfillmentOrder.objects.get(order=order)
    mail.outbox.clear()

    send_fulfillment_request(fo_id=fo.pk)
    send_fulfillment_request(fo_id=fo.pk)

    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["orders@vendor.example"]
    _, content, mimetype = mail.outbox[0].attachments[0]
    assert mimetype == "application/pdf"
    assert content.startswith(b"%PDF")


def test_sla_monitor_flags_late_fulfilment(routed):
    _, fo = routed
    FulfillmentOrder.objects.filter(pk=fo.pk).update(ship_by_date=dt.date(2020, 1, 1))

    assert flag_at_risk() == 1
    assert flag_at_risk() == 0
    fo.refresh_from_db()
    assert fo.at_risk_since is not None

    ops.ship_fulfillment_order(fo_id=fo.pk, actor=SYSTEM)
    flag_at_risk()
    fo.refresh_from_db()
    assert fo.at_risk_since is None


@pytest.mark.skipif(
    not shutil.which("zbarimg") or not shutil.which("pdftoppm"),
    reason="needs zbar-tools and poppler-utils (installed by CI)",
)
def test_packing_slip_barcode_decodes_to_the_order_number(routed, tmp_path, network):
    order, fo = routed
    pdf = tmp_path / "slip.pdf"
    pdf.write_bytes(packing_slip_pdf(fo))
    subprocess.run(
        ["pdftoppm", "-png", "-r", "200", str(pdf), str(tmp_path / "page")],
        check=True,
    )
    page = sorted(tmp_path.glob("page*.png"))[0]

    found = subprocess.run(
        ["zbarimg", "--quiet", str(page)],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split()

    assert f"CODE-128:{order.number}" in found
    assert f"QR-Code:{order.number}" in found
    assert pick_list_pdf(network["NWK"]).startswith(b"%PDF")


def test_cancelling_a_routed_order_releases_the_allocation(routed, network, products):
    order, fo = routed
    a = products[0]
    first_line = fo.lines.get(order_line__product=a)
    ops.ship_fulfillment_order(fo_id=fo.pk, actor=SYSTEM, quantities={first_line.pk: 1})

    cancel_order(order_id=order.pk, reason="customer changed mind", actor=SYSTEM)

    order.refresh_from_db()
    fo.refresh_from_db()
    stock = level(network["NWK"], a)
    assert (stock.on_hand, stock.allocated) == (9, 0)
    assert fo.status == FulfillmentStatus.CLOSED  # one unit shipped, the rest cancelled
    assert order.status == OrderStatus.COMPLETED  # what is left was shipped
    line = order.lines.get(product=a)
    assert (line.quantity_cancelled, line.quantity_shipped, line.quantity_allocated) == (2, 1, 0)
    assert NetworkStock.objects.get(product=a).available == 9


def test_units_a_pickup_store_rejects_are_cancelled_not_rerouted(network, products, method):
    ShippingMethodFactory(
        code="PICKUP",
        name="Store pickup",
        service_level="pickup",
        carrier=None,
        transit_days_min=0,
        transit_days_max=0,
        price=Decimal("0"),
    )
    store = LocationFactory(code="ST-2", kind="store", pickup=True)
    a = products[0]
    receive(store, a, 2)
    receive(network["NWK"], a, 5)
    order = place(
        [(a, 2)],
        shipping_method_code="PICKUP",
        pickup_location_code="ST-2",
        customer=CustomerFactory(),
    )
    route_order(order_id=order.pk)
    fo = FulfillmentOrder.objects.get(order=order)

    ops.reject_fulfillment_lines(fo_id=fo.pk, reason="damaged", actor=SYSTEM)

    order.refresh_from_db()
    line = order.lines.get()
    assert (line.quantity_cancelled, line.quantity_allocated) == (2, 0)
    assert order.status == OrderStatus.CANCELLED
    assert order.grand_total == 0
    assert NetworkStock.objects.get(product=a).committed == 0
    assert level(store, a).unsellable == 2
