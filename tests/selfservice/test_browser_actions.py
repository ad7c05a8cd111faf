"""The status page's journeys in a real browser (Debian's Chromium, driven by
Playwright): track a parcel from the shipping e-mail, change the address, start a
return and download its label, give another card. axe-core finds no serious or critical
problem on any page of them. (The events these leave on the timeline are asserted in
test_actions.py and test_payment.py.)"""

import datetime as dt
import re
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.utils import timezone
from playwright.sync_api import expect

from billing.providers.test import DEFAULT_STORE
from customers.models import NotificationEvent
from fulfillment import operations as ops
from fulfillment.simulation import advance_simulated_shipments
from inventory.models import LocationKind
from oms.notifications import send_order_notification
from orders.models import HoldKind, OrderHold
from orders.placement import LineRequest, OrderRequest, place_order
from returns.models import ReturnRequest
from selfservice import links
from tests.billing.conftest import make_products, shop, warehouse
from tests.factories import CustomerFactory
from tests.places import NEW_YORK, make_location
from tests.returns.conftest import default_policy, delivered_order, reasons

from .conftest import SYSTEM_ACTOR
from .test_browser import CHROMIUM, browser_page, serious_violations

__all__ = ["browser_page", "default_policy", "reasons", "shop", "warehouse"]

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed"),
]


def heading(page) -> str:
    """The page's title, once the page the last click opened has loaded."""
    page.wait_for_load_state()
    return page.get_by_role("heading", level=1).inner_text()


def test_track_a_parcel_from_the_shipping_email(live_server, browser_page, routed, sim, settings):
    settings.OMS_SIMULATED_CARRIER_STEP_MINUTES = 1
    order, fo = routed
    shipment = ops.ship_fulfillment_order(fo_id=fo.pk, actor=SYSTEM_ACTOR)
    advance_simulated_shipments(now=timezone.now() + dt.timedelta(minutes=2))
    # Sent by the shipment already, or now (a message is sent once per event).
    send_order_notification(
        order_id=order.pk, event=NotificationEvent.SHIPPED, shipment_id=shipment.pk
    )
    [shipped] = [m for m in mail.outbox if "shipped" in m.subject.lower()]
    link = re.search(r"Track your order: (\S+)", shipped.body)
    assert link is not None
    page = browser_page

    page.goto(live_server.url + urlsplit(link.group(1)).path)

    assert heading(page) == f"Order {order.number}"
    shipments = page.get_by_role("region", name="Shipments")
    assert "Simulated Carrier" in shipments.inner_text()
    assert shipment.tracking_number in shipments.inner_text()
    assert "In transit" in shipments.inner_text()
    assert serious_violations(page) == []


def test_change_the_delivery_address(live_server, browser_page, routed):
    order, _ = routed
    page = browser_page
    page.goto(live_server.url + links.status_path(order))

    page.get_by_role("link", name="Change the delivery address").click()
    assert heading(page) == f"Delivery address of order {order.number}"
    assert serious_violations(page) == []
    page.get_by_label("Address line 1").fill("1 Broad St")
    page.get_by_label("City").fill("Newark")
    page.get_by_label("State / region").fill("NY")  # wrong for 07102: refused on its field
    page.get_by_label("ZIP / postal code").fill("07102")
    page.get_by_role("button", name="Check this address").click()
    expect(page.get_by_text("ZIP code 07102 is in NJ, not NY")).to_be_visible()
    assert serious_violations(page) == []
    page.get_by_label("State / region").fill("NJ")
    page.get_by_role("button", name="Check this address").click()
    expect(page.get_by_role("button", name="Yes, ship to this address")).to_be_visible()
    assert serious_violations(page) == []
    order.refresh_from_db()
    assert order.ship_city == "New York"

    page.get_by_role("button", name="Yes, ship to this address").click()

    assert heading(page) == f"Order {order.number}"
    assert (
        "1 Broad St, Newark, NJ, 07102"
        in page.get_by_role("region", name="Delivery address").inner_text()
    )
    order.refresh_from_db()
    assert order.ship_city == "Newark"


def test_start_a_return_and_download_its_label(live_server, browser_page, default_policy):
    make_location(
        "ST-NY", NEW_YORK, kind=LocationKind.STORE, name="Fifth Avenue store", accepts_returns=True
    )
    order = delivered_order(quantity=2)
    page = browser_page
    page.goto(live_server.url + links.status_path(order))

    page.get_by_role("link", name="Return items").click()
    assert heading(page) == f"Return items of order {order.number}"
    assert serious_violations(page) == []
    line = order.lines.get()
    page.get_by_label(f"How many of {line.description}?").select_option("1")
    page.get_by_label(f"Why are you returning {line.description}?").select_option(
        label="No longer needed"
    )
    page.get_by_label("By mail: print a prepaid label and post the parcel").check()
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("button", name="Yes, start my return")).to_be_visible()
    assert serious_violations(page) == []
    assert not ReturnRequest.objects.exists()

    page.get_by_role("button", name="Yes, start my return").click()

    rma = ReturnRequest.objects.get()
    assert heading(page) == f"Return {rma.number}"
    assert serious_violations(page) == []
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the return label (PDF)").click()
    label = download.value
    assert label.suggested_filename == f"{rma.number}.pdf"
    with open(label.path(), "rb") as pdf:
        assert pdf.read(4) == b"%PDF"


@pytest.fixture
def declined_order(shop):
    DEFAULT_STORE.clear()
    [product] = make_products(shop, [Decimal("30.00")])
    return place_order(
        request=OrderRequest(
            customer=CustomerFactory(),
            channel="web",
            shipping_method_code="STANDARD",
            shipping_address={
                "name": "Pat",
                "line1": "350 Fifth Avenue",
                "country": "US",
                **NEW_YORK,
            },
            lines=[LineRequest(sku=product.sku, quantity=1)],
            payment_token="tok_decline",
        ),
        actor=SYSTEM_ACTOR,
    ).order


def test_give_another_card_for_a_declined_payment(live_server, browser_page, declined_order):
    order = declined_order
    page = browser_page
    page.goto(live_server.url + links.status_path(order))
    expect(page.get_by_text("We could not take the payment")).to_be_visible()

    page.get_by_role("link", name="Update your payment card").click()
    assert heading(page) == f"Payment of order {order.number}"
    assert serious_violations(page) == []
    page.get_by_label("Payment token").fill("tok_decline")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("button", name="Yes, use this card")).to_be_visible()
    assert serious_violations(page) == []
    page.get_by_role("button", name="Yes, use this card").click()
    expect(page.get_by_text("This card was declined")).to_be_visible()
    assert serious_violations(page) == []

    page.get_by_label("Payment token").fill("tok_approve")
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("button", name="Yes, use this card").click()

    assert heading(page) == f"Order {order.number}"
    expect(page.get_by_text("We could not take the payment")).not_to_be_visible()
    assert not OrderHold.objects.filter(
        order=order, kind=HoldKind.PAYMENT, released_at__isnull=True
    ).exists()
