"""An agent's day on one order page, in a real browser (Debian's Chromium, driven by
Playwright) at 1366 by 768 px: the summary card first and the lines right under it without
a horizontal scroll, a part of a line cancelled, a note added and pinned, an address
hold released from its button on the card; then dates set to day first in Paris from
the user menu.

Screenshots go to ``$OMS_SCREENSHOTS`` when it is set (to look at the page). The test
is skipped where Chromium is missing, never downloaded."""

import os
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from core import refcache
from fulfillment.holds import place_order_hold
from inventory import services as inventory_services
from orders.models import HoldKind, OrderEvent, OrderEventType, OrderHold, OrderNote
from orders.placement import LineRequest, OrderRequest, place_order
from tests.admin.conftest import needs_chromium
from tests.admin.test_browser_agent import PASSWORD
from tests.factories import (
    CustomerFactory,
    LocationFactory,
    ProductFactory,
    ShippingMethodFactory,
    UserFactory,
)

pytestmark = [pytest.mark.django_db(transaction=True), needs_chromium]

SKUS = ("MUG-RED", "CUP-BLUE", "PLATE-XL-STONEWARE-SET", "BOWL-GREEN", "TRAY-OAK", "JUG-1L")


def _shot(page, name: str) -> None:
    folder = os.environ.get("OMS_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"order-page-{name}.png"), full_page=True)


@pytest.fixture
def seeded(operator):
    """An agent who can log in, and a placed order of six lines for Pat,
    on hold for an incomplete address."""
    refcache.clear()
    user = UserFactory(username="agent-browser")
    user.set_password(PASSWORD)
    user.save()
    user.groups.add(Group.objects.get(name="agent"))
    ShippingMethodFactory()
    warehouse = LocationFactory(code="RNO1")
    for sku in SKUS:
        product = ProductFactory(
            sku=sku,
            name=f"{sku.replace('-', ' ').title()} — hand-finished, dishwasher safe",
            list_price=Decimal("24.50"),
        )
        inventory_services.receive_stock(
            location=warehouse, product=product, quantity=50, actor=operator
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
            lines=[LineRequest(sku=sku, quantity=5) for sku in SKUS],
        ),
        actor=operator,
    ).order
    hold = place_order_hold(
        order=order, kind=HoldKind.ADDRESS, reason="No apartment number", actor=operator
    )
    yield {"order": order, "hold": hold}
    refcache.clear()


def test_agent_works_an_order_from_its_page(live_server, browser_page, seeded):
    page = browser_page
    order, hold = seeded["order"], seeded["hold"]
    page.set_viewport_size({"width": 1366, "height": 768})
    page.goto(live_server.url + reverse("admin:login"))
    page.fill("#id_username", "agent-browser")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("#site-name")

    # The summary card first, in the window without scrolling; the lines right under it.
    page.goto(live_server.url + reverse("admin:orders_order_change", args=[order.pk]))
    summary, lines = page.locator(".order-summary"), page.locator("#lines")
    summary_box, lines_box = summary.bounding_box(), lines.bounding_box()
    assert summary_box
    assert lines_box
    assert summary_box["y"] < 400
    assert summary_box["y"] + summary_box["height"] <= lines_box["y"]
    assert lines_box["y"] < page.locator("#timeline").bounding_box()["y"]
    assert "Incomplete address" in summary.inner_text()
    assert "$" in summary.inner_text()
    # The lines table fits its box: no horizontal scroll at 1366 px.
    widths = page.evaluate(
        """() => {
            const table = document.querySelector('table.order-lines');
            const box = table.closest('fieldset');
            return [table.scrollWidth, box.clientWidth, table.getBoundingClientRect().right,
                    box.getBoundingClientRect().right];
        }"""
    )
    assert widths[0] <= widths[1], widths
    assert widths[2] <= widths[3], widths
    assert page.locator("table.order-lines tbody tr").count() == len(SKUS)
    _shot(page, "1-opened")

    # Cancel two of the five mugs.
    page.click("#content-main .object-tools a:text-is('Cancel order')")
    page.wait_for_selector("#cancel-order-form")
    page.fill("textarea[name=reason]", "Caller wants two mugs fewer")
    page.fill("input[name='cancel-0-quantity']", "2")
    page.click("#cancel-order-form input[type=submit]")
    page.wait_for_selector("ul.messagelist")
    assert "cancelled line 1 (MUG-RED) × 2" in page.inner_text("ul.messagelist")
    assert "2 cancelled" in page.inner_text("table.order-lines tbody tr:first-child")
    assert "Lines cancelled" in page.inner_text("#timeline")
    _shot(page, "2-line-cancelled")

    # A note for the team, then pinned on top of the page.
    page.fill("#id_note_body", "Pat will call back about the address after 5 pm.")
    page.click("#timeline button:text-is('Add note')")
    page.wait_for_selector("text=Note added to the timeline.")
    first_entry = page.locator("#timeline .order-timeline-entry").first
    assert "Pat will call back" in first_entry.inner_text()  # newest first
    first_entry.locator("button:text-is('Pin on top')").click()
    page.wait_for_selector("text=Note pinned on top of the page.")
    assert "Pat will call back" in page.inner_text(".order-summary .order-pinned-notes")
    _shot(page, "3-note-pinned")

    # Release the address hold from its button on the card.
    page.click(".order-summary a.order-release")
    page.wait_for_selector("select[name=hold]")
    assert page.input_value("select[name=hold]") == str(hold.pk)
    page.fill("textarea[name=reason]", "Pat gave the apartment number: 4B")
    page.click("#content-main input[type=submit]")
    page.wait_for_selector("ul.messagelist")
    assert "hold released" in page.inner_text("ul.messagelist")
    assert page.locator(".order-summary .hold-banner").count() == 0
    _shot(page, "4-hold-released")

    # From the user menu: dates day first, in Paris; the order page follows.
    page.click("#user-tools a:text-is('Preferences')")
    page.select_option("select[name=time_zone]", "Europe/Paris")
    page.check("input[name=date_style][value=european]")
    page.click("#content-main input[type=submit]")
    page.wait_for_selector("text=Saved: dates are shown in Europe/Paris")
    _shot(page, "5-preferences")
    page.goto(live_server.url + reverse("admin:orders_order_change", args=[order.pk]))
    created = timezone.localtime(order.created_at, ZoneInfo("Europe/Paris"))
    assert f"Created {created:%d/%m/%Y %H:%M}" in page.inner_text(".order-summary")

    # What the page did, as the services recorded it.
    line = order.lines.get(line_number=1)
    assert (line.quantity_ordered, line.quantity_cancelled) == (5, 2)
    note = OrderNote.objects.get(order=order)
    assert (note.pinned, note.author_name) == (True, "agent-browser")
    assert OrderHold.objects.get(pk=hold.pk).released_at is not None
    assert OrderEvent.objects.filter(order=order, type=OrderEventType.HOLD_RELEASED).exists()
