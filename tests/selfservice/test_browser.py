"""The customer's journey in a real browser (Debian's Chromium, driven by Playwright):
open the status page from the link in a sent e-mail, cancel the order with its
confirmation step, and let axe-core (vendored under static/vendor/) check each page.

Skipped where Chromium is missing; the browser is never downloaded."""

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings as django_settings
from django.core import mail
from django.db import connections
from playwright.sync_api import Page, sync_playwright

from customers.models import NotificationEvent
from oms.notifications import send_order_notification
from orders.models import OrderEvent, OrderStatus

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
AXE = Path(django_settings.BASE_DIR) / "static" / "vendor" / "axe.min.js"

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed"),
]


@pytest.fixture
def browser_page(monkeypatch):
    """A Chromium page; the ORM may run in this thread while Playwright's loop runs
    (tests/admin/test_browser_agent.py explains)."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            context = browser.new_context(java_script_enabled=True)
            context.set_default_timeout(15_000)
            yield context.new_page()
        finally:
            browser.close()
            connections.close_all()


def serious_violations(page: Page) -> list[str]:
    """axe-core's serious and critical violations on the page (none when axe is absent)."""
    if not AXE.exists():
        return []
    # From our own origin: the Content-Security-Policy refuses inline scripts.
    origin = re.match(r"https?://[^/]+", page.url)
    assert origin is not None
    page.add_script_tag(url=f"{origin.group(0)}{django_settings.STATIC_URL}vendor/axe.min.js")
    results = page.evaluate("async () => await axe.run(document)")
    return [
        f"{v['id']}: {v['help']}"
        for v in results["violations"]
        if v.get("impact") in {"serious", "critical"}
    ]


def test_open_from_the_email_then_cancel(live_server, browser_page, routed):
    order, _ = routed
    # Sent once per order: by the placement already, or now.
    send_order_notification(order_id=order.pk, event=NotificationEvent.ORDER_CONFIRMED)
    (message,) = [m for m in mail.outbox if m.subject == f"Your order {order.number} is confirmed"]
    link = re.search(r"Track your order: (\S+)", message.body)
    assert link is not None
    page = browser_page

    # The link's path on the test's server (the link starts with OMS_PUBLIC_URL).
    page.goto(live_server.url + urlsplit(link.group(1)).path)

    assert page.get_by_role("heading", level=1).inner_text() == f"Order {order.number}"
    assert page.get_by_role("main").is_visible()
    assert serious_violations(page) == []

    page.get_by_role("link", name="Cancel this order").click()
    assert page.get_by_role("heading", level=1).inner_text() == f"Cancel order {order.number}"
    assert serious_violations(page) == []
    order.refresh_from_db()
    assert order.status != OrderStatus.CANCELLED

    page.get_by_role("button", name="Yes, cancel my order").click()

    assert page.get_by_text("Your order was cancelled.").is_visible()
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    assert OrderEvent.objects.filter(order=order, actor_label=order.email).exists()


def test_the_lookup_form_finds_the_order(live_server, browser_page, routed):
    order, _ = routed
    page = browser_page
    page.goto(f"{live_server.url}/orders/status/")
    assert serious_violations(page) == []

    page.get_by_label("Order number").fill(order.number)
    page.get_by_label("E-mail address").fill(order.email)
    page.get_by_role("button", name="Show my order").click()

    assert page.get_by_role("heading", level=1).inner_text() == f"Order {order.number}"
