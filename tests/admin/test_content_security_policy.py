"""Every page and API response carries a Content-Security-Policy that allows scripts and
styles from our own origin only, and the admin pages an agent works in load nothing
it refuses (walked in Debian's Chromium, listening for violations)."""

from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from django.db import connections
from django.test import Client
from django.urls import reverse
from playwright.sync_api import sync_playwright

from core import refcache
from fulfillment.holds import place_order_hold
from tests.admin.test_fulfillment_work import SYSTEM, place_and_route, receive
from tests.factories import (
    CarrierFactory,
    LocationFactory,
    ProductFactory,
    ShippingMethodFactory,
    UserFactory,
)

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "agent-password-1"


def directives(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {
        name: values
        for name, *values in (part.split() for part in header.split(";") if part.strip())
    }


@pytest.fixture
def held_work(db):
    """A routed order on hold: its page and its fulfillment order's show a hold banner."""
    refcache.clear()
    CarrierFactory(code="SIM", name="Simulated Carrier")
    ShippingMethodFactory()
    product = ProductFactory(sku="MUG-RED")
    receive(LocationFactory(code="NWK1"), product, 5)
    order, fulfillment_order = place_and_route([(product, 1)])
    place_order_hold(order=order, kind="fraud_review", reason="Odd card", actor=SYSTEM)
    yield order, fulfillment_order
    refcache.clear()


@pytest.mark.django_db
def test_admin_pages_allow_scripts_and_styles_from_our_origin_only(held_work, admin_client):
    order, fulfillment_order = held_work
    pages = [
        reverse("admin:orders_order_change", args=[order.pk]),
        reverse("admin:fulfillment_fulfillmentorder_change", args=[fulfillment_order.pk]),
        reverse("admin:orders_order_new_draft"),
        reverse("admin:index"),
    ]

    for url in pages:
        response = admin_client.get(url)

        assert response.status_code == 200, url
        policy = directives(response)
        assert policy["default-src"] == ["'self'"]
        assert policy["script-src"] == ["'self'"]
        assert policy["style-src"] == ["'self'"]
        assert policy["object-src"] == ["'none'"]
        assert policy["frame-ancestors"] == ["'none'"]
        html = response.content.decode()
        # Nothing the policy would block: no inline style, no inline script.
        assert 'style="' not in html, url
        assert "<script>" not in html, url
    # The hold banners are styled from our stylesheet.
    for url in pages[:2]:
        html = admin_client.get(url).content.decode()
        assert 'class="hold-banner"' in html
        assert "/static/oms/admin.css" in html


def test_the_log_in_page_and_api_responses_carry_the_policy(db):
    login = Client().get(reverse("admin:login"))
    api = Client().get("/api/v1/orders/")

    assert directives(login)["script-src"] == ["'self'"]
    assert api.status_code == 401
    assert directives(api)["default-src"] == ["'self'"]


def test_the_api_docs_page_allows_only_its_ui_from_the_cdn(db):
    page = Client().get(reverse("api-docs"))

    policy = directives(page)
    assert page.status_code == 200
    assert "'unsafe-inline'" not in policy["script-src"]
    assert any(source.startswith("https://") for source in policy["script-src"])
    assert "<script>" not in page.content.decode()


# --- in a browser -----------------------------------------------------------------------


@pytest.fixture
def browser_page(monkeypatch):
    """A Chromium page, and the console messages it logs (where CSP violations are
    reported)."""

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            context = browser.new_context()
            context.set_default_timeout(15_000)
            page = context.new_page()
            messages: list[str] = []
            page.on("console", lambda message: messages.append(message.text))
            yield page, messages
        finally:
            browser.close()
            connections.close_all()


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed")
def test_an_agent_walks_the_admin_without_a_policy_violation(live_server, browser_page, held_work):
    order, fulfillment_order = held_work
    user = UserFactory(username="agent-csp")
    user.set_password(PASSWORD)
    user.save()
    for role in ("agent", "sales_rep", "warehouse"):
        user.groups.add(Group.objects.get(name=role))
    page, console = browser_page

    page.goto(live_server.url + reverse("admin:login"))
    page.fill("#id_username", "agent-csp")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("#site-name")
    for url, shown in [
        (reverse("admin:orders_order_change", args=[order.pk]), ".hold-banner"),
        (
            reverse("admin:fulfillment_fulfillmentorder_change", args=[fulfillment_order.pk]),
            ".hold-banner",
        ),
        (reverse("admin:orders_order_new_draft"), "#draft-order-form"),
    ]:
        page.goto(live_server.url + url)
        page.wait_for_selector(shown)
        page.wait_for_load_state("networkidle")
        if shown == ".hold-banner":
            # Styled by the stylesheet: its red border is there.
            border = page.eval_on_selector(shown, "e => getComputedStyle(e).borderTopColor")
            assert border == "rgb(186, 33, 33)", url

    violations = [text for text in console if "Content Security Policy" in text]
    assert violations == []
