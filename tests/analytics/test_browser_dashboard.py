"""The manager's dashboard in a real browser (Debian's Chromium, driven by Playwright):
every chart is drawn on its canvas by the static Chart.js, offline (no request leaves
the live server), with its numbers in the table beside it.

CI installs the browser with ``apt-get install chromium``; the test is skipped where
it is missing, never downloaded."""

import datetime as dt
import os
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.db import connections
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import sync_playwright

from fulfillment.models import FulfillmentOrder, FulfillmentStatus, Shipment
from orders.models import Channel, OrderHold, OrderStatus
from tests.admin.factories import OrderFactory
from tests.factories import LocationFactory, UserFactory

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SHOTS = os.environ.get("OMS_TEST_SCREENSHOTS", "")
LOCAL_HOSTS = {"127.0.0.1", "localhost"}

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="Debian's chromium is not installed (apt-get install chromium)",
    ),
]


@pytest.fixture
def browser_context(monkeypatch):
    """A Chromium context. Playwright's sync API runs an event loop in this thread, so
    Django's ORM calls in the test must be allowed here; their connections are closed
    at the end so that the test database can be dropped."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            context.set_default_timeout(15_000)
            yield context
        finally:
            browser.close()
            connections.close_all()


@pytest.fixture
def business(db):
    """A fortnight of orders in two channels, shipped from two locations (some late),
    with a cancellation and an open hold."""
    now = timezone.now()
    today = timezone.localdate()
    locations = [LocationFactory(code="DC-EAST"), LocationFactory(code="DC-WEST")]
    for n in range(14):
        for channel, total in ((Channel.WEB, "80.00"), (Channel.MARKETPLACE, "45.50")):
            cancelled = n == 3 and channel == Channel.WEB
            placed_at = now - dt.timedelta(days=n)
            order = OrderFactory(
                channel=channel,
                status=OrderStatus.CANCELLED if cancelled else OrderStatus.COMPLETED,
                placed_at=placed_at,
                cancelled_at=placed_at if cancelled else None,
            )
            order.grand_total = Decimal(total) + n
            order.subtotal = order.grand_total - order.shipping_total
            order.save()
            if cancelled:
                continue
            fo = FulfillmentOrder.objects.create(
                number=f"FO-{order.number}",
                order=order,
                location=locations[n % 2],
                status=FulfillmentStatus.CLOSED,
                ship_by_date=today - dt.timedelta(days=n - (n % 3 == 0)),
            )
            Shipment.objects.create(
                fulfillment_order=fo,
                order=order,
                service_level="standard",
                shipped_at=placed_at + dt.timedelta(hours=6 + n),
            )
            if n == 1:
                OrderHold.objects.create(
                    order=order, kind="manual", reason="Check", placed_by_label="agent"
                )


@pytest.fixture
def manager(db):
    user = UserFactory(username="manager-browser")
    user.groups.add(Group.objects.get(name="manager"))
    return user


def test_the_manager_dashboard_draws_its_charts_offline(
    live_server, browser_context, business, manager
):
    # Logged in as the manager (the session a log-in would give).
    client = Client()
    client.force_login(manager)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    browser_context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": live_server.url}]
    )
    outside: list[str] = []

    def only_local(route):
        if urlsplit(route.request.url).hostname in LOCAL_HOSTS:
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    browser_context.route("**/*", only_local)
    page = browser_context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "console", lambda message: errors.append(message.text) if message.type == "error" else None
    )

    page.goto(live_server.url + reverse("admin:index"))
    page.wait_for_selector("canvas[data-drawn='true']")

    canvases = page.locator("canvas[data-chart]")
    ids = [canvases.nth(i).get_attribute("data-chart") for i in range(canvases.count())]
    assert {"orders-per-day", "revenue-per-day", "on-time-by-location", "holds-by-kind"} <= set(ids)
    assert page.locator("canvas[data-drawn='true']").count() == len(ids)
    # Each canvas has pixels painted on it (not a blank box).
    painted = page.evaluate(
        """() => Array.from(document.querySelectorAll('canvas[data-chart]')).map((c) => {
            const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            let inked = 0;
            for (let i = 3; i < data.length; i += 4) { if (data[i] > 0) inked++; }
            return inked;
        })"""
    )
    assert all(count > 500 for count in painted), painted
    # The numbers beside the chart: today's web orders in the table.
    table = page.inner_text("#chart-orders-per-day table").lower()
    assert timezone.localdate().isoformat() in table
    assert "web storefront" in table
    assert page.inner_text("#chart-on-time-by-location table").count("DC-") == 2
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=f"{SHOTS}/manager-dashboard.png", full_page=True)

    assert outside == []
    assert errors == []

    # A filter narrows the page to a channel; the charts are drawn again.
    page.select_option("#id_channel", Channel.MARKETPLACE)
    page.click(".oms-dashboard-filters input[type=submit]")
    page.wait_for_selector("canvas[data-drawn='true']")
    assert "web storefront" not in page.inner_text("#chart-orders-per-day table").lower()
    assert outside == []


def test_the_per_day_tables_fit_the_page_at_1366_px(live_server, browser_context, manager):
    # A month of orders in every channel, with eight-figure days: the widest tables.
    now = timezone.now()
    for n in range(30):
        for channel in Channel.values:
            order = OrderFactory(
                channel=channel, status=OrderStatus.COMPLETED, placed_at=now - dt.timedelta(days=n)
            )
            order.grand_total = Decimal("12345678.90")
            order.subtotal = order.grand_total - order.shipping_total
            order.save()
    client = Client()
    client.force_login(manager)
    browser_context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )
    page = browser_context.new_page()
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(live_server.url + reverse("admin:index"))
    page.wait_for_selector("canvas[data-drawn='true']")

    overflowing = page.evaluate(
        """() => Array.from(document.querySelectorAll('.oms-chart-table, .oms-figure'))
            .filter((box) => box.scrollWidth > box.clientWidth + 1)
            .map((box) => (box.closest('[id]') || box).id || box.className)"""
    )
    assert overflowing == []
    assert "$12,345,678.90" in page.inner_text("#chart-revenue-per-day table")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366
