"""The credit exposure rule is stated once (``orders.sql.EXPOSURE_STATUSES``): the
trigger function PostgreSQL runs is the module's text, and every statement that applies
the rule counts exactly those statuses."""

import re
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Sum
from django.utils import timezone

from orders import sql
from orders.models import CompanyExposure, Order, OrderStatus
from tests.admin.factories import OrderFactory
from tests.factories import CompanyFactory, CustomerFactory

RULE = {str(status) for status in sql.EXPOSURE_STATUSES}


def statuses_in(text: str) -> set[str]:
    """Every status an ``IN (…)`` list or ``= ANY (ARRAY[…])`` of ``text`` names."""
    found: set[str] = set()
    for group in re.findall(r"IN \(([^)]*)\)|ARRAY\[([^\]]*)\]", text, re.IGNORECASE):
        found |= set(re.findall(r"'(\w+)'", "".join(group)))
    return found


def fetch_one(statement: str, params: list) -> tuple:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        row = cursor.fetchone()
    assert row is not None, statement
    return row


def test_the_rule_names_statuses_of_orders():
    assert RULE
    assert set(OrderStatus.values) >= RULE
    assert str(OrderStatus.DRAFT) not in RULE


@pytest.mark.django_db
def test_the_database_runs_the_modules_trigger_function():
    # given the migrations applied, when the function's source is read back
    (source,) = fetch_one("SELECT prosrc FROM pg_proc WHERE proname = %s", [sql.EXPOSURE_FUNCTION])
    # then it is the module's text, counting exactly the rule's statuses
    assert source == sql.exposure_function_body()
    assert statuses_in(source) == RULE


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["insert", "update", "delete"])
def test_the_triggers_call_the_function_for_the_rules_statuses(name):
    (definition,) = fetch_one(
        "SELECT pg_get_triggerdef(t.oid) FROM pg_trigger t WHERE t.tgname = %s",
        [f"orders_order_exposure_{name}"],
    )
    assert f"EXECUTE FUNCTION {sql.EXPOSURE_FUNCTION}()" in definition
    assert "DEFERRABLE INITIALLY DEFERRED" in definition
    if name != "update":  # the update trigger fires on any change of the three columns
        assert statuses_in(definition) == RULE


def test_sqlite_sums_the_same_statuses():
    assert statuses_in(sql.sqlite_exposure_sql()) == RULE


@pytest.mark.django_db(transaction=True)
def test_exposure_counts_the_orders_in_the_rules_statuses():
    # given a company with one order in every status
    company = CompanyFactory()
    customer = CustomerFactory(company=company, company_role="buyer")
    orders = {
        status: OrderFactory(
            customer=customer,
            company=company,
            status=status,
            cancelled_at=timezone.now() if status == OrderStatus.CANCELLED else None,
            lines=1,
        )
        for status in OrderStatus.values
    }
    # when the orders have committed (the triggers are deferred to commit)
    kept = CompanyExposure.objects.filter(company=company).aggregate(t=Sum("open_orders_total"))
    # then the kept exposure is what the rule's orders total, and nothing else
    expected = sum((orders[s].grand_total for s in RULE), Decimal("0"))
    assert kept["t"] == expected
    assert expected > 0
    assert sum(o.grand_total for o in orders.values()) > expected
    # and an order leaving the rule's statuses leaves the exposure
    placed = orders[OrderStatus.PLACED]
    Order.objects.filter(pk=placed.pk).update(status=OrderStatus.COMPLETED)
    kept = CompanyExposure.objects.filter(company=company).aggregate(t=Sum("open_orders_total"))
    assert kept["t"] == expected - placed.grand_total
