"""An order's page tells its whole fulfilment story: fulfilment orders, shipments with
tracking, the routing decisions' traces and the notifications sent, in a pinned number
of queries that does not grow with any of them."""

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from core import refcache
from fulfillment import operations
from fulfillment.models import FulfillmentOrder, RoutingDecision, Shipment, TrackingEvent
from fulfillment.routing import route_order
from inventory import services as inventory_services
from oms.notifications import send_order_notification
from orders import drafts
from orders.models import Notification, Order
from orders.placement import LineRequest, OrderRequest, place_order
from tests.factories import (
    CarrierFactory,
    CustomerFactory,
    LocationFactory,
    ProductFactory,
    ShippingMethodFactory,
)

pytestmark = pytest.mark.django_db

# Session, user (with their preferences), the order (with its joins), its lines, the
# timeline and its agents' notes (pinned ones and those the timeline shows), the holds
# (one read: the inline's history, of which the summary card and its buttons take the
# open ones), then the
# fulfilment sections: fulfilment orders and their lines, shipments and their tracking
# events, routing decisions, then billing's section: the order's invoices, its credit
# notes (with their invoices); returns' section: the order's returns (their lines only
# when it has some); notifications.
ORDER_PAGE_QUERIES = 16
# Without fulfilment orders or shipments, their prefetches have nothing to fetch.
UNROUTED_ORDER_PAGE_QUERIES = ORDER_PAGE_QUERIES - 2
ADDRESS = {
    "name": "Pat Buyer",
    "line1": "2 Elm St",
    "city": "Reno",
    "region": "NV",
    "postal_code": "89502",
    "country": "US",
}


@pytest.fixture(autouse=True)
def _fresh_reference_cache():
    refcache.clear()
    yield
    refcache.clear()


@pytest.fixture
def method(db):
    carrier = CarrierFactory(tracking_url_template="https://track.example/{tracking_number}")
    return ShippingMethodFactory(carrier=carrier)


@pytest.fixture
def warehouses(db):
    return [LocationFactory(code="RNO1"), LocationFactory(code="RNO2")]


def _queries(client, order: Order) -> tuple[int, str]:
    ContentType.objects.get_for_model(Order)  # cached per process after the first page
    with CaptureQueriesContext(connection) as captured:
        response = client.get(reverse("admin:orders_order_change", args=[order.pk]))
    assert response.status_code == 200
    return len(captured), response.content.decode()


def _small_story(operator, warehouses) -> Order:
    """One line, one fulfilment order, one shipment with one scan, one e-mail."""
    product = ProductFactory()
    inventory_services.receive_stock(
        location=warehouses[0], product=product, quantity=5, actor=operator
    )
    order = _place(operator, {product: 1})
    route_order(order_id=order.pk, actor=operator)
    fo = FulfillmentOrder.objects.get(order=order)
    shipment = operations.ship_fulfillment_order(fo_id=fo.pk, actor=operator)
    _scan(shipment, 1)
    send_order_notification(order_id=order.pk, event="order_confirmed")
    return order


def _big_story(operator, warehouses) -> Order:
    """Four lines split over two warehouses, routed twice (the second time after a
    backorder arrives), eight shipments with three scans each, a dozen e-mails."""
    products = [ProductFactory(allow_backorder=True) for _ in range(4)]
    for index, product in enumerate(products):
        inventory_services.receive_stock(
            location=warehouses[index % 2], product=product, quantity=4, actor=operator
        )
    order = _place(operator, dict.fromkeys(products, 6))
    route_order(order_id=order.pk, actor=operator)  # 4 of 6 units each; 2 wait
    for index, product in enumerate(products):
        inventory_services.receive_stock(
            location=warehouses[index % 2], product=product, quantity=2, actor=operator
        )
    route_order(order_id=order.pk, actor=operator)
    for fo in FulfillmentOrder.objects.filter(order=order).prefetch_related("lines"):
        for _ in range(2):
            line = next(li for li in fo.lines.all() if li.quantity_open)
            shipment = operations.ship_fulfillment_order(
                fo_id=fo.pk, actor=operator, quantities={line.pk: 1}
            )
            for step in range(1, 4):
                _scan(shipment, step)
            send_order_notification(order_id=order.pk, event="shipped", shipment_id=shipment.pk)
    send_order_notification(order_id=order.pk, event="order_confirmed")
    return order


def _place(operator, quantities) -> Order:
    return place_order(
        request=OrderRequest(
            customer=CustomerFactory(),
            channel="web",
            shipping_method_code="STANDARD",
            shipping_address=ADDRESS,
            lines=[LineRequest(sku=p.sku, quantity=q) for p, q in quantities.items()],
        ),
        actor=operator,
    ).order


def _scan(shipment: Shipment, step: int) -> None:
    statuses = {1: "in_transit", 2: "in_transit", 3: "out_for_delivery"}
    operations.record_tracking_event(
        shipment_id=shipment.pk,
        status=statuses[step],
        occurred_at=timezone.now() - dt.timedelta(hours=10 - step),
        external_id=f"scan-{shipment.pk}-{step}",
        description=f"Scan {step}",
        location="Sparks, NV",
    )


def test_order_page_shows_fulfilment_shipments_trace_and_notifications(
    admin_client, operator, warehouses, method
):
    order = _big_story(operator, warehouses)

    queries, content = _queries(admin_client, order)

    fos = FulfillmentOrder.objects.filter(order=order)
    assert fos.count() >= 2
    for fo in fos:
        assert fo.number in content
    shipment = Shipment.objects.filter(order=order).first()
    assert f'href="https://track.example/{shipment.tracking_number}"' in content
    assert "Scan 3" in content
    assert "Sparks, NV" in content
    decisions = RoutingDecision.objects.filter(order=order).order_by("-id")
    assert decisions.count() == 2
    assert decisions[0].summary in content
    assert "<details><summary>" in content  # the earlier decision, collapsed
    step = decisions[0].trace[0]
    assert step["reason"] in content
    assert "Your order" in content  # a notification's subject
    assert Notification.objects.filter(order=order).count() == 9
    assert queries == ORDER_PAGE_QUERIES


def test_order_page_query_count_does_not_grow_with_its_fulfilment(
    admin_client, operator, warehouses, method
):
    small = _small_story(operator, warehouses)
    big = _big_story(operator, warehouses)
    assert Shipment.objects.filter(order=big).count() > 1
    assert TrackingEvent.objects.filter(shipment__order=big).count() > 3

    few, _ = _queries(admin_client, small)
    many, _ = _queries(admin_client, big)

    assert few == many == ORDER_PAGE_QUERIES


def test_an_unrouted_order_says_so(admin_client, operator, warehouses, method):
    product = ProductFactory(list_price=Decimal("5"))
    inventory_services.receive_stock(
        location=warehouses[0], product=product, quantity=5, actor=operator
    )
    order = _place(operator, {product: 1})

    queries, content = _queries(admin_client, order)

    assert "Not routed yet." in content
    assert queries == UNROUTED_ORDER_PAGE_QUERIES


# A draft's page: the same session, user, order, timeline and notes, holds and buttons
# queries (its lines are not the page's table), then its lines, its reservations and the
# network and per-location availability (two).
DRAFT_PAGE_QUERIES = 10


def test_draft_page_query_count_does_not_grow_with_its_lines(
    admin_client, operator, warehouses, method
):
    products = [ProductFactory() for _ in range(10)]
    for product in products:
        inventory_services.receive_stock(
            location=warehouses[0], product=product, quantity=5, actor=operator
        )
        inventory_services.receive_stock(
            location=warehouses[1], product=product, quantity=5, actor=operator
        )

    def draft(count: int) -> Order:
        return drafts.create_draft_order(
            request=OrderRequest(
                customer=CustomerFactory(),
                channel="sales",
                shipping_method_code="STANDARD",
                shipping_address=ADDRESS,
                lines=[LineRequest(sku=p.sku, quantity=2) for p in products[:count]],
            ),
            actor=operator,
        )

    small, big = draft(1), draft(10)
    drafts.reserve_draft_stock(order_id=big.pk, actor=operator)

    few, small_page = _queries(admin_client, small)
    many, big_page = _queries(admin_client, big)

    assert "No stock reserved" in small_page
    assert "Stock reserved until" in big_page
    assert f"{warehouses[1].code}: 5" in big_page
    assert few == many == DRAFT_PAGE_QUERIES
