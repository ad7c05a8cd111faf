"""Carrier pickups of returns: refused (nothing written) where no carrier offers them,
booked once when the return is approved, shown in the API and on the admin page, and
found again by the carriers' tracking webhook."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from core.actors import Actor
from core.models import OutboxEvent
from customers.api_keys import create_api_key
from fulfillment.carriers import (
    PickupAddress,
    PickupNotOffered,
    PickupUnavailable,
    SimulatedCarrier,
)
from orders.models import OrderEvent, OrderLine
from returns import pickup, services
from returns.models import ReturnEvent, ReturnEventType, ReturnRequest, ReturnStatus
from returns.services import ReturnLineInput
from returns.tasks import book_pickup_event
from returns.tracking import find_tracked_return
from shipping.models import Carrier
from tests.factories import CarrierFactory, CompanyFactory, CustomerFactory

from .conftest import delivered_order

pytestmark = pytest.mark.django_db

CUSTOMER = Actor.api_client("storefront/test")


@pytest.fixture
def sim(db):
    return CarrierFactory(code="SIM")


@pytest.fixture
def collects(sim):
    sim.offers_return_pickup = True
    sim.save(update_fields=["offers_return_pickup"])
    return sim


def ask(order, reason="no_longer_needed"):
    line = order.lines.get()
    return services.request_return(
        order=order,
        lines=[ReturnLineInput(order_line_id=line.pk, quantity=1, reason_code=reason)],
        method="pickup",
        actor=CUSTOMER,
    )


def pickup_events(rma):
    return ReturnEvent.objects.filter(request=rma, type=ReturnEventType.PICKUP)


def test_refused_when_no_carrier_offers_pickups(sim, default_policy, warehouse):
    order = delivered_order()

    with pytest.raises(PickupNotOffered) as refused:
        ask(order)

    assert refused.value.code == "pickup_not_offered"
    assert not ReturnRequest.objects.exists()
    assert not OutboxEvent.objects.filter(topic__startswith="return.").exists()
    assert not OrderEvent.objects.filter(order=order, payload__has_key="return").exists()
    assert OrderLine.objects.get(order=order).quantity_return_requested == 0


def test_the_api_refuses_it_as_problem_json(
    sim, default_policy, warehouse, django_capture_on_commit_callbacks
):
    company = CompanyFactory()
    CustomerFactory(company=company, company_role="buyer")
    api = APIClient()
    api.credentials(
        HTTP_AUTHORIZATION=f"Bearer {create_api_key(company=company, name='erp').raw_key}"
    )
    order = delivered_order(company=company)
    data = {"method": "pickup", "lines": [{"line_number": 1, "quantity": 1, "reason": "damaged"}]}

    refused = api.post(
        f"/api/v1/orders/{order.number}/returns/", data, format="json", HTTP_IDEMPOTENCY_KEY="p1"
    )
    assert refused.status_code == 422, refused.content
    assert refused["Content-Type"].startswith("application/problem+json")
    assert refused.json()["code"] == "pickup_not_offered"
    assert not ReturnRequest.objects.exists()

    sim.offers_return_pickup = True
    sim.save(update_fields=["offers_return_pickup"])
    # "damaged" is approved by the policy at once: the pickup is booked after commit.
    with django_capture_on_commit_callbacks(execute=True):
        created = api.post(
            f"/api/v1/orders/{order.number}/returns/",
            data,
            format="json",
            HTTP_IDEMPOTENCY_KEY="p2",
        )
    assert created.status_code == 201, created.content
    rma = ReturnRequest.objects.get()
    shown = api.get(f"/api/v1/returns/{rma.number}/").json()["pickup"]
    assert shown["carrier"] == "SIM"
    assert shown["confirmation"] == rma.pickup_confirmation != ""
    assert shown["date"] == rma.pickup_date.isoformat()


def test_booked_once_on_approval(collects, default_policy, warehouse, agent_actor):
    order = delivered_order()
    rma = ask(order)
    assert rma.status == ReturnStatus.REQUESTED
    assert rma.carrier == collects
    # Not approved yet: nothing to book.
    assert pickup.book_return_pickup(request_id=rma.pk) is None

    services.approve_return(request_id=rma.pk, actor=agent_actor)
    approved = OutboxEvent.objects.get(topic="return.approved", payload__return_id=rma.pk)
    book_pickup_event.apply(args=[[approved.pk]], throw=True)
    book_pickup_event.apply(args=[[approved.pk]], throw=True)  # a redelivered event

    rma.refresh_from_db()
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    assert rma.pickup_confirmation.startswith("PU")
    assert tomorrow <= rma.pickup_date <= tomorrow + dt.timedelta(days=4)
    assert rma.pickup_date.isoweekday() <= 5
    assert rma.tracking_number.startswith("SIM")
    assert rma.tracking_status == "label_created"
    assert pickup_events(rma).count() == 1
    timeline = OrderEvent.objects.filter(order=order, payload__step="pickup")
    assert timeline.count() == 1
    assert rma.pickup_confirmation in timeline.get().message
    # The carrier's scans of the collected parcel find the return.
    assert find_tracked_return(collects, rma.tracking_number) == rma.pk


def test_the_carrier_answers_the_same_booking_for_the_same_reference():
    carrier = SimulatedCarrier()
    address = PickupAddress(
        name="A", line1="1 Main St", line2="", city="Reno", region="", postal_code="", country="US"
    )
    monday = dt.date(2026, 12, 7)
    first = carrier.book_pickup(
        address=address, earliest=monday, latest=monday, parcels=1, reference="RMA-1"
    )
    again = carrier.book_pickup(
        address=address, earliest=monday, latest=monday, parcels=1, reference="RMA-1"
    )
    assert first == again
    saturday = dt.date(2026, 12, 5)
    sunday = dt.date(2026, 12, 6)
    with pytest.raises(PickupUnavailable):
        carrier.book_pickup(
            address=address, earliest=saturday, latest=sunday, parcels=1, reference="RMA-1"
        )


def test_a_carrier_that_cannot_book_is_said_once(collects, default_policy, warehouse, agent_actor):
    order = delivered_order()
    rma = ask(order)
    services.approve_return(request_id=rma.pk, actor=agent_actor)
    # The carrier lost its integration (a manual carrier books nothing).
    Carrier.objects.filter(pk=collects.pk).update(code="MANUAL")

    assert pickup.book_return_pickup(request_id=rma.pk) is None
    assert pickup.book_return_pickup(request_id=rma.pk) is None

    rma.refresh_from_db()
    assert rma.pickup_confirmation == ""
    assert rma.tracking_number == ""
    refusal = pickup_events(rma).get()
    assert refusal.payload["code"] == "pickup_not_offered"


def test_shown_on_the_admin_page(collects, default_policy, warehouse, admin_client, agent_actor):
    order = delivered_order()
    line = order.lines.get()
    admin_client.post(
        reverse("admin:orders_order_request_return", args=[order.pk]),
        {"method": "pickup", f"quantity_{line.pk}": "1", f"reason_{line.pk}": "size_fit"},
    )
    rma = ReturnRequest.objects.get()
    page = reverse("admin:returns_returnrequest_change", args=[rma.pk])
    assert b"Not booked yet with Simulated Carrier" in admin_client.get(page).content

    services.approve_return(request_id=rma.pk, actor=agent_actor)
    pickup.book_return_pickup(request_id=rma.pk)
    rma.refresh_from_db()
    content = admin_client.get(page).content.decode()
    assert f"confirmation {rma.pickup_confirmation}" in content


def test_the_admin_refuses_pickup_where_not_offered(sim, default_policy, warehouse, admin_client):
    order = delivered_order()
    line = order.lines.get()
    refused = admin_client.post(
        reverse("admin:orders_order_request_return", args=[order.pk]),
        {"method": "pickup", f"quantity_{line.pk}": "1", f"reason_{line.pk}": "size_fit"},
    )
    assert refused.status_code == 200
    assert b"No carrier collects returns from this address" in refused.content
    assert not ReturnRequest.objects.exists()
