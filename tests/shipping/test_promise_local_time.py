"""Delivery promises in the location's local time, kept true as the order moves: placed,
re-routed after a rejection, and when backordered units arrive; and the location's time
zone as the admin and the services set it."""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from core import refcache
from core.actors import Actor
from core.errors import InvalidInput
from core.geo import coordinates_for_postal_code
from fulfillment import operations as ops
from fulfillment.models import FulfillmentOrder, FulfillmentStatus
from fulfillment.operations import RejectionReason
from fulfillment.routing import route_backorders, route_order
from fulfillment.sla import flag_at_risk
from inventory import services as stock
from inventory.models import Location, LocationKind
from orders.models import Order
from orders.placement import LineRequest, OrderRequest, place_order
from tests.factories import (
    CarrierFactory,
    CustomerFactory,
    LocationFactory,
    ProductFactory,
    ShippingMethodFactory,
)

pytestmark = pytest.mark.django_db

SYSTEM = Actor.system("test")
DENVER_TIME = ZoneInfo("America/Denver")
DENVER = {
    "name": "Pat Buyer",
    "line1": "1701 Wynkoop St",
    "city": "Denver",
    "region": "CO",
    "postal_code": "80202",
    "country": "US",
}


def denver(*args):
    return dt.datetime(*args, tzinfo=DENVER_TIME)


@pytest.fixture(autouse=True)
def _fresh_cache():
    refcache.clear()
    yield
    refcache.clear()


@pytest.fixture
def clock(monkeypatch):
    """The wall clock (Django's ``timezone.now``), set by the test."""

    class Clock:
        now = denver(2026, 12, 7, 9, 0)

    monkeypatch.setattr(timezone, "now", lambda: Clock.now)
    return Clock


def make_location(code, postal_code, city, region, time_zone):
    lat, lng = coordinates_for_postal_code("US", postal_code)
    return LocationFactory(
        code=code,
        city=city,
        region=region,
        postal_code=postal_code,
        latitude=lat,
        longitude=lng,
        time_zone=time_zone,
    )


@pytest.fixture
def den(db):
    return make_location("DEN-1", "80216", "Denver", "CO", "America/Denver")


@pytest.fixture
def slc(db):
    """Salt Lake City: the next warehouse from Denver (about 600 km)."""
    return make_location("SLC-1", "84104", "Salt Lake City", "UT", "America/Denver")


@pytest.fixture
def standard(db):
    """14:00 cut-off, Monday to Friday, 2 days near, 4 days far."""
    return ShippingMethodFactory(
        carrier=CarrierFactory(),
        transit_days_min=2,
        transit_days_max=4,
        cutoff_time=dt.time(14, 0),
    )


@pytest.fixture
def product(db):
    return ProductFactory(list_price=Decimal("10.00"))


def place(product, quantity=1):
    return place_order(
        request=OrderRequest(
            customer=CustomerFactory(),
            channel="web",
            shipping_method_code="STANDARD",
            shipping_address=DENVER,
            lines=[LineRequest(product.sku, quantity)],
        ),
        actor=SYSTEM,
    ).order


def reload(order):
    return Order.objects.get(pk=order.pk)


# --- placed and routed on the location's clock -------------------------------------------


@pytest.mark.parametrize("server_zone", ["UTC", "America/New_York"])
@pytest.mark.parametrize(
    ("placed_at", "ships", "arrives"),
    [
        # Monday 13:30 in Denver, before the 14:00 cut-off: leaves today, 2 days near.
        (denver(2026, 12, 7, 13, 30), dt.date(2026, 12, 7), dt.date(2026, 12, 9)),
        # 14:30 in Denver: the next working day.
        (denver(2026, 12, 7, 14, 30), dt.date(2026, 12, 8), dt.date(2026, 12, 10)),
    ],
)
def test_an_order_ships_by_the_denver_cutoff_whatever_the_servers_zone(
    settings, clock, den, standard, product, server_zone, placed_at, ships, arrives
):
    settings.TIME_ZONE = server_zone
    stock.receive_stock(location=den, product=product, quantity=5, actor=SYSTEM)
    clock.now = placed_at

    order = place(product)
    route_order(order_id=order.pk)

    assert reload(order).promised_delivery_date == arrives
    fo = FulfillmentOrder.objects.get(order=order)
    assert (fo.location, fo.ship_by_date) == (den, ships)


def test_a_pickup_promise_reads_the_stores_clock(settings, clock, product):
    settings.TIME_ZONE = "America/New_York"
    store = make_location("ST-DEN", "80202", "Denver", "CO", "America/Denver")
    Location.objects.filter(pk=store.pk).update(kind=LocationKind.STORE, pickup=True)
    stock.receive_stock(location=store, product=product, quantity=5, actor=SYSTEM)
    ShippingMethodFactory(
        code="PICKUP",
        name="Store pickup",
        service_level="pickup",
        carrier=None,
        transit_days_min=0,
        transit_days_max=0,
        cutoff_time=dt.time(14, 0),
    )
    clock.now = denver(2026, 12, 7, 13, 30)  # 15:30 in New York

    order = place_order(
        request=OrderRequest(
            customer=CustomerFactory(),
            channel="web",
            shipping_method_code="PICKUP",
            pickup_location_code="ST-DEN",
            shipping_address={"name": "Pat"},
            lines=[LineRequest(product.sku, 1)],
        ),
        actor=SYSTEM,
    ).order

    assert order.promised_delivery_date == dt.date(2026, 12, 7)


# --- the promise moves when the order does -------------------------------------------------


def test_a_reroute_after_a_rejection_moves_the_promise(clock, den, slc, standard, product):
    stock.receive_stock(location=den, product=product, quantity=5, actor=SYSTEM)
    stock.receive_stock(location=slc, product=product, quantity=5, actor=SYSTEM)
    order = place(product)
    route_order(order_id=order.pk)
    assert reload(order).promised_delivery_date == dt.date(2026, 12, 9)
    first = FulfillmentOrder.objects.get(order=order)
    assert first.location == den

    # Wednesday morning Denver finds nothing on the shelf; Salt Lake City takes it.
    clock.now = denver(2026, 12, 9, 10, 0)
    ops.reject_fulfillment_lines(fo_id=first.pk, reason=RejectionReason.OUT_OF_STOCK, actor=SYSTEM)
    route_order(order_id=order.pk)

    second = FulfillmentOrder.objects.get(order=order, status=FulfillmentStatus.OPEN)
    assert (second.location, second.ship_by_date) == (slc, dt.date(2026, 12, 9))
    # Leaves Wednesday, about 600 km: the midpoint of 2 and 4 days, 3 working days.
    assert reload(order).promised_delivery_date == dt.date(2026, 12, 14)


def test_the_first_routing_keeps_the_promise_the_buyer_was_given(
    clock, den, slc, standard, product
):
    """Routed far away on the day, the order keeps its promise; the SLA monitor, not a
    quietly moved date, shows it is at risk."""
    stock.receive_stock(location=slc, product=product, quantity=5, actor=SYSTEM)
    order = place(product)  # promised from Denver, the nearest warehouse, which has none
    promised = reload(order).promised_delivery_date
    assert promised == dt.date(2026, 12, 9)

    route_order(order_id=order.pk)

    assert FulfillmentOrder.objects.get(order=order).location == slc
    assert reload(order).promised_delivery_date == promised


def test_arriving_backorders_move_the_promise_and_the_sla_monitor_reads_it(
    clock, den, standard, product
):
    product.allow_backorder = True
    product.save()
    order = place(product, quantity=2)  # nothing in stock: backordered
    assert order.lines.get().quantity_backordered == 2
    promised = reload(order).promised_delivery_date
    assert promised == dt.date(2026, 12, 9)  # the estimate, as if in stock

    # The stock arrives on Thursday afternoon, after the cut-off.
    clock.now = denver(2026, 12, 10, 15, 0)
    stock.receive_stock(location=den, product=product, quantity=5, actor=SYSTEM)
    assert route_backorders() == 1

    fo = FulfillmentOrder.objects.get(order=order)
    assert fo.ship_by_date == dt.date(2026, 12, 11)
    assert reload(order).promised_delivery_date == dt.date(2026, 12, 15)  # Friday + 2
    # Friday: on time against the true date, though long past the first estimate.
    assert flag_at_risk(now=denver(2026, 12, 11, 9, 0)) == 0
    fo.refresh_from_db()
    assert fo.at_risk_since is None


# --- the location's zone --------------------------------------------------------------------


def test_a_new_location_takes_its_zip_codes_zone(db):
    location = stock.create_location(
        code="den-2",
        name="Denver annex",
        kind=LocationKind.WAREHOUSE,
        address={"line1": "1 Dock Rd", "city": "Denver", "postal_code": "80216", "country": "US"},
    )

    assert location.time_zone == "America/Denver"


def test_a_location_outside_the_us_takes_the_servers_zone(settings):
    settings.TIME_ZONE = "Europe/Paris"

    location = stock.create_location(
        code="PAR-1",
        name="Paris",
        kind=LocationKind.WAREHOUSE,
        address={"line1": "1 Rue X", "city": "Paris", "postal_code": "75001", "country": "FR"},
    )

    assert location.time_zone == "Europe/Paris"


def test_an_unknown_zone_is_refused(db):
    with pytest.raises(InvalidInput) as refused:
        stock.create_location(
            code="X-1",
            name="X",
            kind=LocationKind.WAREHOUSE,
            address={"line1": "1 Rd", "city": "Denver", "postal_code": "80216", "country": "US"},
            time_zone="America/Gotham",
        )

    assert refused.value.details["fields"] == {"time_zone": "unknown"}
    assert not Location.objects.exists()


def location_form(location, **changes):
    data = {
        name: getattr(location, name)
        for name in (
            "name",
            "kind",
            "priority",
            "cost_per_shipment",
            "contact_email",
            "line1",
            "line2",
            "city",
            "region",
            "postal_code",
            "country",
            "phone",
            "time_zone",
        )
    }
    data |= {"ships": "on", "latitude": "", "longitude": "", "daily_capacity": ""}
    return data | changes


def test_the_admin_edits_a_locations_zone(admin_client, den):
    url = reverse("admin:inventory_location_change", args=[den.pk])
    assert 'value="America/Denver" selected' in admin_client.get(url).content.decode()

    response = admin_client.post(url, location_form(den, time_zone="America/Chicago"))

    assert response.status_code == 302, response.context["adminform"].form.errors
    den.refresh_from_db()
    assert den.time_zone == "America/Chicago"


def test_the_admin_refuses_an_unknown_zone_and_derives_a_blank_one(admin_client, den):
    url = reverse("admin:inventory_location_change", args=[den.pk])

    refused = admin_client.post(url, location_form(den, time_zone="Mars/Base"))
    blank = admin_client.post(url, location_form(den, time_zone=""))

    assert "time_zone" in refused.context["adminform"].form.errors
    assert blank.status_code == 302
    den.refresh_from_db()
    assert den.time_zone == "America/Denver"  # from the ZIP code 80216


def test_the_admin_creates_a_location_with_its_zone(admin_client):
    url = reverse("admin:inventory_location_add")
    data = {
        "code": "nyc-1",
        "name": "New York store",
        "kind": LocationKind.STORE,
        "priority": "100",
        "cost_per_shipment": "0",
        "line1": "151 W 34th St",
        "city": "New York",
        "region": "NY",
        "postal_code": "10001",
        "country": "US",
        "time_zone": "",
        "ships": "on",
    }

    response = admin_client.post(url, data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    assert Location.objects.get(code="NYC-1").time_zone == "America/New_York"
