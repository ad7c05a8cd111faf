"""Routing a backlog in batches: the same decisions as one order at a time, a constant
number of queries per batch, and concurrent batches that neither deadlock nor allocate
a unit twice."""

from __future__ import annotations

import contextlib
import logging
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from core.models import OutboxEvent
from fulfillment.models import FulfillmentOrder, RoutingDecision, RoutingRule
from fulfillment.routing import route_backlog, route_order, route_orders
from fulfillment.tasks import route_order_event
from inventory.models import NetworkStock, StockLevel, StockMovement
from orders.models import HoldKind, Order, OrderEvent, OrderStatus
from orders.services import place_hold
from tests.api.support import assert_commitments_match_orders, run_together
from tests.factories import ProductFactory, ShippingMethodFactory
from tests.inventory.ledger import assert_stock_consistent

from .conftest import SYSTEM, make_location, place, receive

pytestmark = pytest.mark.django_db


class _Rollback(Exception):
    pass


def _state(orders: list[Order]) -> dict[str, Any]:
    """Everything routing writes, without the keys that differ between two runs."""
    ids = [o.pk for o in orders]
    fos = FulfillmentOrder.objects.filter(order_id__in=ids).select_related("location")
    return {
        "decisions": sorted(
            (d.order.number, d.outcome, d.summary, d.trace)
            for d in RoutingDecision.objects.filter(order_id__in=ids).select_related("order")
        ),
        "fulfillment_orders": sorted(
            (
                fo.number,
                fo.location.code,
                fo.status,
                fo.request_status,
                fo.is_pickup,
                bool(fo.pickup_code),
                fo.ship_by_date,
                sorted((li.order_line.sku, li.quantity) for li in fo.lines.all()),
            )
            for fo in fos
        ),
        "orders": sorted(
            (
                o.number,
                o.status,
                o.promised_delivery_date,
                sorted(
                    (li.line_number, li.quantity_allocated, li.quantity_backordered)
                    for li in o.lines.all()
                ),
            )
            for o in Order.objects.filter(pk__in=ids)
        ),
        "stock": sorted(
            StockLevel.objects.values_list(
                "location__code", "product__sku", "on_hand", "allocated", "reserved"
            )
        ),
        "network": sorted(
            NetworkStock.objects.values_list("product__sku", "available", "committed")
        ),
        "ledger": sorted(
            StockMovement.objects.filter(reason="allocation").values_list(
                "reference", "location__code", "product__sku", "bucket", "delta", "balance_after"
            )
        ),
        "events": sorted(
            (e.order.number, e.type, e.message, e.payload["fulfillment_orders"])
            for e in OrderEvent.objects.filter(order_id__in=ids, type="routed").select_related(
                "order"
            )
        ),
        "outbox": OutboxEvent.objects.filter(topic="fulfillment.created").count(),
    }


def _routed_then_undone(route: Any, orders: list[Order]) -> dict[str, Any]:
    """What ``route()`` writes, rolled back afterwards so that another way of routing
    starts from the same rows."""
    found: dict[str, Any] = {}

    def route_and_undo() -> None:
        with transaction.atomic():
            route()
            found.update(_state(orders))
            raise _Rollback

    with contextlib.suppress(_Rollback):
        route_and_undo()
    return found


@pytest.fixture
def backlog(network, products, method):
    """Orders competing for scarce stock at three locations, with a capacity limit,
    a line no location holds whole, backorders that can now be promoted, a pickup
    order, a held order and one already routed: every path routing can take."""
    a, b, c = products
    c.allow_backorder = True
    c.save()
    receive(network["NWK"], a, 6)
    receive(network["NWK"], b, 2)
    receive(network["DAL"], a, 4)
    receive(network["DAL"], b, 5)
    receive(network["RNO"], b, 3)
    receive(network["RNO"], c, 1)
    network["DAL"].daily_capacity = 1
    network["DAL"].save()
    RoutingRule.objects.filter(step="capacity").update(is_enabled=True)
    ShippingMethodFactory(
        code="PICKUP",
        name="Store pickup",
        service_level="pickup",
        carrier=None,
        transit_days_min=0,
        transit_days_max=0,
        price=Decimal("0"),
    )
    store = make_location(
        "STO", {"postal_code": "10001", "city": "New York", "region": "NY"}, pickup=True
    )
    store.kind = "store"
    store.save()
    receive(store, a, 5)
    orders = [
        place([(a, 2), (b, 1)]),
        place([(a, 3)]),
        place([(b, 3)]),
        place([(c, 3)]),  # one committed, two backordered
        place([(a, 2), (b, 2)]),
        place([(b, 3), (a, 1)]),
        place([(a, 1)], shipping_method_code="PICKUP", pickup_location_code="STO"),
        place([(b, 1)]),
    ]
    held = place([(a, 1)])
    place_hold(order=held, kind=HoldKind.MANUAL, reason="call the customer", actor=SYSTEM)
    route_order(order_id=orders[0].pk)  # routed already: nothing left to route
    receive(network["RNO"], c, 5)  # the backorder can be promoted now
    return [*orders, held]


def test_a_batch_decides_exactly_as_routing_one_order_at_a_time(backlog):
    ids = [o.pk for o in backlog]

    one_by_one = _routed_then_undone(lambda: [route_order(order_id=i) for i in ids], backlog)
    batch = _routed_then_undone(lambda: route_orders(order_ids=list(reversed(ids))), backlog)

    assert batch == one_by_one
    # The scenario reaches every path: splits, a capacity drop, a promoted backorder,
    # an order left waiting, a held order skipped
    traces = [str(d[3]) for d in one_by_one["decisions"]]
    assert any("split" in t for t in traces)
    assert any("capacity" in t for t in traces)
    assert any("backorder" in t for t in traces)
    assert any(d[1] in ("partial", "unrouted") for d in one_by_one["decisions"])
    assert len(one_by_one["fulfillment_orders"]) >= 6
    assert backlog[-1].number not in {d[0] for d in one_by_one["decisions"]}


def test_routing_a_batch_twice_changes_nothing_more(backlog):
    ids = [o.pk for o in backlog]
    first = route_orders(order_ids=ids)
    state = _state(backlog)

    second = route_orders(order_ids=ids)

    assert set(first) <= set(ids)
    assert backlog[-1].pk not in first
    # Orders still waiting for stock get a new decision; nothing else changes
    assert all(d.outcome == "unrouted" for d in second.values())
    after = _state(backlog)
    assert after["fulfillment_orders"] == state["fulfillment_orders"]
    assert after["stock"] == state["stock"]
    assert after["network"] == state["network"]
    assert_stock_consistent()
    assert_commitments_match_orders()


def _orders_for_batch(products, count):
    return [place([(products[i % 3], 1), (products[(i + 1) % 3], 2)]) for i in range(count)]


def test_a_batch_costs_the_same_queries_whatever_its_size(network, products, method):
    for product in products:
        for code in ("NWK", "DAL", "RNO"):
            receive(network[code], product, 200)
    small = _orders_for_batch(products, 3)
    large = _orders_for_batch(products, 30)

    with CaptureQueriesContext(connection) as three:
        route_orders(order_ids=[o.pk for o in small])
    with CaptureQueriesContext(connection) as thirty:
        decisions = route_orders(order_ids=[o.pk for o in large])

    assert len(decisions) == 30
    assert all(d.outcome == "routed" for d in decisions.values())
    # Savepoint; the orders locked, their holds, lines and fulfillment orders; lines
    # given back, rules, candidate stock and its locations, capacity; network rows,
    # locations and stock rows locked; the ledger, stock rows and network written, the
    # lines and orders updated; two grouped inserts; release
    assert len(thirty.captured_queries) == len(three.captured_queries) == 21
    assert Order.objects.filter(status=OrderStatus.PROCESSING).count() == 33


def test_one_broken_order_does_not_hold_back_its_batch(network, products, method, caplog):
    a, b, _ = products
    receive(network["NWK"], a, 10)
    receive(network["NWK"], b, 10)
    good = [place([(a, 1)]), place([(a, 2)])]
    broken = place([(b, 2)])
    NetworkStock.objects.filter(product=b).update(committed=0)  # its commitment was lost

    with caplog.at_level(logging.WARNING, logger="fulfillment.routing"):
        assert route_backlog(order_ids=[good[0].pk, broken.pk, good[1].pk]) == 2

    assert all(FulfillmentOrder.objects.filter(order=o).exists() for o in good)
    assert not FulfillmentOrder.objects.filter(order=broken).exists()
    assert not RoutingDecision.objects.filter(order=broken).exists()
    assert broken.lines.get().quantity_allocated == 0
    assert f"route_backlog: order {broken.pk} could not be routed" in caplog.text


def test_a_message_of_many_routing_events_is_routed_as_one_batch(
    network, products, method, settings
):
    settings.OMS_AUTO_ROUTE = True
    for product in products:
        receive(network["NWK"], product, 100)
    orders = _orders_for_batch(products, 12)
    events = list(
        OutboxEvent.objects.filter(
            topic="order.placed", payload__order_id__in=[o.pk for o in orders]
        )
    )
    assert len(events) == 12

    with CaptureQueriesContext(connection) as ctx:
        route_order_event.apply(args=[[e.pk for e in events]]).get()

    assert RoutingDecision.objects.filter(outcome="routed").count() == 12
    assert len(ctx.captured_queries) < 30  # one batch, not twelve routings


@pytest.mark.django_db(transaction=True)
@pytest.mark.concurrency
def test_concurrent_batches_on_the_same_skus_neither_deadlock_nor_double_allocate(
    network, products, method
):
    # Given four batches of orders over the same SKUs listed in different orders, and
    # less stock at the nearest location than they all want
    skus = [*products, *(ProductFactory() for _ in range(3))]
    for index, product in enumerate(skus):
        receive(network["NWK"], product, 20 + index)
        receive(network["DAL"], product, 40)
    orders = [
        place([(skus[(i * 5 + k) % 6], 1 + (i + k) % 3) for k in range(3)]) for i in range(48)
    ]
    ids = [o.pk for o in orders]
    batches = [ids[i::4] for i in range(4)]
    deadlocks = _deadlocks()

    results = run_together(
        [lambda batch=batch: route_backlog(order_ids=batch, batch_size=6) for batch in batches]
    )

    assert not [r for r in results if isinstance(r, BaseException)]
    assert _deadlocks() == deadlocks
    assert sum(results) == 48
    for level in StockLevel.objects.all():
        assert 0 <= level.allocated <= level.on_hand
    assert_stock_consistent()
    assert_commitments_match_orders()
    for order in Order.objects.filter(pk__in=ids).prefetch_related("lines"):
        for line in order.lines.all():
            units = sum(
                fl.quantity for fl in line.fulfillment_lines.all() if fl.quantity_cancelled == 0
            )
            assert units == line.quantity_allocated <= line.quantity_ordered


def _deadlocks() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()")
        return cursor.fetchone()[0]
