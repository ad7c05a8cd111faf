"""Random sequences of place / route / ship / reject / cancel keep every counter equal
to its ledger and every commitment accounted for."""

from collections import defaultdict

import pytest
from django.db import transaction
from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.errors import DomainError
from fulfillment import operations as ops
from fulfillment.changes import cancel_order
from fulfillment.models import FulfillmentOrder, FulfillmentStatus
from fulfillment.routing import route_order
from inventory.models import NetworkStock, StockBucket, StockLevel, StockMovement
from orders.models import Order, OrderStatus
from tests.factories import CarrierFactory

from .conftest import SYSTEM, place, receive

pytestmark = pytest.mark.django_db

operation = st.one_of(
    st.tuples(
        st.just("place"),
        st.lists(st.tuples(st.integers(0, 2), st.integers(1, 6)), min_size=1, max_size=3),
    ),
    st.tuples(st.just("route"), st.integers(0, 20)),
    st.tuples(st.just("ship"), st.integers(0, 20)),
    st.tuples(st.just("reject"), st.integers(0, 20)),
    st.tuples(st.just("cancel"), st.integers(0, 20)),
    st.tuples(st.just("receive"), st.tuples(st.integers(0, 2), st.integers(0, 2))),
)


def check_invariants(products, locations):
    for level in StockLevel.objects.filter(product__in=products):
        sums = dict(
            StockMovement.objects.filter(stock_level=level)
            .values_list("bucket")
            .annotate(total=Sum("delta"))
        )
        for bucket in StockBucket.values:
            assert getattr(level, bucket) == sums.get(bucket, 0), (level, bucket)
        assert level.allocated + level.reserved <= level.on_hand
    for product in products:
        network = NetworkStock.objects.get(product=product)
        levels = StockLevel.objects.filter(product=product, location__is_active=True)
        assert network.available == sum(lv.available_to_promise for lv in levels)
        committed = 0
        allocated_by_orders = 0
        for order in Order.objects.filter(status__in=[OrderStatus.PLACED, OrderStatus.PROCESSING]):
            for line in order.lines.filter(product=product):
                committed += line.quantity_open - line.quantity_backordered
        for order in Order.objects.all():
            for line in order.lines.filter(product=product):
                allocated_by_orders += line.quantity_allocated
        assert network.committed == committed
        assert allocated_by_orders == sum(lv.allocated for lv in levels)


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(operation, min_size=1, max_size=12))
def test_random_lifecycles_keep_ledger_and_commitments_exact(network, products, method, steps):
    locations = [network["NWK"], network["DAL"], network["RNO"]]
    for product in products:
        product.allow_backorder = True
        product.save()
    # Each example runs in a savepoint that is rolled back, so examples start equal.
    with transaction.atomic():
        CarrierFactory(code="SIM")
        for location in locations:
            for product in products:
                receive(location, product, 3)
        run(steps, products, locations)
        check_invariants(products, locations)
        transaction.set_rollback(True)


def run(steps, products, locations):
    orders: list[Order] = []
    for kind, arg in steps:
        try:
            if kind == "place":
                wanted = defaultdict(int)
                for index, quantity in arg:
                    wanted[products[index]] += quantity
                orders.append(place(list(wanted.items())))
            elif kind == "receive":
                receive(locations[arg[0]], products[arg[1]], 4)
            elif orders:
                order = orders[arg % len(orders)]
                if kind == "route":
                    route_order(order_id=order.pk)
                elif kind == "cancel":
                    cancel_order(order_id=order.pk, reason="test", actor=SYSTEM)
                else:
                    fo = FulfillmentOrder.objects.filter(
                        order=order,
                        status__in=[FulfillmentStatus.OPEN, FulfillmentStatus.IN_PROGRESS],
                    ).first()
                    if fo is None:
                        continue
                    if kind == "ship":
                        ops.ship_fulfillment_order(fo_id=fo.pk, actor=SYSTEM)
                    else:
                        ops.reject_fulfillment_lines(fo_id=fo.pk, reason="damaged", actor=SYSTEM)
        except DomainError:
            pass
        check_invariants(products, locations)
