"""Fixtures of the order-capture acceptance tests (B2B API). Copied from
``tests/capture/conftest.py`` where they overlap, so the two suites stay independent."""

from decimal import Decimal

import pytest
from django.core.cache import caches
from rest_framework.test import APIClient

from customers.api_keys import create_api_key
from fulfillment.models import ServiceLevel
from inventory import services as stock
from oms.core import refcache
from orders.models import TaxRate
from tests.factories import (
    CompanyFactory,
    CustomerFactory,
    LocationFactory,
    ProductFactory,
    ShippingMethodFactory,
)


@pytest.fixture(autouse=True)
def _fresh_process_state():
    """Per-process state survives between tests: the reference cache (shipping
    methods, tax rates by primary key) and the caches, the throttle counters included."""
    refcache.clear()
    for cache in caches.all():
        cache.clear()
    yield
    refcache.clear()
    for cache in caches.all():
        cache.clear()


def api_client(raw_key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    return client


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
def ca_address():
    return {
        "name": "Sam Buyer",
        "line1": "1 Dr Carlton B Goodlett Pl",
        "city": "San Francisco",
        "region": "CA",
        "postal_code": "94102",
        "country": "US",
        "phone": "+1 415 555 0100",
    }


@pytest.fixture
def standard(db):
    return ShippingMethodFactory()


@pytest.fixture
def express(db):
    return ShippingMethodFactory(
        code="EXPRESS",
        name="Express",
        service_level=ServiceLevel.EXPRESS,
        transit_days_min=1,
        transit_days_max=2,
        price=Decimal("15.00"),
    )


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
def tax(db):
    """Sales tax differs by destination: New York and California."""
    return {
        "NY": TaxRate.objects.create(country="US", region="NY", rate=Decimal("0.08875")),
        "CA": TaxRate.objects.create(country="US", region="CA", rate=Decimal("0.07250")),
    }


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
def company(db):
    return CompanyFactory(credit_limit=Decimal("1000000"))


@pytest.fixture
def buyer(company):
    return CustomerFactory(company=company, company_role="buyer")


@pytest.fixture
def issued_key(buyer, company):
    return create_api_key(company=company, name="erp")


@pytest.fixture
def api(issued_key):
    return api_client(issued_key.raw_key)


@pytest.fixture
def company_b(db):
    return CompanyFactory(credit_limit=Decimal("1000000"))


@pytest.fixture
def api_b(company_b):
    CustomerFactory(company=company_b, company_role="buyer")
    return api_client(create_api_key(company=company_b, name="erp-b").raw_key)
