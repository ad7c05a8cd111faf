import pytest

from fulfillment.models import FulfillmentOrder, RoutingRule
from fulfillment.routing import route_backorders, route_order
from inventory import services as stock
from inventory.models import NetworkStock, StockLevel, StockMovement
from orders.models import HoldKind, OrderStatus
from orders.services import place_hold, release_hold

from .conftest import SYSTEM, make_location, place, receive

pytestmark = pytest.mark.django_db


def fo_map(order):
    return {
        fo.location.code: sorted((li.order_line.sku, li.quantity) for li in fo.lines.all())
        for fo in FulfillmentOrder.objects.filter(order=order).select_related("location")
    }


def test_nearest_single_location_that_covers_the_whole_order(network, products, method):
    a, b = products[:2]
    receive(network["NWK"], a, 5)  # nearest, but lacks b
    for code in ("DAL", "RNO"):
        receive(network[code], a, 5)
        receive(network[code], b, 5)
    order = place([(a, 2), (b, 1)])

    decision = route_order(order_id=order.pk)

    assert fo_map(order) == {"DAL": sorted([(a.sku, 2), (b.sku, 1)])}
    order.refresh_from_db()
    assert order.status == OrderStatus.PROCESSING
    assert decision.outcome == "routed"
    ranks = [t for t in decision.trace if t["step"] == "rank"]
    assert [r["location"] for r in ranks] == ["NWK", "DAL", "RNO"]
    assert any(t["result"] == "single shipment" and t["location"] == "DAL" for t in decision.trace)
    level = StockLevel.objects.get(location=network["DAL"], product=a)
    assert level.allocated == 2
    assert NetworkStock.objects.get(product=a).committed == 0


def test_splits_only_when_no_single_location_covers(network, products, method):
    a, b = products[:2]
    receive(network["NWK"], a, 5)
    receive(network["RNO"], b, 5)
    order = place([(a, 2), (b, 1)])

    route_order(order_id=order.pk)

    assert fo_map(order) == {"NWK": [(a.sku, 2)], "RNO": [(b.sku, 1)]}


def test_ship_together_rule_refuses_to_split(network, products, method):
    a, b = products[:2]
    receive(network["NWK"], a, 5)
    receive(network["RNO"], b, 5)
    RoutingRule.objects.filter(step="ship_together").update(
        is_enabled=True, parameters={"skus": []}
    )
    order = place([(a, 2), (b, 1)])

    decision = route_order(order_id=order.pk)

    assert fo_map(order) == {}
    assert decision.outcome == "unrouted"
    assert NetworkStock.objects.get(product=a).committed == 2  # still promised, awaiting stock


def test_safety_stock_and_capacity_and_customisation_are_respected(network, products, method):
    a = products[0]
    a.is_customizable = True
    a.customization_fields = ["engraving"]
    a.save()
    for code in ("NWK", "DAL"):  # both could engrave, but...
        network[code].customization = True
        network[code].save()
    receive(network["NWK"], a, 5)
    stock.set_safety_stock(location=network["NWK"], product=a, quantity=5, actor=SYSTEM)
    receive(network["DAL"], a, 5)
    network["DAL"].daily_capacity = 0
    network["DAL"].save()
    workshop = make_location(
        "ENG", {"postal_code": "89502", "city": "Reno", "region": "NV"}, customization=True
    )
    receive(network["RNO"], a, 5)  # cannot engrave
    receive(workshop, a, 5)
    order = place([(a, 1)], customization={a.sku: {"engraving": "For Sam"}})

    decision = route_order(order_id=order.pk)

    assert fo_map(order) == {"ENG": [(a.sku, 1)]}
    reasons = {t["location"]: t["reason"] for t in decision.trace if t["step"] == "candidate"}
    assert "safety stock" in reasons["NWK"]
    assert "capacity" in reasons["DAL"]
    assert "customization" in reasons["RNO"]


def test_routing_twice_changes_nothing_more(network, products, method):
    a = products[0]
    receive(network["NWK"], a, 5)
    order = place([(a, 3)])

    route_order(order_id=order.pk)
    movements = StockMovement.objects.count()
    second = route_order(order_id=order.pk)

    assert second is None
    assert FulfillmentOrder.objects.filter(order=order).count() == 1
    assert StockMovement.objects.count() == movements


def test_held_order_is_not_routed_until_released(network, products, method):
    a = products[0]
    receive(network["NWK"], a, 5)
    order = place([(a, 1)])
    hold = place_hold(order=order, kind=HoldKind.MANUAL, reason="call customer", actor=SYSTEM)

    assert route_order(order_id=order.pk) is None
    assert not FulfillmentOrder.objects.filter(order=order).exists()

    release_hold(hold_id=hold.pk, reason="confirmed", actor=SYSTEM)
    route_order(order_id=order.pk)
    assert FulfillmentOrder.objects.filter(order=order).count() == 1


def test_backorders_are_routed_when_stock_arrives(network, products, method):
    a = products[0]
    a.allow_backorder = True
    a.save()
    receive(network["NWK"], a, 1)
    order = place([(a, 3)])
    route_order(order_id=order.pk)
    line = order.lines.get()
    assert (line.quantity_allocated, line.quantity_backordered) == (1, 2)

    receive(network["DAL"], a, 10)
    assert route_backorders() == 1

    line.refresh_from_db()
    assert (line.quantity_allocated, line.quantity_backordered) == (3, 0)
    assert sorted(fo_map(order)) == ["DAL", "NWK"]


def test_a_line_larger_than_any_location_is_split_across_locations(network, products, method):
    a = products[0]
    receive(network["NWK"], a, 4)
    receive(network["DAL"], a, 4)
    order = place([(a, 7)])

    decision = route_order(order_id=order.pk)

    assert fo_map(order) == {"NWK": [(a.sku, 4)], "DAL": [(a.sku, 3)]}
    assert decision.outcome == "routed"
    assert [t["result"] for t in decision.trace if t["step"] == "plan"] == ["split line"] * 2
