"""Products, locations and reservations in the console: writes go through the
inventory services, and the network totals follow."""

import pytest
from django.contrib import messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse

from inventory.models import (
    Location,
    MovementReason,
    NetworkStock,
    Product,
    ReservationStatus,
    StockMovement,
)
from tests.factories import LocationFactory
from tests.inventory.legacy import legacy_reservation

pytestmark = pytest.mark.django_db


def test_release_reservation_action_gives_units_back(admin_client, stocked_level, operator):
    # given a location reservation made before they were replaced by network ones
    reservation = legacy_reservation(
        location=stocked_level.location,
        product=stocked_level.product,
        quantity=3,
        reference="Q-1",
        actor=operator,
    )
    changelist = reverse("admin:inventory_stockreservation_changelist")
    selection = {"action": "release_reservations", ACTION_CHECKBOX_NAME: [reservation.pk]}

    confirmation = admin_client.post(changelist, selection)
    assert confirmation.status_code == 200
    reservation.refresh_from_db()
    assert reservation.status == ReservationStatus.ACTIVE

    response = admin_client.post(changelist, {**selection, "apply": "yes"})

    assert response.status_code == 302
    reservation.refresh_from_db()
    stocked_level.refresh_from_db()
    assert reservation.status == ReservationStatus.RELEASED
    assert stocked_level.reserved == 0
    movement = StockMovement.objects.latest("id")
    assert (movement.reason, movement.delta) == (MovementReason.RESERVATION_RELEASE, -3)


def test_warehouse_staff_cannot_release_reservations(client_for, world):
    reservation = world["reservation"]
    client = client_for("warehouse")

    client.post(
        reverse("admin:inventory_stockreservation_changelist"),
        {"action": "release_reservations", ACTION_CHECKBOX_NAME: [reservation.pk], "apply": "yes"},
    )

    reservation.refresh_from_db()
    assert reservation.status == ReservationStatus.ACTIVE


def test_closing_a_location_takes_its_stock_out_of_the_network(admin_client, stocked_level):
    location = stocked_level.location
    changelist = reverse("admin:inventory_location_changelist")
    network = NetworkStock.objects.get(product=stocked_level.product)
    assert network.available == 10

    admin_client.post(
        changelist,
        {"action": "close_locations", ACTION_CHECKBOX_NAME: [location.pk], "apply": "yes"},
    )

    location.refresh_from_db()
    network.refresh_from_db()
    assert location.is_active is False
    assert network.available == 0

    admin_client.post(
        changelist,
        {"action": "open_locations", ACTION_CHECKBOX_NAME: [location.pk], "apply": "yes"},
    )

    network.refresh_from_db()
    assert network.available == 10


def test_location_active_flag_is_not_a_checkbox(admin_client, stocked_level):
    response = admin_client.get(
        reverse("admin:inventory_location_change", args=[stocked_level.location.pk])
    )

    assert "is_active" not in response.context["adminform"].form.fields


def test_adding_a_location_validates_and_geocodes_its_address(admin_client):
    url = reverse("admin:inventory_location_add")
    data = {
        "code": "sfo1",
        "name": "San Francisco store",
        "kind": "store",
        "ships": "on",
        "pickup": "on",
        "priority": "10",
        "cost_per_shipment": "0",
        "line1": "1 Market St",
        "city": "San Francisco",
        "country": "US",
        "postal_code": "00000",
    }

    refused = admin_client.post(url, data)
    assert refused.context["adminform"].form.errors == {"postal_code": ["Not a known US ZIP code."]}
    assert not Location.objects.exists()

    accepted = admin_client.post(url, {**data, "postal_code": "94105"})

    assert accepted.status_code == 302
    location = Location.objects.get()
    assert location.code == "SFO1"
    assert location.latitude is not None


def test_adding_a_product_creates_its_network_row(admin_client):
    response = admin_client.post(
        reverse("admin:inventory_product_add"),
        {
            "sku": "tea-01",
            "name": "Tea",
            "list_price": "4.50",
            "currency": "USD",
            "weight_grams": "100",
            "customization_fields": "[]",
            "is_returnable": "on",
            "is_active": "on",
            "_continue": "Save and continue editing",
        },
    )

    assert response.status_code == 302
    product = Product.objects.get()
    assert product.sku == "TEA-01"
    assert NetworkStock.objects.filter(product=product).exists()
    assert response.url == reverse("admin:inventory_product_change", args=[product.pk])


def test_closing_locations_tells_what_it_did_and_what_needed_nothing(admin_client, stocked_level):
    # given one open location and one already closed
    open_one = stocked_level.location
    closed = LocationFactory(code="SFO1", is_active=False)
    changelist = reverse("admin:inventory_location_changelist")

    response = admin_client.post(
        changelist,
        {
            "action": "close_locations",
            ACTION_CHECKBOX_NAME: [open_one.pk, closed.pk],
            "apply": "yes",
        },
        follow=True,
    )
    again = admin_client.post(
        changelist,
        {"action": "close_locations", ACTION_CHECKBOX_NAME: [closed.pk], "apply": "yes"},
        follow=True,
    )

    assert [(m.level, m.message) for m in response.context["messages"]] == [
        (messages.SUCCESS, "Closed 1 location.")
    ]
    assert [(m.level, m.message) for m in again.context["messages"]] == [
        (messages.WARNING, "Every selected location was already closed.")
    ]
    open_one.refresh_from_db()
    assert open_one.is_active is False
