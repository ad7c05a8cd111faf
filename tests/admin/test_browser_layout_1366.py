"""The warehouse queue and the quotes list fit their box at 1366 px, menu and filters
open, in a real browser (Debian's Chromium): no column is cut off, for a picker, for a
manager (whose list has its checkboxes too) and for a sales rep, with the widest cells
(a partner's answer under the status, both badges, a long company name) on the page.

Screenshots go to ``$OMS_SCREENSHOTS_DIR`` when it is set."""

import datetime as dt
import os
from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page

from core import refcache
from core.actors import Actor
from fulfillment.models import FulfillmentOrder, FulfillmentStatus, RequestStatus
from inventory.models import StaffLocation
from orders import drafts, quotes
from orders.placement import LineRequest, OrderRequest
from tests.admin.conftest import needs_chromium
from tests.admin.test_fulfillment_work import ADDRESS, place_and_route, receive
from tests.factories import (
    CarrierFactory,
    CompanyFactory,
    CustomerFactory,
    LocationFactory,
    ProductFactory,
    ShippingMethodFactory,
    UserFactory,
)

SHOTS = os.environ.get("OMS_SCREENSHOTS_DIR", "")
REP = Actor.system("layout test")

pytestmark = [pytest.mark.django_db(transaction=True), needs_chromium]

# The table's width against its box's, in CSS pixels.
WIDTHS = """() => {
  const table = document.querySelector('#result_list');
  const box = document.querySelector('#changelist .results');
  return [table.getBoundingClientRect().width, box.clientWidth];
}"""


@pytest.fixture
def world(db):
    refcache.clear()
    CarrierFactory(code="SIM", name="Simulated Carrier")
    ShippingMethodFactory()
    nwk = LocationFactory(code="NWK1", name="Newark distribution centre")
    fos = []
    for _ in range(3):
        product = ProductFactory(list_price=Decimal("1234.50"))
        receive(nwk, product, 5)
        fos.append(place_and_route([(product, 1)])[1])
    # The widest row a picker meets: a partner's answer under the status, both badges.
    FulfillmentOrder.objects.filter(pk=fos[0].pk).update(
        status=FulfillmentStatus.IN_PROGRESS,
        request_status=RequestStatus.SUBMITTED,
        is_pickup=True,
        pickup_code="271828",
        at_risk_since=timezone.now() - dt.timedelta(hours=5),
    )
    company = CompanyFactory(name="Prairie State University Bookstore and Supply Cooperative")
    buyer = CustomerFactory(company=company, company_role="buyer", first_name="Maximilian")
    for _ in range(2):
        draft = drafts.create_draft_order(
            request=OrderRequest(
                customer=buyer,
                channel="sales",
                shipping_method_code="STANDARD",
                shipping_address=ADDRESS,
                lines=[LineRequest(sku=product.sku, quantity=1)],
            ),
            actor=REP,
        )
        quote = quotes.send_quote(order_id=draft.pk, actor=REP, valid_days=7)
    quotes.accept_quote(number=quote.number, company_id=company.pk, actor=REP)
    picker = UserFactory(username="picker-layout")
    picker.groups.add(Group.objects.get(name="warehouse"))
    StaffLocation.objects.create(user=picker, location=nwk)
    manager = UserFactory(username="manager-layout")
    manager.groups.add(Group.objects.get(name="manager"))
    rep = UserFactory(username="rep-layout")
    rep.groups.add(Group.objects.get(name="sales_rep"))
    yield {"picker": picker, "manager": manager, "rep": rep}
    refcache.clear()


def _fits(page: Page, url: str, name: str) -> tuple[float, int]:
    page.goto(url)
    page.wait_for_selector("#result_list")
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"))
    table, box = page.evaluate(WIDTHS)
    return table, box


@pytest.mark.parametrize("role", ["picker", "manager"])
def test_the_warehouse_queue_fits_1366_px(sign_in, live_server, world, role):
    page = sign_in(world[role])
    queue = live_server.url + reverse("admin:fulfillment_fulfillmentorder_changelist")

    table, box = _fits(page, queue, f"layout-queue-{role}")

    assert page.locator("#result_list tbody tr").count() == 3
    assert page.locator(".wh-badge-risk").count() == 1
    assert table <= box


def test_the_quotes_list_fits_1366_px(sign_in, live_server, world):
    page = sign_in(world["rep"])
    quotes_list = live_server.url + reverse("admin:orders_quote_changelist")

    table, box = _fits(page, quotes_list, "layout-quotes")

    assert page.locator("#result_list tbody tr").count() == 2
    assert table <= box
