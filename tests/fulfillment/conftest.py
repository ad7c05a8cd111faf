from decimal import Decimal

import pytest

from core import refcache
from core.actors import Actor
from core.geo import coordinates_for_postal_code
from fulfillment.models import FulfillmentOrder
from fulfillment.routing import route_order
from inventory import services as stock
from orders.placement import LineRequest, OrderRequest, place_order
from tests.factories import (
    CarrierFactory,
    CustomerFactory,
    LocationFactory,
    ProductFactory,
    ShippingMethodFactory,
)

SYSTEM = Actor.system("routing test")

# Real places: the customer is in Manhattan.
NEW_YORK = {"postal_code": "10001", "city": "New York", "region": "NY"}
NEWARK = {"postal_code": "07102", "city": "Newark", "region": "NJ"}
DALLAS = {"postal_code": "75201", "city": "Dallas", "region": "TX"}
RENO = {"postal_code": "89502", "city": "Reno", "region": "NV"}


@pytest.fixture(autouse=True)
def _fresh_cache():
    refcache.clear()
    yield
    refcache.clear()


def make_location(code, place, **kwargs):
    lat, lng = coordinates_for_postal_code("US", place["postal_code"])
    return LocationFactory(
        code=code, latitude=lat, longitude=lng, line1="1 Dock Rd", country="US", **place, **kwargs
    )


@pytest.fixture
def network(db):
    """Three warehouses: Newark (near), Dallas, Reno (far)."""
    return {
        "NWK": make_location("NWK", NEWARK),
        "DAL": make_location("DAL", DALLAS),
        "RNO": make_location("RNO", RENO),
    }


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
