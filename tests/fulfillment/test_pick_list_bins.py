"""Bins on stock levels: edited on the stock level page (nothing else on it), and the
pick list walks them in order."""

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.template.loader import render_to_string
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from fulfillment.documents import pick_list_context, pick_list_pdf
from inventory.models import StockLevel
from tests.admin.test_fulfillment_work import place_and_route, receive
from tests.factories import (
    CarrierFactory,
    LocationFactory,
    ProductFactory,
    ShippingMethodFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def warehouse(db):
    CarrierFactory(code="SIM", name="Simulated Carrier")
    ShippingMethodFactory()
    return LocationFactory(code="NWK1", name="Newark DC")


@pytest.fixture
def products(warehouse):
    made = {
        sku: ProductFactory(sku=sku, name=f"Item {sku}")
        for sku in ("AAA-1", "BBB-2", "CCC-3", "DDD-4")
    }
    for product in made.values():
        receive(warehouse, product, 20)
    bins = {"AAA-1": "C-01-1", "BBB-2": "A-02-3", "CCC-3": "", "DDD-4": "A-01-1"}
    for sku, bin_location in bins.items():
        StockLevel.objects.filter(location=warehouse, product=made[sku]).update(
            bin_location=bin_location
        )
    return made


def test_the_pick_list_walks_the_bins_in_order(warehouse, products):
    p = products
    _, first = place_and_route([(p["AAA-1"], 1), (p["BBB-2"], 2), (p["CCC-3"], 1)])
    _, second = place_and_route([(p["DDD-4"], 3), (p["AAA-1"], 2)])

    context = pick_list_context(warehouse)

    totals = [(r.bin_location, r.sku, r.quantity) for r in context["totals"]]
    # By bin; the SKU without a bin last.
    assert totals == [
        ("A-01-1", "DDD-4", 3),
        ("A-02-3", "BBB-2", 2),
        ("C-01-1", "AAA-1", 3),
        ("", "CCC-3", 1),
    ]
    blocks = {b["fo"].pk: [(r.bin_location, r.sku) for r in b["lines"]] for b in context["blocks"]}
    assert blocks[first.pk] == [("A-02-3", "BBB-2"), ("C-01-1", "AAA-1"), ("", "CCC-3")]
    assert blocks[second.pk] == [("A-01-1", "DDD-4"), ("C-01-1", "AAA-1")]
    html = render_to_string("fulfillment/pick_list.html", context)
    assert "<th>Bin</th>" in html
    assert html.index("A-01-1") < html.index("A-02-3") < html.index("C-01-1")
    assert "no bin" in html
    assert pick_list_pdf(warehouse).startswith(b"%PDF")


def test_the_pick_list_reads_the_bins_in_one_query_however_many_orders(warehouse, products):
    p = products
    place_and_route([(p["AAA-1"], 1)])

    def count() -> int:
        with CaptureQueriesContext(connection) as captured:
            pick_list_context(warehouse)
        return len(captured)

    few = count()
    for _ in range(5):
        place_and_route([(p["BBB-2"], 1), (p["DDD-4"], 1)])

    # Fulfillment orders, their lines, the order lines, the bins.
    assert count() == few == 4


def test_a_bin_is_edited_on_the_stock_level_page_and_nothing_else(admin_client, warehouse):
    product = ProductFactory(sku="MUG-1")
    receive(warehouse, product, 5)
    level = StockLevel.objects.get(location=warehouse, product=product)
    url = reverse("admin:inventory_stocklevel_change", args=[level.pk])

    page = admin_client.get(url)
    response = admin_client.post(
        url, {"bin_location": "  b-04   2 ", "on_hand": "999", "allocated": "3"}
    )

    assert page.status_code == 200
    assert 'name="bin_location"' in page.content.decode()
    assert 'name="on_hand"' not in page.content.decode()
    assert response.status_code == 302
    level.refresh_from_db()
    assert level.bin_location == "B-04 2"
    assert (level.on_hand, level.allocated) == (5, 0)
    listed = admin_client.get(reverse("admin:inventory_stocklevel_changelist"))
    assert "B-04 2" in listed.content.decode()


def test_a_warehouse_user_without_the_permission_cannot_change_a_bin(client, warehouse):
    product = ProductFactory(sku="MUG-2")
    receive(warehouse, product, 5)
    level = StockLevel.objects.get(location=warehouse, product=product)
    url = reverse("admin:inventory_stocklevel_change", args=[level.pk])
    user = UserFactory(username="picker")
    user.groups.add(Group.objects.get(name="warehouse"))
    client.force_login(user)

    response = client.post(url, {"bin_location": "Z-99"})

    assert response.status_code == 403
    level.refresh_from_db()
    assert level.bin_location == ""
