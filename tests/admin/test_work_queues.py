"""The work queues page (held orders by kind, fulfillment at risk, exceptions,
backorders) and each staff user's saved filters."""

import datetime as dt

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from core import refcache
from core.actors import Actor
from core.models import SavedFilter
from fulfillment import operations
from fulfillment.models import FulfillmentOrder, RequestStatus, Shipment
from fulfillment.sla import flag_at_risk
from inventory.models import Location, LocationKind, StaffLocation
from orders import services as order_services
from orders.models import Order, OrderHold, PaymentStatus
from tests.admin.factories import OrderFactory
from tests.admin.test_fulfillment_work import SYSTEM, place_and_route, receive
from tests.factories import (
    CarrierFactory,
    LocationFactory,
    ProductFactory,
    ShippingMethodFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

QUEUES = reverse("admin:core_workqueue_changelist")
SAVED = reverse("admin:core_savedfilter_changelist")
SAVE = reverse("admin:core_savedfilter_add")
ORDERS = reverse("admin:orders_order_changelist")
# A superuser's page: session, user, the user's staff locations, then per queue its rows
# and its bounded count (held orders: the count by kind and the rows), and the saved
# filters. Whatever the rows, the same number.
QUEUE_PAGE_QUERIES = 2 + 1 + 2 * 6 + 1


@pytest.fixture(autouse=True)
def _fresh_refcache():
    refcache.clear()
    yield
    refcache.clear()


@pytest.fixture
def network(db):
    CarrierFactory(code="SIM", name="Simulated Carrier")
    ShippingMethodFactory()
    return LocationFactory(code="NWK1"), LocationFactory(code="DAL1")


def fo_at(location: Location) -> FulfillmentOrder:
    product = ProductFactory()
    receive(location, product, 1)
    return place_and_route([(product, 1)])[1]


def staff(role: str, username: str = "") -> tuple[Client, object]:
    user = UserFactory(username=username or f"{role}-queues")
    user.groups.add(Group.objects.get(name=role))
    client = Client()
    client.force_login(user)
    return client, user


def queues_of(response) -> dict[str, object]:
    assert response.status_code == 200
    return {queue.key: queue for queue in response.context["queues"]}


def make_everything(network, admin_user):
    """One row in each queue, and one that belongs in none."""
    nwk, dal = network
    actor = Actor.for_user(admin_user)
    old = OrderFactory(lines=1)
    new = OrderFactory(lines=1)
    order_services.place_hold(order=new, kind="address", reason="No such street", actor=actor)
    order_services.place_hold(order=old, kind="fraud_review", reason="Odd card", actor=actor)
    order_services.place_hold(order=new, kind="manual", reason="Call first", actor=actor)
    OrderHold.objects.filter(order=old).update(placed_at=timezone.now() - dt.timedelta(days=3))
    late, on_time = fo_at(nwk), fo_at(dal)
    FulfillmentOrder.objects.filter(pk=late.pk).update(ship_by_date=dt.date(2020, 1, 1))
    flag_at_risk()
    partner = Location.objects.filter(code="3PL1").first() or LocationFactory(
        code="3PL1", kind=LocationKind.THIRD_PARTY
    )
    rejected = fo_at(partner)
    FulfillmentOrder.objects.filter(pk=rejected.pk).update(
        request_status=RequestStatus.REJECTED, updated_at=timezone.now()
    )
    unpaid = OrderFactory(lines=1)
    Order.objects.filter(pk=unpaid.pk).update(payment_status=PaymentStatus.FAILED)
    lost = fo_at(dal)
    shipment = operations.ship_fulfillment_order(fo_id=lost.pk, actor=SYSTEM)
    operations.record_tracking_event(
        shipment_id=shipment.pk,
        status="exception",
        occurred_at=timezone.now(),
        external_id="scan-lost",
        description="Address not found",
    )
    waiting = OrderFactory(lines=1, lines__quantity_backordered=2)
    return {
        "old": old,
        "new": new,
        "late": late,
        "on_time": on_time,
        "rejected": rejected,
        "unpaid": unpaid,
        "shipment": Shipment.objects.get(pk=shipment.pk),
        "waiting": waiting,
    }


def test_every_queue_lists_its_rows_oldest_first_each_linking_to_its_order(
    admin_client, admin_user, network
):
    rows = make_everything(network, admin_user)

    response = admin_client.get(QUEUES)
    queues = queues_of(response)
    html = response.content.decode()

    assert list(queues) == [
        "held",
        "at_risk",
        "rejections",
        "payments",
        "undeliverable",
        "backorders",
    ]
    # Held orders: by kind, with counts, the oldest kind first; rows oldest first.
    held = queues["held"]
    assert held.count == 3
    summary = str(held.summary)
    assert summary.index("Fraud review") < summary.index("Incomplete address")
    assert "3 d" in summary
    table = str(held.table)
    assert table.index(rows["old"].number) < table.index(rows["new"].number)
    assert "Call first" in table
    assert queues["at_risk"].count == 1
    assert rows["late"].number in str(queues["at_risk"].table)
    assert rows["on_time"].number not in str(queues["at_risk"].table)
    assert queues["rejections"].count == 1
    assert rows["rejected"].number in str(queues["rejections"].table)
    assert queues["payments"].count == 1
    assert rows["unpaid"].number in str(queues["payments"].table)
    assert queues["undeliverable"].count == 1
    assert rows["shipment"].order.number in str(queues["undeliverable"].table)
    assert queues["backorders"].count == 1
    assert rows["waiting"].number in str(queues["backorders"].table)
    for key in ("old", "unpaid", "waiting"):
        order_url = reverse("admin:orders_order_change", args=[rows[key].pk])
        assert f'href="{order_url}"' in html
    assert "What needs attention" in html


def test_the_full_list_links_open_the_same_rows(admin_client, admin_user, network):
    rows = make_everything(network, admin_user)
    queues = queues_of(admin_client.get(QUEUES))

    def listed(key: str) -> list:
        response = admin_client.get(queues[key].list_url)
        assert response.status_code == 200, key
        return list(response.context["cl"].result_list)

    assert len(listed("held")) == 3
    assert listed("at_risk") == [rows["late"]]
    assert listed("rejections") == [rows["rejected"]]
    assert listed("payments") == [rows["unpaid"]]
    assert listed("undeliverable") == [rows["shipment"]]


def test_a_queue_shows_only_to_those_who_may_see_its_rows(admin_user, network):
    make_everything(network, admin_user)
    warehouse, _ = staff("warehouse")
    agent, _ = staff("agent")
    finance, _ = staff("finance")

    assert set(queues_of(warehouse.get(QUEUES))) == {
        "at_risk",
        "rejections",
        "payments",
        "undeliverable",
        "backorders",
    }
    assert "held" in queues_of(agent.get(QUEUES))
    assert set(queues_of(finance.get(QUEUES))) == {"held", "payments", "backorders"}
    anonymous = Client().get(QUEUES)
    assert anonymous.status_code == 302


def test_assigned_warehouse_staff_see_their_locations_at_risk_work(admin_user, network):
    nwk, dal = network
    make_everything(network, admin_user)
    client, user = staff("warehouse")
    StaffLocation.objects.create(user=user, location=dal)

    assert queues_of(client.get(QUEUES))["at_risk"].count == 0
    StaffLocation.objects.create(user=user, location=nwk)
    assert queues_of(client.get(QUEUES))["at_risk"].count == 1


def test_the_queues_page_query_count_is_fixed(admin_client, admin_user, network):
    make_everything(network, admin_user)

    def count() -> int:
        with CaptureQueriesContext(connection) as captured:
            response = admin_client.get(QUEUES)
        assert response.status_code == 200
        return len(captured)

    few = count()
    make_everything(network, admin_user)
    SavedFilter.objects.create(user=admin_user, name="Mine", changelist=ORDERS, query="a=1")

    assert count() == few == QUEUE_PAGE_QUERIES


def test_the_queues_page_is_listed_in_the_admin_index_for_staff(client_for):
    client = client_for("warehouse")

    index = client.get(reverse("admin:index")).content.decode()

    assert f'href="{QUEUES}"' in index
    assert f'href="{SAVED}"' in index


# --- saved filters --------------------------------------------------------------------------


def test_a_list_offers_to_save_its_filter_and_the_saved_filter_opens_it(db, network):
    client, user = staff("agent")
    listed = client.get(ORDERS, {"status__exact": "placed", "q": "PO-1", "p": "2"})
    html = listed.content.decode()
    assert "Save this filter" in html
    assert "My saved filters" in html

    form = client.get(SAVE, {"changelist": ORDERS, "query": "status__exact=placed&q=PO-1&p=2"})
    assert form.context["adminform"].form.initial == {
        "changelist": ORDERS,
        "query": "status__exact=placed&q=PO-1",
    }
    saved = client.post(
        SAVE,
        {
            "name": "  Placed   PO-1 ",
            "changelist": ORDERS,
            "query": "?status__exact=placed&q=PO-1&p=2",
        },
    )

    row = SavedFilter.objects.get()
    assert (row.user, row.name, row.changelist, row.query) == (
        user,
        "Placed PO-1",
        ORDERS,
        "status__exact=placed&q=PO-1",
    )
    assert saved.status_code == 302
    assert saved["Location"] == f"{ORDERS}?status__exact=placed&q=PO-1"
    queues = client.get(QUEUES).content.decode()
    assert f'href="{ORDERS}?status__exact=placed&amp;q=PO-1"' in queues
    assert "Placed PO-1" in queues
    mine = client.get(SAVED, {"changelist": ORDERS})
    assert list(mine.context["cl"].result_list) == [row]


def test_saved_filters_are_each_users_own(db):
    ann, ann_user = staff("agent", "ann")
    bob, bob_user = staff("warehouse", "bob")
    theirs = SavedFilter.objects.create(user=ann_user, name="Held", changelist=ORDERS, query="")
    SavedFilter.objects.create(user=bob_user, name="Mine", changelist=ORDERS, query="x=1")
    page = reverse("admin:core_savedfilter_change", args=[theirs.pk])
    delete = reverse("admin:core_savedfilter_delete", args=[theirs.pk])

    assert [f.name for f in bob.get(SAVED).context["cl"].result_list] == ["Mine"]
    assert bob.get(page).status_code == 302  # no such row for bob
    bob.post(delete, {"post": "yes"})
    assert SavedFilter.objects.filter(pk=theirs.pk).exists()
    ann.post(delete, {"post": "yes"})
    assert not SavedFilter.objects.filter(pk=theirs.pk).exists()


def test_a_filter_is_refused_with_a_message_for_a_taken_name_or_a_page_that_is_no_list(db):
    client, user = staff("agent")
    SavedFilter.objects.create(user=user, name="Held", changelist=ORDERS, query="")

    taken = client.post(SAVE, {"name": "Held", "changelist": ORDERS, "query": "a=1"})
    not_a_list = client.post(
        SAVE, {"name": "Index", "changelist": reverse("admin:index"), "query": ""}
    )
    outside = client.post(SAVE, {"name": "Elsewhere", "changelist": "/nowhere/", "query": ""})

    assert taken.status_code == 200
    assert "You already have a filter named “Held” on this list." in taken.content.decode()
    for response in (not_a_list, outside):
        assert response.status_code == 200
        assert "That is not the address of a list of the back office" in response.content.decode()
    assert SavedFilter.objects.count() == 1
