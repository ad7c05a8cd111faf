"""A warehouse user's day in a real browser (Debian's Chromium, driven by Playwright):
assigned to one location, they open the fulfillment queue on that location's open work
only (closed work and other locations' work are not there), find closed work behind the
queue filter, and see their location's work at risk on the work queues page.

CI installs the browser with ``apt-get install chromium``; the test is skipped where
it is missing, never downloaded. Screenshots go to ``$OMS_SCREENSHOTS_DIR`` when set."""

import datetime as dt
import os
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from playwright.sync_api import Page

from core import refcache
from fulfillment import operations
from fulfillment.models import FulfillmentOrder
from fulfillment.sla import flag_at_risk
from inventory.models import StaffLocation
from tests.admin.conftest import needs_chromium
from tests.admin.test_fulfillment_work import SYSTEM, place_and_route, receive
from tests.factories import (
    CarrierFactory,
    LocationFactory,
    ProductFactory,
    ShippingMethodFactory,
    UserFactory,
)

SHOTS = os.environ.get("OMS_SCREENSHOTS_DIR", "")

pytestmark = [pytest.mark.django_db(transaction=True), needs_chromium]


@pytest.fixture
def world(db):
    refcache.clear()
    CarrierFactory(code="SIM", name="Simulated Carrier")
    ShippingMethodFactory()
    nwk, dal = LocationFactory(code="NWK1"), LocationFactory(code="DAL1")

    def fo_at(location):
        product = ProductFactory()
        receive(location, product, 1)
        return place_and_route([(product, 1)])[1]

    mine_open, mine_late, mine_done = fo_at(nwk), fo_at(nwk), fo_at(nwk)
    theirs = fo_at(dal)
    operations.ship_fulfillment_order(fo_id=mine_done.pk, actor=SYSTEM)
    FulfillmentOrder.objects.filter(pk=mine_late.pk).update(ship_by_date=dt.date(2020, 1, 1))
    flag_at_risk()
    user = UserFactory(username="wes-warehouse")
    user.groups.add(Group.objects.get(name="warehouse"))
    StaffLocation.objects.create(user=user, location=nwk)
    yield {
        "user": user,
        "open": mine_open,
        "late": mine_late,
        "done": mine_done,
        "theirs": theirs,
    }
    refcache.clear()


@pytest.fixture
def page(sign_in, world) -> Page:
    """A Chromium page signed in as the warehouse user."""
    return sign_in(world["user"])


def _shot(page: Page, name: str) -> None:
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def _rows(page: Page) -> list[str]:
    page.wait_for_selector("#result_list, p.paginator")
    return page.locator("#result_list tbody th.field-number a").all_inner_texts()


def test_a_warehouse_user_sees_only_their_locations_open_work(page, live_server, world):
    queue = live_server.url + reverse("admin:fulfillment_fulfillmentorder_changelist")

    page.goto(queue)
    _shot(page, "warehouse-queue")

    assert sorted(_rows(page)) == sorted([world["open"].number, world["late"].number])
    filters = page.inner_text("#changelist-filter")
    assert "My locations" in filters
    assert "All locations" not in filters

    # Closed work is behind the queue filter, and it is this location's too.
    page.click("#changelist-filter a:text-is('Done (closed, cancelled)')")
    assert _rows(page) == [world["done"].number]

    # The work queues page: this location's work at risk, linking to its order.
    page.goto(live_server.url + reverse("admin:core_workqueue_changelist"))
    page.wait_for_selector("#queue-at_risk")
    _shot(page, "warehouse-work-queues")
    at_risk = page.inner_text("#queue-at_risk")
    assert world["late"].number in at_risk
    assert world["theirs"].number not in at_risk
    page.click(f"#queue-at_risk a:text-is('{world['late'].order.number}')")
    page.wait_for_url(f"**/orders/order/{world['late'].order.pk}/change/")
