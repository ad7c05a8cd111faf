"""Console search: one box finds by whatever the agent has, never duplicate rows; an
exact order number opens the order."""

import pytest
from django.db import connection
from django.urls import reverse

from core.money import format_money
from inventory import services as inventory_services
from orders import services as order_services
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
    [
        "buyer@example.com",
        "BUYER@example.com",
        "+1 775 555 0100",
        "775-555-0100",
        "7755550100",
        "PO-4411",
        "po-4411",
        "mug-blue",
    ],
)
def test_order_search_finds_by_each_indexed_column(admin_client, orders, term):
    target, _ = orders

    assert _found(admin_client, "orders_order_changelist", term) == [target]


@pytest.mark.parametrize("form", ["{number}", "{lower}", "{digits}", "so{digits}"])
def test_an_exact_order_number_opens_the_order(admin_client, orders, form):
    target, _ = orders
    digits = target.number.removeprefix("SO-")
    term = form.format(number=target.number, lower=target.number.lower(), digits=digits)

    response = admin_client.get(reverse("admin:orders_order_changelist"), {"q": term})

    assert response.status_code == 302
    assert response["Location"] == reverse("admin:orders_order_change", args=[target.pk])


def test_an_order_number_in_a_lookup_popup_lists_it_instead(admin_client, orders):
    target, _ = orders
    response = admin_client.get(
        reverse("admin:orders_order_changelist"), {"q": target.number, "_popup": "1"}
    )

    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [target]


def test_order_search_without_a_match_is_empty(admin_client, orders):
    assert _found(admin_client, "orders_order_changelist", "SO-0000000") == []
    assert _found(admin_client, "orders_order_changelist", "nobody at all") == []


def test_a_customers_phone_finds_all_their_orders(admin_client, db):
    buyer = CustomerFactory(first_name="José", last_name="García", phone="+13035550189")
    theirs = {OrderFactory(customer=buyer, lines=0) for _ in range(14)}
    OrderFactory(lines=0)

    for term in ("303-555-0189", "3035550189", "+1 303 555 0189"):
        assert set(_found(admin_client, "orders_order_changelist", term)) == theirs


def test_the_order_list_shows_total_created_and_on_hold(admin_client, operator):
    held = OrderFactory(lines=1)
    order_services.place_hold(order=held, kind="manual", reason="check", actor=operator)
    free = OrderFactory(lines=1)

    response = admin_client.get(reverse("admin:orders_order_changelist"))

    rows = {order.pk: order for order in response.context["cl"].result_list}
    assert (rows[held.pk].has_open_hold, rows[free.pk].has_open_hold) == (True, False)
    page = response.content.decode()
    for header in ("column-total", "column-created", "column-on_hold"):
        assert header in page
    assert format_money(held.grand_total, held.currency) in page


@pytest.fixture
def buyers(db):
    company = CompanyFactory(account_number="ACME77", name="Société Générale des Tasses")
    buyer = CustomerFactory(
        email="Jo.Garcia@Example.com",
        first_name="José",
        last_name="García",
        phone="+17755550123",
        company=company,
        company_role="buyer",
    )
    CustomerFactory(first_name="Zed", last_name="Quinn", email="zed@q.example", phone="")
    return buyer


@pytest.mark.parametrize(
    "term",
    [
        "jo.garcia@example.COM",
        "garcia@exa",
        "+17755550123",
        "775-555-0123",
        "(775) 555 0123",
        "acme77",
        "García",
        "josé garc",
        "SOCIÉTÉ",
    ],
)
def test_customer_search_by_name_email_phone_or_company(admin_client, buyers, term):
    assert _found(admin_client, "customers_customer_changelist", term) == [buyers]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite has no unaccent")
@pytest.mark.parametrize("term", ["jose garcia", "GARCIA", "societe generale"])
def test_customer_search_ignores_accents(admin_client, buyers, term):
    assert _found(admin_client, "customers_customer_changelist", term) == [buyers]


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
