"""Orders placed, routed and shipped through the real services, for the billing tests."""

from collections.abc import Sequence
from decimal import Decimal

import pytest

from core import refcache
from core.actors import Actor
from customers.models import Company, Customer
from fulfillment.models import FulfillmentOrder, Shipment
from fulfillment.operations import ship_fulfillment_order
from fulfillment.routing import route_order
from inventory import services as stock
from inventory.models import Product
from orders.models import Order, TaxRate
from orders.placement import LineRequest, OrderRequest, place_order
from tests.factories import (
    CarrierFactory,
    CompanyFactory,
    CustomerFactory,
    LocationFactory,
    ProductFactory,
    ShippingMethodFactory,
)

SYSTEM = Actor.system("billing test")
NEW_YORK = {"postal_code": "10001", "city": "New York", "region": "NY"}


@pytest.fixture(autouse=True)
def _fresh_cache():
    refcache.clear()
    yield
    refcache.clear()


@pytest.fixture
def warehouse(db):
    return LocationFactory(
        code="NWK",
        line1="1 Dock Rd",
        city="Newark",
        postal_code="07102",
        region="NJ",
        latitude=Decimal("40.7357"),
        longitude=Decimal("-74.1724"),
    )


@pytest.fixture
def shop(db, warehouse):
    """A carrier, the standard method ($5.00) and New York's tax (8.875 %, shipping
    taxed)."""
    CarrierFactory(code="SIM", name="Simulated Carrier")
    ShippingMethodFactory(price=Decimal("5.00"))
    TaxRate.objects.create(country="US", region="NY", rate=Decimal("0.08875"), taxes_shipping=True)
    return warehouse


def make_products(warehouse, prices: Sequence[Decimal], stock_each: int = 100) -> list[Product]:
    products = [ProductFactory(list_price=price) for price in prices]
    for product in products:
        stock.receive_stock(location=warehouse, product=product, quantity=stock_each, actor=SYSTEM)
    return products


def company_buyer(terms: str = "net30") -> Customer:
    company: Company = CompanyFactory(payment_terms=terms, credit_limit=Decimal("1000000"))
    return CustomerFactory(company=company, company_role="buyer")


def place_routed(
    lines: Sequence[tuple[Product, int]], customer: Customer | None = None, **kwargs
) -> tuple[Order, FulfillmentOrder]:
    order = place_order(
        request=OrderRequest(
            customer=customer or CustomerFactory(),
            channel="web",
            shipping_method_code="STANDARD",
            shipping_address={
                "name": "Pat",
                "line1": "350 Fifth Avenue",
                "country": "US",
                **NEW_YORK,
            },
            lines=[LineRequest(sku=p.sku, quantity=q) for p, q in lines],
            **kwargs,
        ),
        actor=SYSTEM,
    ).order
    route_order(order_id=order.pk)
    return order, FulfillmentOrder.objects.get(order=order)


def ship(fo: FulfillmentOrder, quantities: dict[int, int] | None = None) -> Shipment:
    """Ship units of ``fo``: {product id: units}, or everything open."""
    by_fo_line = None
    if quantities is not None:
        by_fo_line = {
            line.pk: quantities[line.order_line.product_id]
            for line in fo.lines.select_related("order_line")
            if quantities.get(line.order_line.product_id)
        }
    return ship_fulfillment_order(fo_id=fo.pk, actor=SYSTEM, quantities=by_fo_line)
