"""A customer-service agent's journey in a real browser (Debian's Chromium, driven by
Playwright): find an order by the caller's e-mail, open it, cancel one unit of one
line with a reason, and read the cancellation in the order's timeline.

CI installs the browser with ``apt-get install chromium``; the test is skipped where
it is missing, never downloaded."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from core import refcache
from inventory import services as inventory_services
from inventory.models import NetworkStock
from orders.models import OrderEvent, OrderEventType
from orders.placement import LineRequest, OrderRequest, place_order
from tests.admin.conftest import needs_chromium
from tests.factories import (
    CustomerFactory,
    LocationFactory,
    ProductFactory,
    ShippingMethodFactory,
    UserFactory,
)

PASSWORD = "agent-password-1"

pytestmark = [pytest.mark.django_db(transaction=True), needs_chromium]


@pytest.fixture
def seeded(operator):
    """An agent who can log in, and a placed order of two lines for pat@example.com."""
    refcache.clear()
    user = UserFactory(username="agent-browser")
    user.set_password(PASSWORD)
    user.save()
    user.groups.add(Group.objects.get(name="agent"))
    ShippingMethodFactory()
    warehouse = LocationFactory(code="RNO1")
    products = {}
    for sku in ("MUG-RED", "CUP-BLUE"):
        products[sku] = ProductFactory(sku=sku, list_price=Decimal("10.00"))
        inventory_services.receive_stock(
            location=warehouse, product=products[sku], quantity=10, actor=operator
        )
    order = place_order(
        request=OrderRequest(
            customer=CustomerFactory(email="pat@example.com"),
            channel="web",
            shipping_method_code="STANDARD",
            shipping_address={
                "name": "Pat Buyer",
                "line1": "2 Elm St",
                "city": "Reno",
                "region": "NV",
                "postal_code": "89502",
                "country": "US",
            },
            lines=[LineRequest(sku="MUG-RED", quantity=3), LineRequest(sku="CUP-BLUE", quantity=2)],
        ),
        actor=operator,
    ).order
    yield {"order": order, "mug": products["MUG-RED"]}
    refcache.clear()


def test_agent_finds_an_order_by_email_and_cancels_one_line(live_server, browser_page, seeded):
    page = browser_page
    order = seeded["order"]

    # Log in through the admin's login form
    page.goto(live_server.url + reverse("admin:login"))
    page.fill("#id_username", "agent-browser")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("#site-name")

    # Search the order list by the caller's e-mail, and open the order
    page.goto(live_server.url + reverse("admin:orders_order_changelist"))
    page.fill("#searchbar", "PAT@example.com")
    page.press("#searchbar", "Enter")
    page.wait_for_selector("#result_list")
    assert page.locator("#result_list tbody tr").count() == 1
    page.click(f"#result_list a:text-is('{order.number}')")
    page.wait_for_selector("text=Cancel order")

    # Cancel one mug, with a reason
    page.click("text=Cancel order")
    page.wait_for_selector("#cancel-order-form")
    page.fill("textarea[name=reason]", "Caller wants one mug fewer")
    page.fill("input[name='cancel-0-quantity']", "1")
    page.click("#cancel-order-form input[type=submit]")

    # Back on the order: a success message and the event in the timeline
    page.wait_for_selector("ul.messagelist")
    assert f"{order.number}: cancelled line 1 (MUG-RED) × 1; new total $" in page.inner_text(
        "ul.messagelist"
    )
    timeline = page.inner_text("#timeline")
    assert "Lines cancelled" in timeline
    assert "Lines cancelled: Caller wants one mug fewer" in timeline

    event = OrderEvent.objects.get(order=order, type=OrderEventType.LINES_CANCELLED)
    assert event.actor_label == "agent-browser"
    assert event.payload["lines"] == {"MUG-RED#1": 1}
    mug_line = order.lines.get(line_number=1)
    assert (mug_line.quantity_ordered, mug_line.quantity_cancelled) == (3, 1)
    assert NetworkStock.objects.get(product=seeded["mug"]).committed == 2
