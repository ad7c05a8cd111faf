from decimal import Decimal

import pytest

from core import refcache
from orders.models import TaxRate
from tests.factories import (
    CompanyFactory,
    CustomerFactory,
)


@pytest.fixture(autouse=True)
def _fresh_reference_cache():
    refcache.clear()
    yield
    refcache.clear()


@pytest.fixture
def tax(db):
    return TaxRate.objects.create(country="US", region="NY", rate=Decimal("0.08875"))


@pytest.fixture
def customer(db):
    return CustomerFactory()


@pytest.fixture
def company(db):
    return CompanyFactory(credit_limit=Decimal("100000"))
