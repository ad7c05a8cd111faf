"""The warehouse user's screens: the fulfillment queue's narrow columns, bins edited at
their own locations only, and purchase orders opened on their locations' supply."""

import datetime as dt
import re

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from core import refcache
from fulfillment.models import FulfillmentOrder, FulfillmentStatus, RequestStatus
from inventory.models import PurchaseOrder, StaffLocation, StockLevel, StockMovement
from inventory.purchase_orders import create_purchase_order
from tests.admin.test_fulfillment_work import SYSTEM, place_and_route, receive
from tests.factories import (
    CarrierFactory,
    LocationFactory,
    ProductFactory,
    ShippingMethodFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

QUEUE = reverse("admin:fulfillment_fulfillmentorder_changelist")
PURCHASE_ORDERS = reverse("admin:inventory_purchaseorder_changelist")
STOCK_LEVELS = reverse("admin:inventory_stocklevel_changelist")


@pytest.fixture(autouse=True)
def _fresh_refcache():
    refcache.clear()
    yield
    refcache.clear()


@pytest.fixture
def sites(db):
    """Two warehouses, and a picker assigned to the first (a user of the warehouse role)."""
    CarrierFactory(code="SIM", name="Simulated Carrier")
    ShippingMethodFactory()
    nwk, dal = LocationFactory(code="NWK1"), LocationFactory(code="DAL1")
    picker = UserFactory(username="picker-nwk")
    picker.groups.add(Group.objects.get(name="warehouse"))
    StaffLocation.objects.create(user=picker, location=nwk)
    client = Client()
    client.force_login(picker)
    return {"nwk": nwk, "dal": dal, "picker": picker, "client": client}


def _fo_at(location) -> FulfillmentOrder:
    product = ProductFactory()
    receive(location, product, 1)
    return place_and_route([(product, 1)])[1]


def _row_of(html: str, number: str) -> str:
    """The HTML of the queue's row of fulfillment order ``number``."""
    for row in re.findall(r"<tr>.*?</tr>", html, flags=re.S):
        if f">{number}</a>" in row:
            return row
    raise AssertionError(f"{number} is not listed")


def _level(location, sku: str, *, on_hand: int = 5) -> StockLevel:
    product = ProductFactory(sku=sku)
    receive(location, product, on_hand)
    return StockLevel.objects.get(location=location, product=product)


# --- the fulfillment queue ------------------------------------------------------------------


def test_the_queue_has_seven_columns_a_picker_reads(sites):
    _fo_at(sites["nwk"])

    response = sites["client"].get(QUEUE)

    headers = [h.strip() for h in response.context["cl"].model_admin.list_display]
    assert headers == [
        "number",
        "order_link",
        "location_code",
        "state",
        "ship_by",
        "flags",
        "created",
    ]
    html = response.content.decode()
    head = html.split('id="result_list"')[1].split("</thead>")[0]
    titles = re.findall(r'<div class="text">\s*<(?:a|span)[^>]*>([^<]+)<', head)
    assert titles == ["Number", "Order", "Location", "Status", "Ship by", "Flags", "Created"]
    # The queue's own stylesheet gives the pills and badges their look.
    assert "oms/warehouse.css" in html


def test_status_and_partner_answer_share_a_pill_and_flags_show_only_when_true(sites):
    plain, flagged = _fo_at(sites["nwk"]), _fo_at(sites["nwk"])
    at_risk_since = timezone.now() - dt.timedelta(hours=3)
    FulfillmentOrder.objects.filter(pk=flagged.pk).update(
        is_pickup=True,
        pickup_code="481516",
        at_risk_since=at_risk_since,
        request_status=RequestStatus.ACCEPTED,
        status=FulfillmentStatus.IN_PROGRESS,
        ship_by_date=dt.date(2026, 3, 9),
    )

    html = sites["client"].get(QUEUE).content.decode()

    quiet, loud = _row_of(html, plain.number), _row_of(html, flagged.number)
    assert '<span class="wh-pill wh-pill-todo">Open</span>' in quiet
    assert "wh-badge" not in quiet
    assert "partner" not in quiet
    assert (
        '<span class="wh-pill wh-pill-todo">In progress</span>'
        '<span class="wh-pill-caption">partner accepted</span>'
    ) in loud
    assert ">Pickup</span>" in loud
    assert ">At risk</span>" in loud
    # One date format, the viewer's (ISO by default), the day only in the column.
    assert '<td class="field-ship_by">2026-03-09</td>' in loud
    assert f">{timezone.localdate():%Y-%m-%d}</span></td>" in loud


def test_the_queue_sorts_by_ship_by_date_through_its_column(sites):
    early, late = _fo_at(sites["nwk"]), _fo_at(sites["nwk"])
    FulfillmentOrder.objects.filter(pk=early.pk).update(ship_by_date=dt.date(2026, 1, 1))
    FulfillmentOrder.objects.filter(pk=late.pk).update(ship_by_date=dt.date(2026, 2, 1))

    # "ship_by" is the fifth column (o counts from 0): o=-4 sorts it latest first.
    response = sites["client"].get(QUEUE, {"o": "-4"})

    assert [fo.pk for fo in response.context["cl"].result_list] == [late.pk, early.pk]


def test_the_pick_list_page_chooses_the_only_location_of_a_picker(sites):
    page = sites["client"].get(reverse("admin:fulfillment_fulfillmentorder_pick_list"))

    field = page.context["form"]["location"]
    assert field.value() == sites["nwk"].pk
    assert {int(str(c)) for c, _ in field.field.choices if c} == {sites["nwk"].pk}


# --- bins: the warehouse role edits them at its own locations only ----------------------------


def test_a_warehouse_user_sets_a_bin_at_their_location(sites):
    level = _level(sites["nwk"], "BIN-MINE")
    url = reverse("admin:inventory_stocklevel_change", args=[level.pk])

    page = sites["client"].get(url)
    response = sites["client"].post(url, {"bin_location": " c-12  4 "})

    assert 'name="bin_location"' in page.content.decode()
    assert response.status_code == 302
    level.refresh_from_db()
    assert level.bin_location == "C-12 4"
    assert LogEntry.objects.filter(object_id=str(level.pk), user=sites["picker"]).count() == 1


def test_a_warehouse_user_cannot_open_or_change_another_locations_stock_level(sites):
    theirs = _level(sites["dal"], "BIN-THEIRS")
    url = reverse("admin:inventory_stocklevel_change", args=[theirs.pk])
    movements = StockMovement.objects.count()

    page = sites["client"].get(url)
    response = sites["client"].post(url, {"bin_location": "Z-99"})
    listed = sites["client"].get(STOCK_LEVELS)

    # Not theirs to see: Django's "no such object" answer, a redirect to the admin index.
    assert page.status_code == response.status_code == 302
    assert response.url == reverse("admin:index")
    theirs.refresh_from_db()
    assert theirs.bin_location == ""
    assert StockMovement.objects.count() == movements
    assert not LogEntry.objects.filter(object_id=str(theirs.pk)).exists()
    assert theirs not in listed.context["cl"].result_list


def test_a_warehouse_user_cannot_change_on_hand_or_any_counter(sites):
    level = _level(sites["nwk"], "BIN-COUNT", on_hand=5)
    url = reverse("admin:inventory_stocklevel_change", args=[level.pk])

    page = sites["client"].get(url).content.decode()
    sites["client"].post(
        url,
        {
            "bin_location": "A-01",
            "on_hand": "999",
            "allocated": "3",
            "incoming": "7",
            "location": str(sites["dal"].pk),
        },
    )

    assert 'name="on_hand"' not in page
    level.refresh_from_db()
    assert level.bin_location == "A-01"
    assert (level.on_hand, level.allocated, level.incoming, level.location_id) == (
        5,
        0,
        0,
        sites["nwk"].pk,
    )
    assert StockMovement.objects.filter(stock_level=level).count() == 1  # the receipt


def test_a_warehouse_user_with_no_location_may_not_change_bins(sites):
    level = _level(sites["nwk"], "BIN-NONE")
    drifter = UserFactory(username="picker-unassigned")
    drifter.groups.add(Group.objects.get(name="warehouse"))
    client = Client()
    client.force_login(drifter)
    url = reverse("admin:inventory_stocklevel_change", args=[level.pk])

    page = client.get(url)
    response = client.post(url, {"bin_location": "Z-99"})

    # Seen (no assignment: every location), read-only, refused on save.
    assert page.status_code == 200
    assert 'name="bin_location"' not in page.content.decode()
    assert response.status_code == 403
    level.refresh_from_db()
    assert level.bin_location == ""


def test_a_manager_changes_bins_anywhere(sites, client_for):
    level = _level(sites["dal"], "BIN-MGR")
    url = reverse("admin:inventory_stocklevel_change", args=[level.pk])

    response = client_for("manager").post(url, {"bin_location": "m-1"})

    assert response.status_code == 302
    level.refresh_from_db()
    assert level.bin_location == "M-1"


def test_the_stock_level_list_of_a_warehouse_user_has_a_fixed_query_count(sites):
    def count() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert sites["client"].get(STOCK_LEVELS).status_code == 200
        return len(captured)

    _level(sites["nwk"], "BIN-Q0")
    few = count()
    for n in range(1, 4):
        _level(sites["nwk"], f"BIN-Q{n}")
        _level(sites["dal"], f"BIN-QD{n}")

    # Session, user, the groups' permissions, the staff locations, the planner's
    # estimate (PostgreSQL), the bounded count, the page of rows, the location filter.
    assert count() == few == (8 if connection.vendor == "postgresql" else 7)


# --- purchase orders: opened on the user's locations --------------------------------------------


@pytest.fixture
def supply(sites):
    """A delivery to each warehouse, and a transfer out of the picker's."""
    product = ProductFactory(sku="PO-MUG")
    receive(sites["nwk"], product, 10)
    due = timezone.localdate() + dt.timedelta(days=5)

    def record(**kwargs):
        return create_purchase_order(
            lines={product.sku: 2}, expected_date=due, actor=SYSTEM, **kwargs
        ).purchase_order

    return {
        "to_mine": record(location=sites["nwk"], supplier="Acme"),
        "to_theirs": record(location=sites["dal"], supplier="Acme"),
        "out_of_mine": record(location=sites["dal"], source_location=sites["nwk"]),
    }


def _listed_pos(client: Client, **query: str) -> set[str]:
    response = client.get(PURCHASE_ORDERS, query)
    assert response.status_code == 200
    return {po.number for po in response.context["cl"].result_list}


def test_a_warehouse_user_opens_purchase_orders_on_their_locations_supply(sites, supply):
    client = sites["client"]

    listed = _listed_pos(client)
    widened = _listed_pos(client, locations="all")
    theirs = client.get(
        reverse("admin:inventory_purchaseorder_change", args=[supply["to_theirs"].pk])
    )

    assert listed == {supply["to_mine"].number, supply["out_of_mine"].number}
    # Not allowed to see every location: "all" changes nothing, a typed URL neither.
    assert widened == listed
    assert theirs.status_code == 302
    filters = client.get(PURCHASE_ORDERS).content.decode()
    assert "My locations (to or from them)" in filters
    assert "All locations" not in filters


def test_an_assigned_manager_opens_on_their_locations_and_may_see_all(sites, supply, make_staff):
    manager = make_staff("manager")
    StaffLocation.objects.create(user=manager, location=sites["dal"])
    client = Client()
    client.force_login(manager)

    assert _listed_pos(client) == {supply["to_theirs"].number, supply["out_of_mine"].number}
    assert _listed_pos(client, locations="all") == {po.number for po in PurchaseOrder.objects.all()}
    assert "All locations" in client.get(PURCHASE_ORDERS).content.decode()


def test_a_user_with_no_assignment_sees_every_purchase_order(supply, admin_client):
    assert _listed_pos(admin_client) == {po.number for po in PurchaseOrder.objects.all()}
