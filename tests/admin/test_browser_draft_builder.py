"""A sales rep's journey in a real browser (Debian's Chromium, driven by Playwright):
build a B2B draft for a buyer picked by company and name as they type, see the live
availability and price as lines change, fill a product's customization field, save,
edit the saved draft, send it as a quote; then the buyer accepts the quote through the
API and the draft becomes an order.

CI installs the browser with ``apt-get install chromium``; the test is skipped where
it is missing, never downloaded."""

from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from django.core import mail
from django.urls import reverse
from playwright.sync_api import expect
from rest_framework.test import APIClient

from core import refcache
from customers import services as customer_services
from customers.api_keys import create_api_key
from inventory import services as inventory_services
from inventory.models import NetworkStock
from orders.models import Order, OrderStatus, Quote, QuoteStatus
from tests.admin.conftest import needs_chromium
from tests.factories import (
    CompanyFactory,
    CustomerFactory,
    LocationFactory,
    ProductFactory,
    ShippingMethodFactory,
    UserFactory,
)

SHOTS = Path("/tmp/shots-h3")  # noqa: S108 - screenshots to look at while working

pytestmark = [pytest.mark.django_db(transaction=True), needs_chromium]


@pytest.fixture
def seeded(operator):
    """A sales rep; Acme Tools with its buyer Pat (a default ship-to in Reno) and an
    API key; a mug and an engravable mug stocked in Reno."""
    refcache.clear()
    rep = UserFactory(username="rep-browser")
    rep.groups.add(Group.objects.get(name="sales_rep"))
    ShippingMethodFactory()
    warehouse = LocationFactory(code="RNO1")
    products = [
        ProductFactory(sku="MUG-RED", name="Red mug", list_price=Decimal("12.00")),
        ProductFactory(
            sku="MUG-ENGRAVED",
            name="Engraved mug",
            list_price=Decimal("20.00"),
            is_customizable=True,
            customization_fields=["engraving"],
        ),
    ]
    for product in products:
        inventory_services.receive_stock(
            location=warehouse, product=product, quantity=10, actor=operator
        )
    company = CompanyFactory(name="Acme Tools", credit_limit=Decimal("100000"))
    buyer = CustomerFactory(
        email="pat@acme.example",
        first_name="Pat",
        last_name="Buyer",
        company=company,
        company_role="buyer",
    )
    customer_services.add_address(
        kind="shipping",
        data={
            "name": "Pat Buyer",
            "line1": "2 Elm St",
            "city": "Reno",
            "region": "NV",
            "postal_code": "89502",
            "country": "US",
        },
        customer=buyer,
        make_default=True,
    )
    key = create_api_key(company=company, name="erp")
    yield {"rep": rep, "company": company, "buyer": buyer, "key": key.raw_key}
    refcache.clear()


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_rep_builds_edits_and_quotes_a_draft_the_buyer_accepts(live_server, sign_in, seeded):
    page = sign_in(seeded["rep"])
    company = seeded["company"]

    # The rep opens a new order and picks the company, then its buyer, as they type
    page.goto(live_server.url + reverse("admin:orders_order_new_draft"))
    page.fill("#id_company", "Acme")
    expect(page.locator("#draft-company-options option")).to_have_count(1)
    assert page.locator("#draft-company-options option").get_attribute("value") == (
        company.account_number
    )
    page.fill("#id_company", company.account_number)
    page.fill("#id_customer", "pat")
    expect(page.locator("#draft-customer-options option")).to_have_count(1)
    page.fill("#id_customer", "pat@acme.example")
    page.press("#id_customer", "Tab")
    # The buyer's ship-to and a method that ships are filled in
    expect(page.locator("#id_ship_city")).to_have_value("Reno")
    expect(page.locator("#id_shipping_method")).to_have_value("STANDARD")

    # A line by name: the mug is offered; availability per location shows at once
    page.fill("#id_lines-0-sku", "red mug")
    expect(page.locator("#draft-product-options option")).to_have_count(1)
    page.fill("#id_lines-0-sku", "MUG-RED")
    page.fill("#id_lines-0-quantity", "4")
    page.press("#id_lines-0-quantity", "Tab")
    live = page.locator("#draft-live")
    expect(live).to_contain_text("RNO1: 10")
    expect(live).to_contain_text("$48.00")

    # A mistake is shown at once, with where it is; fixing it clears it
    page.fill("#id_lines-1-sku", "NOPE")
    page.fill("#id_lines-1-quantity", "1")
    page.press("#id_lines-1-quantity", "Tab")
    expect(live).to_contain_text("Line 2, SKU: Unknown SKU.")

    # The engraved mug brings its engraving field (no JSON to type)
    page.fill("#id_lines-1-sku", "MUG-ENGRAVED")
    page.press("#id_lines-1-sku", "Tab")
    engraving = page.locator("input[name='lines-1-custom-engraving']")
    expect(engraving).to_be_visible()
    engraving.fill("For Sam")
    engraving.press("Tab")
    expect(live).not_to_contain_text("Unknown SKU")
    expect(live).to_contain_text("$20.00")
    page.fill("#id_po_number", "PO-4411")
    shot(page, "01-draft-builder")
    assert Order.objects.count() == 0  # nothing written while building

    # Save: the draft's page
    page.click("input[name=save]")
    expect(page.locator("ul.messagelist")).to_contain_text("saved for Pat Buyer")
    draft = Order.objects.get()
    assert draft.status == OrderStatus.DRAFT
    lines = list(draft.lines.order_by("line_number").values_list("sku", "customization"))
    assert lines == [("MUG-RED", {}), ("MUG-ENGRAVED", {"engraving": "For Sam"})]
    shot(page, "02-draft-saved")

    # Edit it: one more red mug
    page.click("text=Edit draft")
    expect(page.locator("#id_lines-0-quantity")).to_have_value("4")
    expect(page.locator("input[name='lines-1-custom-engraving']")).to_have_value("For Sam")
    page.fill("#id_lines-0-quantity", "5")
    page.click("input[name=save]")
    expect(page.locator("ul.messagelist")).to_contain_text("updated for Pat Buyer")
    assert draft.lines.get(line_number=1).quantity_ordered == 5

    # Send it as a quote: the stock is held, the PDF e-mailed
    page.click("text=Send quote")
    page.fill("#id_valid_days", "7")
    shot(page, "03-send-quote")
    page.click("input[type=submit]")
    expect(page.locator("ul.messagelist")).to_contain_text("the stock is held")
    quote = Quote.objects.get()
    assert quote.status == QuoteStatus.SENT
    assert NetworkStock.objects.get(product__sku="MUG-RED").committed == 5
    assert any(quote.number in m.subject for m in mail.outbox)

    # The buyer accepts it through the API: the draft is placed
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {seeded['key']}")
    response = api.post(
        reverse("api-quote-accept", kwargs={"number": quote.number}),
        {},
        format="json",
        HTTP_IDEMPOTENCY_KEY="accept-1",
    )
    assert response.status_code == 201, response.content
    assert response.json()["number"] == draft.number
    draft.refresh_from_db()
    assert draft.status == OrderStatus.PLACED
    page.reload()
    shot(page, "04-accepted-order")


def test_picking_a_company_first_starts_the_draft_with_its_shipping_method(
    live_server, sign_in, seeded
):
    express = ShippingMethodFactory(code="EXPRESS", name="Express", price=Decimal("19.00"))
    company = seeded["company"]
    company.default_shipping_method = express
    company.save()
    page = sign_in(seeded["rep"])

    page.goto(live_server.url + reverse("admin:orders_order_new_draft"))
    expect(page.locator("#id_shipping_method")).to_have_value("STANDARD")
    page.fill("#id_company", company.account_number)
    page.press("#id_company", "Tab")

    # Before any buyer is chosen, the company's default replaces the cheapest method
    expect(page.locator("#id_shipping_method")).to_have_value("EXPRESS")
    assert page.locator("#id_customer").input_value() == ""
