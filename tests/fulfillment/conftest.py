from decimal import Decimal

import pytest

from core.actors import Actor
from fulfillment.models import FulfillmentOrder
from fulfillment.routing import route_order
from inventory import services as stock
from orders.placement import LineRequest, OrderRequest, place_order
from tests.factories import (
    CarrierFactory,
    CustomerFactory,
    ProductFactory,
    ShippingMethodFactory,
)
from tests.places import NEW_YORK, NEWARK, make_location

SYSTEM = Actor.system("routing test")

# The places, make_location and the network fixture: tests/places.py.
__all__ = ["NEWARK", "NEW_YORK", "make_location"]


@pytest.fixture(autouse=True)
def _fresh_cache(fresh_reference_cache):
    return fresh_reference_cache


@pytest.fixture
def products(db):
    return [ProductFactory(list_price=Decimal("10")) for _ in range(3)]


@pytest.fixture
def method(db):
    return ShippingMethodFactory()


def receive(location, product, quantity):
    stock.receive_stock(location=location, product=product, quantity=quantity, actor=SYSTEM)


def place(lines, customization=None, **kwargs):
    customer = kwargs.pop("customer", None) or CustomerFactory()
    return place_order(
        request=OrderRequest(
            customer=customer,
            channel="web",
            shipping_method_code=kwargs.pop("shipping_method_code", "STANDARD"),
            shipping_address={
                "name": "Pat",
                "line1": "350 Fifth Avenue",
                "country": "US",
                **NEW_YORK,
            },
            lines=[
                LineRequest(
                    sku=p.sku, quantity=q, customization=(customization or {}).get(p.sku, {})
                )
                for p, q in lines
            ],
            **kwargs,
        ),
        actor=SYSTEM,
    ).order


@pytest.fixture
def sim(db):
    return CarrierFactory(code="SIM", name="Simulated Carrier")


@pytest.fixture
def routed(network, products, method, sim):
    """An order of two SKUs routed to Newark: (order, its one fulfillment order)."""
    a, b = products[:2]
    receive(network["NWK"], a, 10)
    receive(network["NWK"], b, 10)
    order = place([(a, 3), (b, 2)])
    route_order(order_id=order.pk)
    return order, FulfillmentOrder.objects.get(order=order)
