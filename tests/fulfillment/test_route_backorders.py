"""The scheduled backorder run: each order on its own, one run at a time, and within a
budget."""

import logging
import threading

import pytest
from django.db import connection
from django.test import override_settings

from fulfillment.models import FulfillmentOrder, RoutingDecision
from fulfillment.routing import backorder_run_lock, route_backorders
from fulfillment.tasks import route_backorders as route_backorders_task
from inventory.models import NetworkStock
from tests.factories import ProductFactory

from .conftest import place, receive


@pytest.fixture
def waiting(network, products, method):
    """Three orders, each of its own SKU, waiting for stock that has now arrived."""
    orders = []
    for product in products:
        product.allow_backorder = True
        product.save()
        orders.append(place([(product, 2)]))
    for product in products:
        receive(network["DAL"], product, 5)
    return orders


def routed(order) -> bool:
    return FulfillmentOrder.objects.filter(order=order).exists()


def test_one_broken_order_is_logged_and_skipped_and_the_others_are_routed(
    network, method, waiting, caplog
):
    # Given a fourth waiting order whose SKU's network commitment was lost (routing it
    # fails: its commitment cannot go below zero), between the others
    broken_product = ProductFactory()
    receive(network["NWK"], broken_product, 5)
    broken = place([(broken_product, 2)])
    NetworkStock.objects.filter(product=broken_product).update(committed=0)

    # When the run goes through them
    with caplog.at_level(logging.ERROR, logger="fulfillment.routing"):
        assert route_backorders() == 3

    # Then the three are routed, the broken one is left as it was and logged
    assert all(routed(order) for order in waiting)
    assert not routed(broken)
    assert not RoutingDecision.objects.filter(order=broken).exists()
    assert broken.lines.get().quantity_allocated == 0
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR] == [
        f"route_backorders: order {broken.pk} could not be routed"
    ]


def test_a_second_run_while_one_is_going_does_nothing(waiting):
    # Given a run in progress in another process (it holds the run lock)
    holding, done = threading.Event(), threading.Event()

    def run_elsewhere():
        try:
            with backorder_run_lock() as acquired:
                assert acquired
                holding.set()
                done.wait(30)
        finally:
            connection.close()

    other = threading.Thread(target=run_elsewhere, daemon=True)
    other.start()
    assert holding.wait(30)
    try:
        # When the beat starts another, it does nothing
        assert route_backorders_task.apply().get() == 0
        assert not any(routed(order) for order in waiting)
        assert not RoutingDecision.objects.exists()
    finally:
        done.set()
        other.join(30)

    # Then once the first has ended, the next run does the work
    assert route_backorders() == 3
    assert all(routed(order) for order in waiting)


def test_the_order_budget_stops_a_run_and_the_next_runs_carry_on(waiting):
    with override_settings(OMS_ROUTE_BACKORDERS_MAX_ORDERS=2):
        assert route_backorders() == 2
        assert sum(routed(order) for order in waiting) == 2
        assert route_backorders() == 1
    assert all(routed(order) for order in waiting)


def test_the_time_budget_stops_a_run_after_its_first_order(waiting):
    # With no time at all, each run still makes progress: one order, then it stops
    with override_settings(OMS_ROUTE_BACKORDERS_SECONDS=0):
        assert route_backorders() == 1
        assert sum(routed(order) for order in waiting) == 1
        assert route_backorders() == 1
        assert route_backorders() == 1
    assert all(routed(order) for order in waiting)
