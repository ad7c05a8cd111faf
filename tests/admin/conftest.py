import datetime as dt
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.db import connections, transaction
from django.test import Client
from django.utils import timezone
from playwright.sync_api import Page, sync_playwright

from core import refcache
from core.actors import Actor
from customers import services as customer_services
from customers.api_keys import create_api_key
from customers.models import PriceList, PriceListEntry
from fulfillment.operations import record_tracking_event, ship_fulfillment_order
from fulfillment.routing import route_order
from inventory import services as inventory_services
from inventory.commitments import reserve_network
from inventory.models import StaffLocation, StockLevel, StockReservation
from inventory.purchase_orders import create_purchase_order
from oms.notifications import send_order_notification
from orders import services as order_services
from orders.drafts import create_draft_order
from orders.models import IdempotencyKey, Order, OrderHold, TaxRate
from orders.placement import LineRequest, OrderRequest, place_order
from orders.quotes import send_quote
from tests.admin.factories import OrderFactory
from tests.factories import (
    CompanyFactory,
    CustomerFactory,
    LocationFactory,
    ProductFactory,
    UserFactory,
)
from tests.inventory.legacy import legacy_reservation

# The ship-to of the orders the world below places.
RENO_ADDRESS = {
    "name": "Pat Buyer",
    "line1": "2 Elm St",
    "city": "Reno",
    "region": "NV",
    "postal_code": "89502",
    "country": "US",
}


@pytest.fixture
def make_staff(db) -> Callable[[str], User]:
    """A staff user in one of the role groups that ``migrate`` creates."""

    def make(role: str) -> User:
        user = UserFactory(username=f"{role}-user")
        user.groups.add(Group.objects.get(name=role))
        return user

    return make


@pytest.fixture
def client_for(make_staff) -> Callable[[str], Client]:
    def make(role: str) -> Client:
        client = Client()
        client.force_login(make_staff(role))
        return client

    return make


@pytest.fixture
def operator(admin_user) -> Actor:
    return Actor.for_user(admin_user)


@pytest.fixture
def stocked_level(db, operator) -> StockLevel:
    """10 units of one SKU on hand at one warehouse, received through the service."""
    location = LocationFactory(code="RNO1")
    product = ProductFactory(sku="MUG-RED")
    return inventory_services.receive_stock(
        location=location, product=product, quantity=10, actor=operator, reference="PO-1"
    )


@pytest.fixture
def placed_order(db) -> Order:
    return OrderFactory(lines=2, po_number="PO-7788")


@pytest.fixture
def open_hold(placed_order, operator) -> OrderHold:
    return order_services.place_hold(
        order=placed_order, kind="fraud_review", reason="Mismatched billing", actor=operator
    )


@pytest.fixture
def world(stocked_level, open_hold, operator) -> dict[str, Any]:
    """One row of everything the console shows, written through the services."""
    company = CompanyFactory()
    buyer = CustomerFactory(company=company, company_role="buyer", phone="+17755550000")
    customer_services.add_address(
        kind="shipping",
        data={"line1": "2 Elm St", "city": "Reno", "postal_code": "89502", "country": "US"},
        customer=buyer,
        make_default=True,
    )
    customer_services.add_address(
        kind="billing",
        data={"line1": "9 Pine St", "city": "Reno", "postal_code": "89502", "country": "US"},
        company=company,
    )
    customer_services.set_notification_preference(
        customer=buyer, event="shipped", email=True, sms=True
    )
    customer_services.add_customer_note(customer=buyer, body="Prefers phone calls.", actor=operator)
    reservation = legacy_reservation(
        location=stocked_level.location,
        product=stocked_level.product,
        quantity=2,
        reference="Q-100",
        actor=operator,
    )
    assert isinstance(reservation, StockReservation)
    with transaction.atomic():
        reserve_network(
            {stocked_level.product_id: 1},
            reference="DRAFT-1",
            expires_at=timezone.now() + dt.timedelta(hours=1),
            actor=operator,
        )
    price_list = PriceList.objects.create(code="GOLD", name="Gold accounts")
    PriceListEntry.objects.create(
        price_list=price_list, product=stocked_level.product, unit_price=Decimal("9.00")
    )
    company.price_list = price_list
    company.save(update_fields=["price_list"])
    api_key = create_api_key(company=company, name="ERP").api_key
    TaxRate.objects.create(country="US", region="NV", rate=Decimal("0.0685"))
    IdempotencyKey.objects.create(
        company=company,
        key="retry-1",
        request_hash="0" * 64,
        response_status=201,
        response_body="{}",
        order=open_hold.order,
    )
    # A picker working at the warehouse: a row for the staff locations' pages.
    StaffLocation.objects.create(
        user=UserFactory(username="picker-world"), location=stocked_level.location
    )
    # A routed, shipped and scanned order: rows for the fulfilment pages (its own
    # location and SKU, so the stock above is left as it is).
    parcel = ProductFactory(
        sku="MUG-SHIP",
        category=inventory_services.ensure_product_category(code="kitchen", name="Kitchen"),
    )
    inventory_services.receive_stock(
        location=LocationFactory(code="RNO2"), product=parcel, quantity=1, actor=operator
    )
    refcache.clear()
    shipped = place_order(
        request=OrderRequest(
            customer=CustomerFactory(),
            channel="web",
            shipping_method_code=open_hold.order.shipping_method.code,
            shipping_address=dict(RENO_ADDRESS),
            lines=[LineRequest(sku=parcel.sku, quantity=1)],
        ),
        actor=operator,
    ).order
    route_order(order_id=shipped.pk)
    shipment = ship_fulfillment_order(
        fo_id=shipped.fulfillment_orders.get().pk, actor=operator, tracking_number="1Z-WORLD"
    )
    record_tracking_event(
        shipment_id=shipment.pk,
        status="in_transit",
        occurred_at=timezone.now(),
        external_id="scan-1",
    )
    # The shipping e-mail as its outbox consumer sends it: a row for the message log.
    assert (
        send_order_notification(order_id=shipped.pk, event="shipped", shipment_id=shipment.pk)
        is not None
    )
    # Supply on its way: a row for the purchase orders' pages.
    create_purchase_order(
        location=shipment.fulfillment_order.location,
        supplier="Acme Kitchen",
        lines={parcel.sku: 5},
        expected_date=timezone.localdate() + dt.timedelta(days=7),
        actor=operator,
        reference="ERP-WORLD",
    )
    # A quote sent to a consumer: a row for the quotes' pages (its own buyer and SKU, at
    # the shipped order's location, so the rows and stock above are left as they are).
    quoted = ProductFactory(sku="MUG-QUOTE")
    inventory_services.receive_stock(
        location=shipment.fulfillment_order.location, product=quoted, quantity=1, actor=operator
    )
    draft = create_draft_order(
        request=OrderRequest(
            customer=CustomerFactory(),
            channel="sales",
            shipping_method_code=open_hold.order.shipping_method.code,
            shipping_address=dict(RENO_ADDRESS),
            lines=[LineRequest(sku=quoted.sku, quantity=1)],
        ),
        actor=operator,
    )
    send_quote(order_id=draft.pk, actor=operator)
    return {
        "company": company,
        "customer": buyer,
        "level": stocked_level,
        "order": open_hold.order,
        "hold": open_hold,
        "reservation": reservation,
        "api_key": api_key,
    }


# --- the browser tests: Debian's Chromium driven by Playwright --------------------------

# CI installs the browser with ``apt-get install chromium``; browser tests are skipped
# where it is missing (``needs_chromium``), never downloaded.
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Debian's chromium is not installed (apt-get install chromium)"
)


@pytest.fixture
def browser_page(monkeypatch) -> Iterator[Page]:
    """A page of a headless Chromium, 1366 by 900 px (the console's smallest width).
    Playwright's sync API runs an event loop in this thread, so Django's ORM calls in
    the test (the live server runs in its own thread) must be allowed here; they get a
    database connection of their own while the loop runs, closed here so that the test
    database can be dropped at the end."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            context = browser.new_context(viewport={"width": 1366, "height": 900})
            context.set_default_timeout(15_000)
            yield context.new_page()
        finally:
            browser.close()
            connections.close_all()


@pytest.fixture
def sign_in(browser_page, live_server) -> Callable[[User], Page]:
    """``sign_in(user)``: the browser page with ``user`` signed in to the live server
    (the session of a test client's login, handed to the browser as its cookie)."""

    def sign_in_as(user: User) -> Page:
        client = Client()
        client.force_login(user)
        session = client.cookies[settings.SESSION_COOKIE_NAME].value
        browser_page.context.add_cookies(
            [{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": live_server.url}]
        )
        return browser_page

    return sign_in_as
