"""The work queue of fulfilment orders, shipments and tracking events: filters, exact
search, the exceptions queue, read-only pages and a fixed query budget."""

import datetime as dt
from collections.abc import Callable

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from core import refcache
from fulfillment import operations
from fulfillment.holds import place_order_hold
from fulfillment.models import (
    FulfillmentOrder,
    FulfillmentStatus,
    RoutingDecision,
    RoutingRule,
    Shipment,
    TrackingEvent,
)
from fulfillment.sla import flag_at_risk
from inventory.models import StaffLocation
from tests.admin.test_fulfillment_work import SYSTEM, place_and_route, receive
from tests.factories import CarrierFactory, LocationFactory, ProductFactory, ShippingMethodFactory

pytestmark = pytest.mark.django_db

# An unfiltered page runs: session, user, the user's staff locations, the planner's row
# estimate (PostgreSQL only), the bounded count, the page of rows (orders and locations
# joined) and the locations of the location filter.
ESTIMATE = 1 if connection.vendor == "postgresql" else 0
FULFILLMENT_ORDER_QUERIES = 6 + ESTIMATE
# A filtered or searched page skips the estimate.
FULFILLMENT_ORDER_FILTERED_QUERIES = 6
# Carriers of the carrier filter instead of locations.
SHIPMENT_QUERIES = 5 + ESTIMATE
TRACKING_EVENT_QUERIES = 4 + ESTIMATE
ROUTING_DECISION_QUERIES = 4 + ESTIMATE
# A fulfilment order's page for a staff user: session, user, the user's and the groups'
# permissions, the user's staff locations, the order with its order, shipping method,
# carrier and location, the tracking events, the lines and the shipments.
FO_PAGE_QUERIES = 9

CHANGELIST = reverse("admin:fulfillment_fulfillmentorder_changelist")


@pytest.fixture(autouse=True)
def _fresh_refcache():
    refcache.clear()
    yield
    refcache.clear()


@pytest.fixture
def locations(db):
    CarrierFactory(code="SIM", name="Simulated Carrier")
    ShippingMethodFactory()
    return LocationFactory(code="NWK1"), LocationFactory(code="DAL1")


@pytest.fixture
def make_fos(locations) -> Callable[[int], list[FulfillmentOrder]]:
    """``make_fos(n)``: n routed orders of one unit each, alternating between locations."""

    def make(count: int) -> list[FulfillmentOrder]:
        made = []
        for n in range(count):
            product = ProductFactory()
            receive(locations[n % 2], product, 1)
            made.append(place_and_route([(product, 1)])[1])
        return made

    return make


def _listed(client, **query) -> list[FulfillmentOrder]:
    response = client.get(CHANGELIST, query)
    assert response.status_code == 200
    return list(response.context["cl"].result_list)


def _queries(client, url: str, **query) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, query)
    assert response.status_code == 200
    return len(captured)


# --- the queue ----------------------------------------------------------------------------


def test_the_queue_lists_oldest_ship_by_date_first(client_for, make_fos):
    first, second, third = make_fos(3)
    FulfillmentOrder.objects.filter(pk=third.pk).update(ship_by_date=dt.date(2020, 1, 1))
    FulfillmentOrder.objects.filter(pk=first.pk).update(ship_by_date=dt.date(2030, 1, 1))

    assert _listed(client_for("warehouse")) == [third, second, first]


def test_the_queue_filters_by_location_status_request_and_pickup(admin_client, make_fos, locations):
    fos = make_fos(4)
    nwk, _ = locations
    operations.ship_fulfillment_order(fo_id=fos[0].pk, actor=SYSTEM)

    at_nwk = _listed(admin_client, location__id__exact=nwk.pk, queue="all")
    open_at_nwk = _listed(admin_client, location__id__exact=nwk.pk, status__exact="open")
    closed = _listed(admin_client, status__exact="closed")
    pickups = _listed(admin_client, is_pickup__exact="1")
    own = _listed(admin_client, request_status__exact="not_required", queue="all")

    assert {fo.location for fo in at_nwk} == {nwk}
    assert len(at_nwk) == 2
    assert open_at_nwk == [fos[2]]
    assert closed == [fos[0]]
    assert pickups == []
    assert len(own) == 4


def test_the_exceptions_queue_shows_only_fulfilment_orders_at_risk(client_for, make_fos):
    late, on_time, _ = make_fos(3)
    FulfillmentOrder.objects.filter(pk=late.pk).update(ship_by_date=dt.date(2020, 1, 1))
    assert flag_at_risk() == 1
    client = client_for("warehouse")

    response = client.get(CHANGELIST, {"at_risk": "yes"})

    assert list(response.context["cl"].result_list) == [late]
    assert len(_listed(client, at_risk="no")) == 2
    tools = {t["title"]: t["url"] for t in client.get(CHANGELIST).context["fulfillment_tools"]}
    assert tools["Exceptions queue"] == f"{CHANGELIST}?at_risk=yes"
    # The at-risk column flags the row.
    row_flags = [
        response.context["cl"].model_admin.at_risk(fo) for fo in response.context["cl"].result_list
    ]
    assert row_flags == [True]
    assert _listed(client, at_risk="yes", q=on_time.number) == []


@pytest.mark.parametrize("term", ["fo", "fo-lower", "order", "order-lower"])
def test_search_finds_a_fulfilment_order_by_its_number_or_its_orders(admin_client, make_fos, term):
    target, _ = make_fos(2)
    number = target.number if term.startswith("fo") else target.order.number
    if term.endswith("lower"):
        number = number.lower()

    assert _listed(admin_client, q=f" {number} ") == [target]


def test_search_is_exact(admin_client, make_fos):
    target, _ = make_fos(2)

    assert _listed(admin_client, q=target.number[:-1]) == []


# --- query budget -------------------------------------------------------------------------


def test_fulfilment_order_changelist_query_count_is_fixed(client_for, make_fos):
    make_fos(5)
    client = client_for("warehouse")
    client.get(CHANGELIST)  # the user's permissions are cached per request; warm nothing else
    few = _queries(client, CHANGELIST, queue="all")
    few_filtered = _queries(client, CHANGELIST, at_risk="no", status__exact="open")
    few_default = _queries(client, CHANGELIST)  # the work to do: a filtered page
    make_fos(35)

    assert _queries(client, CHANGELIST) == few_default == FULFILLMENT_ORDER_FILTERED_QUERIES + 2
    many = _queries(client, CHANGELIST, queue="all")
    many_filtered = _queries(client, CHANGELIST, at_risk="no", status__exact="open")

    assert len(_listed(client)) == 40
    assert few == many == FULFILLMENT_ORDER_QUERIES + 2  # a staff user's permissions
    assert few_filtered == many_filtered == FULFILLMENT_ORDER_FILTERED_QUERIES + 2


def test_fulfilment_order_changelist_query_count_for_a_superuser(admin_client, make_fos):
    make_fos(5)
    few = _queries(admin_client, CHANGELIST, queue="all")
    searched = _queries(admin_client, CHANGELIST, q="SO-1")
    make_fos(35)

    assert few == _queries(admin_client, CHANGELIST, queue="all") == FULFILLMENT_ORDER_QUERIES
    assert searched == _queries(admin_client, CHANGELIST, q="SO-1")
    assert searched == FULFILLMENT_ORDER_FILTERED_QUERIES


def test_shipment_and_tracking_changelists_query_counts_are_fixed(admin_client, make_fos):
    def ship(fos: list[FulfillmentOrder]) -> None:
        for fo in fos:
            shipment = operations.ship_fulfillment_order(fo_id=fo.pk, actor=SYSTEM)
            operations.record_tracking_event(
                shipment_id=shipment.pk,
                status="in_transit",
                occurred_at=timezone.now(),
                external_id=f"scan-{shipment.pk}",
            )

    urls = {
        "shipment": (reverse("admin:fulfillment_shipment_changelist"), SHIPMENT_QUERIES),
        "tracking": (
            reverse("admin:fulfillment_trackingevent_changelist"),
            TRACKING_EVENT_QUERIES,
        ),
        "decision": (
            reverse("admin:fulfillment_routingdecision_changelist"),
            ROUTING_DECISION_QUERIES,
        ),
    }
    ship(make_fos(5))
    few = {name: _queries(admin_client, url) for name, (url, _) in urls.items()}
    ship(make_fos(35))
    many = {name: _queries(admin_client, url) for name, (url, _) in urls.items()}

    assert few == many == {name: expected for name, (_, expected) in urls.items()}


# --- read-only pages ----------------------------------------------------------------------


def test_every_fulfilment_page_renders_with_service_written_rows(admin_client, make_fos):
    (fo,) = make_fos(1)
    shipment = operations.ship_fulfillment_order(fo_id=fo.pk, actor=SYSTEM)
    operations.record_tracking_event(
        shipment_id=shipment.pk,
        status="in_transit",
        occurred_at=timezone.now(),
        external_id="scan-1",
    )
    rows = [
        fo,
        shipment,
        TrackingEvent.objects.get(),
        RoutingDecision.objects.get(),
        RoutingRule.objects.first(),
    ]

    for obj in rows:
        opts = obj._meta
        changelist = admin_client.get(
            reverse(f"admin:fulfillment_{opts.model_name}_changelist"),
            {"queue": "all"} if opts.model_name == "fulfillmentorder" else {},
        )
        change = admin_client.get(
            reverse(f"admin:fulfillment_{opts.model_name}_change", args=[obj.pk])
        )
        assert changelist.status_code == 200, opts.model_name
        assert changelist.context["cl"].result_count >= 1
        assert change.status_code == 200, opts.model_name


@pytest.mark.parametrize("model", [FulfillmentOrder, Shipment, TrackingEvent, RoutingDecision])
def test_service_written_rows_cannot_be_added_edited_or_deleted(admin_client, make_fos, model):
    (fo,) = make_fos(1)
    shipment = operations.ship_fulfillment_order(fo_id=fo.pk, actor=SYSTEM)
    operations.record_tracking_event(
        shipment_id=shipment.pk,
        status="in_transit",
        occurred_at=timezone.now(),
        external_id="scan-1",
    )
    obj = model.objects.get()
    name = model._meta.model_name

    change_page = admin_client.get(reverse(f"admin:fulfillment_{name}_change", args=[obj.pk]))
    edit = admin_client.post(reverse(f"admin:fulfillment_{name}_change", args=[obj.pk]), {})
    delete = admin_client.post(
        reverse(f"admin:fulfillment_{name}_delete", args=[obj.pk]), {"post": "yes"}
    )
    add = admin_client.get(reverse(f"admin:fulfillment_{name}_add"))

    assert change_page.context["has_change_permission"] is False
    assert (edit.status_code, delete.status_code, add.status_code) == (403, 403, 403)
    assert model.objects.filter(pk=obj.pk).exists()


def test_shipment_search_by_exact_tracking_number_and_its_page(client_for, make_fos):
    first, second = make_fos(2)
    shipment = operations.ship_fulfillment_order(
        fo_id=first.pk, actor=SYSTEM, tracking_number="1ZTRACK01"
    )
    operations.ship_fulfillment_order(fo_id=second.pk, actor=SYSTEM)
    operations.record_tracking_event(
        shipment_id=shipment.pk,
        status="out_for_delivery",
        occurred_at=timezone.now(),
        external_id="scan-9",
        description="On the van",
    )
    client = client_for("agent")
    changelist = reverse("admin:fulfillment_shipment_changelist")

    found = client.get(changelist, {"q": "1ZTRACK01"}).context["cl"].result_list
    partial = client.get(changelist, {"q": "1ZTRACK"}).context["cl"].result_list
    by_order = client.get(changelist, {"q": first.order.number}).context["cl"].result_list
    page = client.get(reverse("admin:fulfillment_shipment_change", args=[shipment.pk]))
    events = client.get(
        reverse("admin:fulfillment_trackingevent_changelist"), {"q": "1ZTRACK01"}
    ).context["cl"]

    assert list(found) == [shipment]
    assert list(partial) == []
    assert list(by_order) == [shipment]
    assert page.status_code == 200
    content = page.content.decode()
    assert "On the van" in content  # the tracking events inline
    assert first.number in content
    assert [e.description for e in events.result_list] == ["On the van"]


def test_shipments_filter_by_carrier_and_status(admin_client, make_fos):
    first, second = make_fos(2)
    ups = CarrierFactory(code="UPS", name="UPS")
    by_ups = operations.ship_fulfillment_order(
        fo_id=first.pk, actor=SYSTEM, carrier_code="UPS", tracking_number="1Z1"
    )
    operations.ship_fulfillment_order(fo_id=second.pk, actor=SYSTEM)
    changelist = reverse("admin:fulfillment_shipment_changelist")

    listed = admin_client.get(changelist, {"carrier__id__exact": ups.pk}).context["cl"]
    label_created = admin_client.get(changelist, {"status__exact": "label_created"}).context["cl"]

    assert list(listed.result_list) == [by_ups]
    assert label_created.result_count == 2


def test_routing_decision_page_shows_the_trace(client_for, make_fos):
    (fo,) = make_fos(1)
    decision = RoutingDecision.objects.get(order=fo.order)
    client = client_for("agent")

    listed = client.get(
        reverse("admin:fulfillment_routingdecision_changelist"), {"q": fo.order.number.lower()}
    )
    page = client.get(reverse("admin:fulfillment_routingdecision_change", args=[decision.pk]))

    assert list(listed.context["cl"].result_list) == [decision]
    content = page.content.decode()
    assert "<th>Step</th><th>Location</th><th>Result</th><th>Reason</th>" in content
    assert "<td>candidate</td><td>NWK1</td><td>eligible</td>" in content
    assert "<td>plan</td><td>NWK1</td><td>single shipment</td>" in content
    assert decision.summary in content


def test_fulfilment_order_page_query_count_does_not_grow(client_for, locations):
    nwk, _ = locations
    products = [ProductFactory() for _ in range(4)]
    for product in products:
        receive(nwk, product, 5)
    _, small = place_and_route([(products[0], 1)])
    _, big = place_and_route([(product, 2) for product in products])
    for fo in (small, big):
        shipments = 1 if fo is small else 2
        for n in range(shipments):
            quantities = {line.pk: 1 for line in fo.lines.all()}
            shipment = operations.ship_fulfillment_order(
                fo_id=fo.pk, actor=SYSTEM, quantities=quantities
            )
            for scan in range(3 if fo is big else 1):
                operations.record_tracking_event(
                    shipment_id=shipment.pk,
                    status="in_transit",
                    occurred_at=timezone.now(),
                    external_id=f"scan-{n}-{scan}",
                )
    client = client_for("warehouse")

    def page(fo: FulfillmentOrder) -> str:
        return reverse("admin:fulfillment_fulfillmentorder_change", args=[fo.pk])

    client.get(page(small))  # warm the per-process content type cache
    assert _queries(client, page(small)) == _queries(client, page(big)) == FO_PAGE_QUERIES


def test_a_held_fulfillment_order_leaves_the_queue_and_cannot_be_shipped(client_for, make_fos):
    held, other = make_fos(2)
    place_order_hold(order=held.order, kind="fraud_review", reason="Odd card", actor=SYSTEM)
    client = client_for("warehouse")

    assert _listed(client) == [other]
    assert _listed(client, queue="held") == [held]
    # A search for its number still finds it.
    assert _listed(client, q=held.number) == [held]
    page = client.get(reverse("admin:fulfillment_fulfillmentorder_change", args=[held.pk]))
    text = page.content.decode()
    assert "On hold: do not ship." in text
    assert reverse("admin:fulfillment_fulfillmentorder_ship", args=[held.pk]) not in text
    refused = client.post(
        reverse("admin:fulfillment_fulfillmentorder_ship", args=[held.pk]), follow=True
    )
    assert f"{held.number} is on hold: Order on hold (fraud review)" in refused.content.decode()
    held.refresh_from_db()
    assert held.status == FulfillmentStatus.ON_HOLD
    assert not held.shipments.exists()


# --- staff assigned to locations ------------------------------------------------------------


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_warehouse_user_sees_only_their_locations_open_work(make_staff, make_fos, locations):
    nwk, dal = locations
    fos = make_fos(4)  # NWK1, DAL1, NWK1, DAL1
    user = make_staff("warehouse")
    StaffLocation.objects.create(user=user, location=nwk)
    operations.ship_fulfillment_order(fo_id=fos[0].pk, actor=SYSTEM)  # closed at NWK1
    client = _client(user)

    default = client.get(CHANGELIST)
    assert list(default.context["cl"].result_list) == [fos[2]]
    # Closed work is behind the queue filter, and still only this location's.
    assert _listed(client, queue="done") == [fos[0]]
    assert set(_listed(client, queue="all")) == {fos[0], fos[2]}
    # Without the permission to see every location, asking for all changes nothing,
    # neither does picking another location or typing another location's number.
    assert _listed(client, locations="all") == [fos[2]]
    assert _listed(client, location__id__exact=dal.pk, queue="all") == []
    assert _listed(client, q=fos[1].number) == []
    other = client.get(reverse("admin:fulfillment_fulfillmentorder_change", args=[fos[1].pk]))
    assert other.status_code == 302  # "does not exist": back to the index
    own = client.get(reverse("admin:fulfillment_fulfillmentorder_change", args=[fos[2].pk]))
    assert own.status_code == 200
    # The filter offers only "My locations"; the pick list opens on the user's location
    # and offers no other.
    assert '?locations=all"' not in default.content.decode()
    tools = {t["title"]: t["url"] for t in default.context["fulfillment_tools"]}
    assert tools["Pick list (PDF)"].endswith(f"?location={nwk.pk}")
    pick_list = client.get(reverse("admin:fulfillment_fulfillmentorder_pick_list"))
    choices = pick_list.context["form"].fields["location"].queryset
    assert list(choices) == [nwk]
    refused = client.get(
        reverse("admin:fulfillment_fulfillmentorder_pick_list"), {"location": dal.pk}
    )
    assert refused.status_code == 200  # the form again, with its error; no PDF
    assert refused["Content-Type"].startswith("text/html")


def test_staff_allowed_to_see_every_location_can_widen_the_queue(make_staff, make_fos, locations):
    _, dal = locations
    fos = make_fos(4)
    user = make_staff("warehouse")
    user.user_permissions.add(Permission.objects.get(codename="see_all_locations"))
    StaffLocation.objects.create(user=user, location=dal)
    client = _client(user)

    default = client.get(CHANGELIST)
    assert list(default.context["cl"].result_list) == [fos[1], fos[3]]
    assert '?locations=all"' in default.content.decode()
    assert set(_listed(client, locations="all")) == set(fos)
    fo_page = reverse("admin:fulfillment_fulfillmentorder_change", args=[fos[0].pk])
    assert client.get(fo_page).status_code == 200


def test_a_user_with_no_location_sees_every_locations_open_work(client_for, make_fos):
    fos = make_fos(4)
    operations.ship_fulfillment_order(fo_id=fos[0].pk, actor=SYSTEM)
    client = client_for("warehouse")

    response = client.get(CHANGELIST)

    assert set(response.context["cl"].result_list) == set(fos[1:])
    assert "assigned locations" not in response.content.decode().lower()


def test_the_assigned_queue_query_count_is_fixed(make_staff, make_fos, locations):
    nwk, _ = locations
    make_fos(4)
    user = make_staff("warehouse")
    StaffLocation.objects.create(user=user, location=nwk)
    client = _client(user)
    client.get(CHANGELIST)
    few = _queries(client, CHANGELIST)
    make_fos(20)

    assert _queries(client, CHANGELIST) == few == FULFILLMENT_ORDER_FILTERED_QUERIES + 2


def test_managers_assign_staff_to_locations_and_warehouse_staff_cannot(make_staff, locations):
    nwk, _ = locations
    picker = make_staff("warehouse")
    manager = _client(make_staff("manager"))
    add = reverse("admin:inventory_stafflocation_add")

    created = manager.post(add, {"user": picker.pk, "location": nwk.pk})
    again = manager.post(add, {"user": picker.pk, "location": nwk.pk})
    by_warehouse = _client(picker).post(add, {"user": picker.pk, "location": nwk.pk})

    assert created.status_code == 302
    assert list(StaffLocation.objects.values_list("user", "location")) == [(picker.pk, nwk.pk)]
    assert again.status_code == 200
    assert f"This user ({picker}) is already assigned to NWK1." in again.content.decode()
    assert "already exists" not in again.content.decode()
    assert by_warehouse.status_code == 403
    assert StaffLocation.objects.count() == 1
