"""What the order page reads of an order's fulfillment (``fulfillment.selectors``): its
fulfillment orders, shipments with their latest tracking events, routing decisions;
newest first, bounded, in a fixed number of queries."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from fulfillment import operations as ops
from fulfillment.models import FulfillmentOrder, RoutingDecision, ShipmentStatus
from fulfillment.routing import route_order
from fulfillment.selectors import (
    list_order_fulfillment_orders,
    list_order_shipments,
    list_routing_decisions,
)
from tests.factories import CarrierFactory

from .conftest import SYSTEM, place, receive

pytestmark = pytest.mark.django_db


@pytest.fixture
def split(network, products, method):
    """An order split over two warehouses: one fulfillment order each, both shipped."""
    CarrierFactory(code="SIM", name="Simulated Carrier")
    a, b = products[:2]
    receive(network["NWK"], a, 5)
    receive(network["DAL"], b, 5)
    order = place([(a, 2), (b, 1)])
    route_order(order_id=order.pk)
    for fo in FulfillmentOrder.objects.filter(order=order).order_by("id"):
        ops.ship_fulfillment_order(fo_id=fo.pk, actor=SYSTEM)
    return order


def test_the_fulfillment_orders_come_newest_first_with_their_lines(split):
    # when
    fos = list_order_fulfillment_orders(split, limit=10)

    # then
    assert [fo.pk for fo in fos] == sorted((fo.pk for fo in fos), reverse=True)
    assert {fo.location.code for fo in fos} == {"NWK", "DAL"}
    assert sorted(li.order_line.quantity_ordered for fo in fos for li in fo.lines.all()) == [1, 2]
    assert len(list_order_fulfillment_orders(split, limit=1)) == 1


def test_each_shipment_brings_its_latest_tracking_events_only(split):
    # given: four scans on the newest shipment
    newest = split.shipments.order_by("-id").first()
    start = timezone.now()
    for minute, status in enumerate(
        [ShipmentStatus.IN_TRANSIT] * 3 + [ShipmentStatus.OUT_FOR_DELIVERY], start=1
    ):
        ops.record_tracking_event(
            shipment_id=newest.pk,
            status=status,
            occurred_at=start + dt.timedelta(minutes=minute),
            external_id=f"scan-{minute}",
        )

    # when
    shipments = list_order_shipments(split, limit=10, events_per_shipment=2)

    # then
    assert shipments[0].pk == newest.pk
    assert [e.external_id for e in shipments[0].recent_events] == ["scan-4", "scan-3"]
    assert shipments[1].recent_events == []
    assert shipments[0].carrier.code == "SIM"


def test_the_reads_take_a_fixed_number_of_queries(split):
    with CaptureQueriesContext(connection) as queries:
        fos = list_order_fulfillment_orders(split, limit=10)
        shipments = list_order_shipments(split, limit=10, events_per_shipment=5)
        decisions = list_routing_decisions(split, limit=5)
        for fo in fos:
            list(fo.lines.all())
            _ = fo.location.code
        for shipment in shipments:
            _ = (shipment.carrier, shipment.fulfillment_order.number, shipment.recent_events)

    assert len(queries) == 5  # two, two and one, whatever the number of rows
    assert decisions


def test_routing_decisions_come_newest_first_up_to_the_limit(split):
    # given: two later decisions (a re-route after a rejection, say)
    first = RoutingDecision.objects.get(order=split)
    later = [
        RoutingDecision.objects.create(order=split, outcome="rerouted", summary=f"run {n}")
        for n in (2, 3)
    ]

    # when
    decisions = list_routing_decisions(split, limit=2)

    # then
    assert decisions == [later[1], later[0]]
    assert first not in decisions
