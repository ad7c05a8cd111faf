"""Fixtures of the order-capture acceptance tests (B2B API). Those it shares with
``tests/orders`` come from ``tests/ordering.py``."""

from decimal import Decimal

import pytest
from django.core.cache import caches
from rest_framework.test import APIClient

from core import refcache
from customers.api_keys import create_api_key
from orders.models import TaxRate
from shipping.models import ServiceLevel
from tests.factories import (
    CompanyFactory,
    CustomerFactory,
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
def tax(db):
    """Sales tax differs by destination: New York and California."""
    return {
        "NY": TaxRate.objects.create(country="US", region="NY", rate=Decimal("0.08875")),
        "CA": TaxRate.objects.create(country="US", region="CA", rate=Decimal("0.07250")),
    }


@pytest.fixture
def company(db):
    return CompanyFactory(credit_limit=Decimal("1000000"))


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
