"""Invariants of order capture under random sequences of placements, cancellations
and edits: network commitments equal the open demand of placed orders, never exceed
availability, and every order's totals add up from its lines. A refused step writes
nothing."""

from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from core.actors import Actor
from core.errors import DomainError
from fulfillment.changes import add_line, cancel_order, change_line_quantity
from inventory import services as stock
from inventory.models import NetworkStock
from orders.models import Order, OrderLine, OrderStatus
from orders.placement import LineRequest, OrderRequest, place_order
from tests.factories import LocationFactory, ProductFactory

from .support import (
    assert_commitments_match_orders,
    assert_ledger_reconciles,
    assert_totals_add_up,
    written,
)

pytestmark = pytest.mark.django_db

ACTOR = Actor.system("property test")
# Few units, so that many steps run short: (units at each of two locations, backorderable).
CATALOGUE = [((3, 3), False), ((4, 0), False), ((2, 1), True)]

sku = st.integers(0, len(CATALOGUE) - 1)
quantity = st.integers(1, 5)
which_order = st.integers(0, 20)
which_line = st.integers(0, 3)
steps = st.lists(
    st.one_of(
        st.tuples(st.just("place"), st.lists(st.tuples(sku, quantity), min_size=1, max_size=3)),
        st.tuples(st.just("cancel"), which_order),
        st.tuples(st.just("cancel_lines"), which_order, which_line, quantity),
        st.tuples(st.just("change_quantity"), which_order, which_line, st.integers(1, 8)),
        st.tuples(st.just("add_line"), which_order, sku, quantity),
    ),
    min_size=1,
    max_size=10,
)


@pytest.fixture
def shop(buyer, address, standard, tax, system_actor):
    locations = [LocationFactory(code="EAST"), LocationFactory(code="WEST")]
    products = []
    for units, backorderable in CATALOGUE:
        product = ProductFactory(list_price=Decimal("7.99"), allow_backorder=backorderable)
        for location, received in zip(locations, units, strict=True):
            if received:
                stock.receive_stock(
                    location=location, product=product, quantity=received, actor=system_actor
                )
        products.append(product)
    return buyer, address, products


def _line_number(order: Order, index: int) -> int:
    numbers = list(order.lines.values_list("line_number", flat=True))
    return numbers[index % len(numbers)]


def _apply(step, orders: list[Order], buyer, address, products) -> None:
    kind, *args = step
    if kind == "place":
        placed = place_order(
            request=OrderRequest(
                customer=buyer,
                channel="b2b_api",
                shipping_method_code="STANDARD",
                shipping_address=address,
                lines=[LineRequest(products[i].sku, q) for i, q in args[0]],
            ),
            actor=ACTOR,
        )
        orders.append(placed.order)
        return
    if not orders:
        return
    order = orders[args[0] % len(orders)]
    if kind == "cancel":
        cancel_order(order_id=order.pk, reason="property test", actor=ACTOR)
    elif kind == "cancel_lines":
        cancel_order(
            order_id=order.pk,
            reason="property test",
            actor=ACTOR,
            lines={_line_number(order, args[1]): args[2]},
        )
    elif kind == "change_quantity":
        change_line_quantity(
            order_id=order.pk,
            line_number=_line_number(order, args[1]),
            quantity=args[2],
            actor=ACTOR,
        )
    else:
        add_line(order_id=order.pk, sku=products[args[1]].sku, quantity=args[2], actor=ACTOR)


def _assert_invariants(products) -> None:
    assert_commitments_match_orders()
    backorderable = {p.pk for p in products if p.allow_backorder}
    for network in NetworkStock.objects.filter(product__in=products):
        # Stock only ever grows here, and backordered units are not committed, so even
        # the backorderable SKU never commits more than is available.
        assert 0 <= network.committed <= network.available
    assert (
        not OrderLine.objects.exclude(product_id__in=backorderable)
        .filter(quantity_backordered__gt=0)
        .exists()
    )
    for order in Order.objects.prefetch_related("lines"):
        assert_totals_add_up(order)
        live = sum(li.quantity_ordered - li.quantity_cancelled for li in order.lines.all())
        assert (order.status == OrderStatus.CANCELLED) == (live == 0)
    assert_ledger_reconciles()


@settings(
    max_examples=50,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=steps)
def test_commitments_and_totals_stay_consistent(shop, steps):
    buyer, address, products = shop
    with transaction.atomic():  # each example starts from the same shop
        orders: list[Order] = []
        for step in steps:
            before = written()
            try:
                _apply(step, orders, buyer, address, products)
            except DomainError as refused:
                event(f"{step[0]}: {refused.code}")
                assert written() == before, f"refused {step} wrote something"
            else:
                event(f"{step[0]}: done")
            _assert_invariants(products)
        transaction.set_rollback(True)
