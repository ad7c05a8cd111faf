"""Fixtures shared by the order-capture suites (the services in ``tests/orders`` and the
B2B API in ``tests/api``): a New York ship-to address, the standard and pickup methods, a
stocked warehouse and a company's buyer. Each suite's conftest imports them; what differs
between the suites (the company's credit limit, the tax rates) stays in its conftest."""

from decimal import Decimal

import pytest

from inventory import services as stock
from shipping.models import ServiceLevel
from tests.factories import (
    CustomerFactory,
    LocationFactory,
    ProductFactory,
    ShippingMethodFactory,
)


@pytest.fixture
def address():
    return {
        "name": "Pat Buyer",
        "line1": "350 Fifth Avenue",
        "city": "New York",
        "region": "NY",
        "postal_code": "10118",
        "country": "US",
        "phone": "+1 212 555 0100",
    }


@pytest.fixture
def standard(db):
    return ShippingMethodFactory()


@pytest.fixture
def pickup_method(db):
    return ShippingMethodFactory(
        code="PICKUP",
        name="Store pickup",
        service_level=ServiceLevel.PICKUP,
        carrier=None,
        transit_days_min=0,
        transit_days_max=0,
        price=Decimal("0"),
    )


@pytest.fixture
def warehouse(db):
    return LocationFactory(code="WH-NJ", postal_code="07001")


@pytest.fixture
def stocked(warehouse, system_actor):
    """Three SKUs at 10.00 with 100 units each at one warehouse."""
    products = [ProductFactory(list_price=Decimal("10.00")) for _ in range(3)]
    for product in products:
        stock.receive_stock(location=warehouse, product=product, quantity=100, actor=system_actor)
    return products


@pytest.fixture
def buyer(company):
    """A buyer of the suite's ``company``."""
    return CustomerFactory(company=company, company_role="buyer")
