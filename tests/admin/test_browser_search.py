"""An agent's search in a real browser (Debian's Chromium, driven by Playwright): the
caller gives a phone number in another format than it was stored, part of an accented
name, a PO in lower case, a tracking number, an order number; each finds the orders
it names, and an exact order number opens the order. The list keeps its Total,
Created and On hold columns in view at 1366 and 1920 pixels.

CI installs the browser with ``apt-get install chromium``; the test is skipped where
it is missing, never downloaded."""

import os
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page

from fulfillment.models import FulfillmentOrder, Shipment
from orders import services as order_services
from tests.admin.conftest import needs_chromium
from tests.admin.factories import OrderFactory
from tests.factories import CompanyFactory, CustomerFactory, LocationFactory, UserFactory

# Screenshots land here when set (the docs' screenshots are taken this way).
SHOTS = os.environ.get("OMS_SCREENSHOTS_DIR", "")

pytestmark = [pytest.mark.django_db(transaction=True), needs_chromium]


@pytest.fixture
def world(operator):
    company = CompanyFactory(account_number="TASSES1", name="Société Générale des Tasses")
    jose = CustomerFactory(
        first_name="José",
        last_name="García",
        email="jose.garcia@tasses.example",
        phone="+13035550189",
        company=company,
        company_role="buyer",
    )
    his = [
        OrderFactory(customer=jose, company=company, ship_phone=f"+1 775 555 {n:04d}", lines=1)
        for n in range(14)
    ]
    order_services.place_hold(order=his[0], kind="manual", reason="check", actor=operator)
    with_po = OrderFactory(ship_name="Ann Lee", po_number="PO-AB-77", lines=1)
    shipped = OrderFactory(ship_name="Kim Park", lines=1)
    fo = FulfillmentOrder.objects.create(
        order=shipped,
        location=LocationFactory(),
        number=f"{shipped.number}-1",
        status="closed",
        ship_by_date=timezone.localdate(),
    )
    Shipment.objects.create(
        fulfillment_order=fo,
        order=shipped,
        service_level="standard",
        tracking_number="1Z999AA10123456784",
        shipped_at=timezone.now(),
    )
    agent = UserFactory(username="agent-search")
    agent.groups.add(Group.objects.get(name="agent"))
    return {"his": his, "with_po": with_po, "shipped": shipped, "agent": agent}


@pytest.fixture
def page(sign_in, world) -> Page:
    """A Chromium page signed in as the agent."""
    return sign_in(world["agent"])


def _search(page: Page, live_server, term: str) -> list[str]:
    page.goto(live_server.url + reverse("admin:orders_order_changelist"))
    page.fill("#searchbar", term)
    page.press("#searchbar", "Enter")
    page.wait_for_selector("#result_list, p.paginator")
    return page.locator("#result_list tbody th.field-number a").all_inner_texts()


def _numbers(orders) -> set[str]:
    return {order.number for order in orders}


def _shot(page: Page, name: str) -> None:
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=False)


@pytest.mark.parametrize("width", [1366, 1920])
def test_the_order_list_shows_total_created_and_on_hold_in_view(page, live_server, width):
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(live_server.url + reverse("admin:orders_order_changelist"))
    page.wait_for_selector("#result_list")
    _shot(page, f"order-list-{width}")

    # The table fits its box (which would scroll sideways and hide the last columns).
    results = page.locator("#changelist .results")
    assert results.evaluate("el => el.scrollWidth <= el.clientWidth"), results.evaluate(
        "el => [el.scrollWidth, el.clientWidth, el.querySelector('table').offsetWidth]"
    )
    right = results.evaluate("el => el.getBoundingClientRect().right")
    for column in ("customer_name", "fulfillment", "on_hold", "total", "created"):
        box = page.locator(f"#result_list th.column-{column}").bounding_box()
        assert box is not None
        assert box["x"] + box["width"] <= right + 1, f"{column} is cut off"
    # The held order carries the mark, the others none; a buyer's company is shown.
    assert page.locator("#result_list td.field-on_hold .oms-list-hold").count() == 1
    assert "Société Générale des Tasses" in page.inner_text("#result_list")


def test_an_agent_finds_orders_by_whatever_the_caller_says(page, live_server, world):
    his = _numbers(world["his"])

    # The customer's phone in other formats than stored: all 14 of his orders.
    assert set(_search(page, live_server, "303-555-0189")) == his
    _shot(page, "order-search-phone")
    assert set(_search(page, live_server, "(303) 555 0189")) == his
    # Part of the name, with its accent and without (PostgreSQL folds accents).
    assert set(_search(page, live_server, "josé garc")) == his
    if connection.vendor == "postgresql":
        assert set(_search(page, live_server, "GARCIA")) == his
    # The PO in lower case, a tracking number.
    assert _search(page, live_server, "po-ab-77") == [world["with_po"].number]
    assert _search(page, live_server, "1z999aa10123456784") == [world["shipped"].number]
    # Nothing found says so.
    assert _search(page, live_server, "no such caller") == []
    assert "0 results" in page.inner_text("#changelist-search")


def test_an_exact_order_number_opens_the_order(page, live_server, world):
    order = world["with_po"]

    page.goto(live_server.url + reverse("admin:orders_order_changelist"))
    page.fill("#searchbar", order.number.lower())
    page.press("#searchbar", "Enter")

    page.wait_for_url(f"**{reverse('admin:orders_order_change', args=[order.pk])}")
    assert order.number in page.inner_text("#content")
    _shot(page, "order-search-exact-number")
