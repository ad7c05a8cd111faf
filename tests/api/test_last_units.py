"""Zero oversell: 200 buyers race for the last 50 units of a SKU spread over three
locations; exactly 50 win, the others get 409 ``insufficient_stock``."""

from collections import Counter

import pytest

from inventory import services as stock
from inventory.models import NetworkStock, StockLevel
from orders.models import Order, OrderLine, OrderStatus
from tests.factories import LocationFactory, ProductFactory

from .conftest import api_client
from .support import (
    assert_commitments_match_orders,
    assert_ledger_reconciles,
    open_demand_by_product,
    order_body,
    post_order,
    run_together,
)

BUYERS = 200
UNITS = {"WH-EAST": 20, "WH-WEST": 20, "ST-NYC": 10}

pytestmark = [pytest.mark.concurrency, pytest.mark.django_db(transaction=True)]


def test_200_buyers_for_the_last_50_units(issued_key, address, standard, tax, system_actor):
    product = ProductFactory()
    for code, quantity in UNITS.items():
        stock.receive_stock(
            location=LocationFactory(code=code),
            product=product,
            quantity=quantity,
            actor=system_actor,
        )
    last = sum(UNITS.values())
    assert NetworkStock.objects.get(product=product).available == last

    def buy(buyer: int):
        def call():
            response = post_order(
                api_client(issued_key.raw_key),
                order_body([(product.sku, 1)], address, po_number=f"PO-{buyer}"),
                f"buyer-{buyer}",
            )
            return response.status_code, response.json()

        return call

    results = run_together([buy(n) for n in range(BUYERS)], timeout=120)

    errors = [r for r in results if isinstance(r, BaseException)]
    assert errors == []
    statuses = Counter(status for status, _ in results)
    assert statuses == {201: last, 409: BUYERS - last}
    assert {body["code"] for status, body in results if status == 409} == {"insufficient_stock"}
    assert Order.objects.filter(status=OrderStatus.PLACED).count() == last
    assert Order.objects.count() == last
    assert OrderLine.objects.filter(product=product).count() == last
    won = {body["po_number"] for status, body in results if status == 201}
    assert set(Order.objects.values_list("po_number", flat=True)) == won
    network = NetworkStock.objects.get(product=product)
    assert (network.available, network.committed) == (last, last)
    assert open_demand_by_product() == {product.pk: last}
    assert_commitments_match_orders()
    assert sorted(StockLevel.objects.values_list("on_hand", flat=True)) == sorted(UNITS.values())
    assert_ledger_reconciles()


def test_buyers_of_two_skus_in_either_line_order_neither_deadlock_nor_oversell(
    issued_key, address, standard, warehouse, system_actor
):
    """Orders lock their SKUs' network rows in product-id order, whatever the order of
    their lines, so buyers of A+B and of B+A wait for each other but never in a cycle."""
    first, second = ProductFactory(), ProductFactory()
    for product in (first, second):
        stock.receive_stock(location=warehouse, product=product, quantity=30, actor=system_actor)

    def buy(buyer: int):
        pair = (first, second) if buyer % 2 else (second, first)

        def call():
            response = post_order(
                api_client(issued_key.raw_key),
                order_body([(p.sku, 1) for p in pair], address),
                f"pair-{buyer}",
            )
            return response.status_code, response.json()

        return call

    results = run_together([buy(n) for n in range(80)], timeout=120)

    assert [r for r in results if isinstance(r, BaseException)] == []
    assert Counter(status for status, _ in results) == {201: 30, 409: 50}
    assert {body["code"] for status, body in results if status == 409} == {"insufficient_stock"}
    assert list(NetworkStock.objects.order_by("pk").values_list("available", "committed")) == [
        (30, 30),
        (30, 30),
    ]
    assert_commitments_match_orders()
