"""Console search: exact values on indexed columns, never duplicate rows."""

import pytest
from django.urls import reverse

from inventory import services as inventory_services
from tests.admin.factories import OrderFactory, OrderLineFactory
from tests.factories import CompanyFactory, CustomerFactory, LocationFactory, ProductFactory

pytestmark = pytest.mark.django_db


def _found(client, url_name: str, term: str) -> list:
    response = client.get(reverse(f"admin:{url_name}"), {"q": term})
    assert response.status_code == 200
    return list(response.context["cl"].result_list)


@pytest.fixture
def orders(db):
    company = CompanyFactory()
    buyer = CustomerFactory(email="Buyer@Example.com", company=company, company_role="buyer")
    target = OrderFactory(
        customer=buyer,
        company=company,
        email="buyer@example.com",
        ship_phone="+1 775 555 0100",
        po_number="PO-4411",
        lines=0,
    )
    mug = ProductFactory(sku="MUG-BLUE")
    # The same SKU on two lines must still find the order once.
    OrderLineFactory(order=target, line_number=1, product=mug)
    OrderLineFactory(order=target, line_number=2, product=mug)
    other = OrderFactory(lines=1)
    return target, other


@pytest.mark.parametrize(
    "term",
    ["number", "buyer@example.com", "BUYER@example.com", "+1 775 555 0100", "PO-4411", "mug-blue"],
)
def test_order_search_finds_by_each_indexed_column(admin_client, orders, term):
    target, _ = orders
    term = target.number.lower() if term == "number" else term

    assert _found(admin_client, "orders_order_changelist", term) == [target]


def test_order_search_without_a_match_is_empty(admin_client, orders):
    assert _found(admin_client, "orders_order_changelist", "SO-0000000") == []


def test_customer_search_by_email_any_case_phone_or_account(admin_client, db):
    company = CompanyFactory(account_number="ACME77")
    buyer = CustomerFactory(
        email="Jo@Example.com", phone="+17755550123", company=company, company_role="buyer"
    )
    CustomerFactory()

    assert _found(admin_client, "customers_customer_changelist", "jo@example.COM") == [buyer]
    assert _found(admin_client, "customers_customer_changelist", "+17755550123") == [buyer]
    assert _found(admin_client, "customers_customer_changelist", "acme77") == [buyer]


def test_stock_level_search_by_sku_or_location(admin_client, operator):
    rno, sfo = LocationFactory(code="RNO1"), LocationFactory(code="SFO1")
    mug, cup = ProductFactory(sku="MUG-RED"), ProductFactory(sku="CUP-RED")
    for location in (rno, sfo):
        for product in (mug, cup):
            inventory_services.receive_stock(
                location=location, product=product, quantity=1, actor=operator
            )

    by_sku = _found(admin_client, "inventory_stocklevel_changelist", "mug-red")
    by_location = _found(admin_client, "inventory_stocklevel_changelist", "sfo1")

    assert {(lvl.location.code, lvl.product.sku) for lvl in by_sku} == {
        ("RNO1", "MUG-RED"),
        ("SFO1", "MUG-RED"),
    }
    assert {(lvl.location.code, lvl.product.sku) for lvl in by_location} == {
        ("SFO1", "MUG-RED"),
        ("SFO1", "CUP-RED"),
    }


def test_ledger_search_by_reference(admin_client, stocked_level, operator):
    inventory_services.receive_stock(
        location=stocked_level.location,
        product=stocked_level.product,
        quantity=2,
        actor=operator,
        reference="ASN-9",
    )

    found = _found(admin_client, "inventory_stockmovement_changelist", "ASN-9")

    assert [(m.reference, m.delta) for m in found] == [("ASN-9", 2)]
