"""The status page's actions: change the address, confirm it for an address hold, start
a return and print its label. Each goes through the console's service, asks for a
confirmation first, and leaves the customer's event on the order's timeline; a refusal
changes nothing."""

import pytest
from django.urls import reverse

from core.actors import ActorKind
from core.models import OutboxEvent
from fulfillment.models import FulfillmentOrder, FulfillmentStatus, RequestStatus
from inventory.models import LocationKind
from orders.models import HoldKind, OrderEvent, OrderEventType, OrderHold
from orders.placement import LineRequest, OrderRequest, place_order
from returns.models import ReturnMethod, ReturnRequest
from selfservice import links
from tests.factories import CustomerFactory, LocationFactory
from tests.places import NEW_YORK, make_location
from tests.returns.conftest import default_policy, delivered_order, reasons, warehouse

from .conftest import SYSTEM_ACTOR, receive

__all__ = ["default_policy", "reasons", "warehouse"]

pytestmark = pytest.mark.django_db

NEWARK_ADDRESS = {
    "ship_name": "Pat Doe",
    "ship_line1": "1 Broad St",
    "ship_city": "Newark",
    "ship_region": "NJ",
    "ship_postal_code": "07102",
    "ship_country": "us",
}


_TOKENS: dict[int, str] = {}


def url(name, order, **kwargs):
    """A page of the order under one signed link (a token per order, as an e-mail has)."""
    token = _TOKENS.setdefault(order.pk, links.make_token(order.pk))
    return reverse(f"selfservice:{name}", kwargs={"token": token, **kwargs})


def customer_events(order):
    return list(OrderEvent.objects.filter(order=order, actor_kind=ActorKind.CUSTOMER))


# --- the delivery address ---------------------------------------------------------------


def test_the_address_changes_after_its_confirmation_as_the_customer(client, routed):
    order, fo = routed
    page = client.get(links.status_path(order)).content.decode()
    assert "Change the delivery address" in page
    form = client.get(url("address", order))
    assert form.status_code == 200
    assert 'value="350 Fifth Avenue"' in form.content.decode()

    review = client.post(url("address", order), {**NEWARK_ADDRESS, "step": "review"})

    assert review.status_code == 200
    body = review.content.decode()
    assert "Yes, ship to this address" in body
    assert "Newark, NJ 07102" in body  # as the check stores it: the country upper-cased
    order.refresh_from_db()
    assert order.ship_city == "New York"
    assert customer_events(order) == []

    done = client.post(url("address", order), {**NEWARK_ADDRESS, "step": "confirm"})

    assert done.status_code == 302
    order.refresh_from_db()
    assert (order.ship_city, order.ship_region, order.ship_country) == ("Newark", "NJ", "US")
    [event] = [e for e in customer_events(order) if e.type == OrderEventType.EDITED]
    assert event.actor_label == order.email
    assert "Newark" in event.message
    fo.refresh_from_db()
    assert fo.status == FulfillmentStatus.CANCELLED  # replaced by the re-routing service
    assert "1 Broad St" in client.get(done["Location"]).content.decode()


def test_an_address_the_check_refuses_is_shown_on_its_field_and_changes_nothing(client, routed):
    order, _ = routed
    wrong_state = {**NEWARK_ADDRESS, "ship_region": "NY"}
    for step in ("review", "confirm"):
        response = client.post(url("address", order), {**wrong_state, "step": step})
        assert response.status_code == 400
        assert "ZIP code 07102 is in NJ, not NY" in response.content.decode()
    missing = client.post(url("address", order), {"ship_country": "US", "step": "review"})
    assert missing.status_code == 400
    assert "This field is required." in missing.content.decode()
    order.refresh_from_db()
    assert order.ship_city == "New York"
    assert customer_events(order) == []


@pytest.mark.parametrize("started", ["picking", "partner"])
def test_a_change_refused_by_the_service_is_a_message_and_nothing_changes(client, routed, started):
    order, fo = routed
    assert client.get(url("address", order)).status_code == 200
    # Between the form and the confirmation, the warehouse starts, or a partner accepts.
    if started == "picking":
        FulfillmentOrder.objects.filter(pk=fo.pk).update(status=FulfillmentStatus.IN_PROGRESS)
    else:
        FulfillmentOrder.objects.filter(pk=fo.pk).update(request_status=RequestStatus.ACCEPTED)
    events = OrderEvent.objects.filter(order=order).count()

    response = client.post(url("address", order), {**NEWARK_ADDRESS, "step": "confirm"})

    assert response.status_code == 409
    assert "can no longer change here. Nothing was changed." in response.content.decode()
    order.refresh_from_db()
    assert order.ship_city == "New York"
    assert OrderEvent.objects.filter(order=order).count() == events
    fo.refresh_from_db()
    assert fo.status != FulfillmentStatus.CANCELLED
    # And the page no longer offers it.
    assert (
        "Change the delivery address" not in client.get(links.status_path(order)).content.decode()
    )
    assert client.get(url("address", order)).status_code == 409


def test_a_pickup_order_has_no_address_to_change(client, routed):
    order, _ = routed
    order.pickup_location = LocationFactory(kind=LocationKind.STORE, pickup=True)
    order.save(update_fields=["pickup_location"])
    assert client.get(url("address", order)).status_code == 409


# --- an order held for its address --------------------------------------------------------


@pytest.fixture
def address_held(network, products, method):
    """An order to London with no postal code: the hold rules hold it for its address."""
    receive(network["NWK"], products[0], 5)
    return place_order(
        request=OrderRequest(
            customer=CustomerFactory(),
            channel="web",
            shipping_method_code="STANDARD",
            shipping_address={
                "name": "Pat",
                "line1": "10 Downing St",
                "city": "London",
                "country": "GB",
            },
            lines=[LineRequest(sku=products[0].sku, quantity=1)],
        ),
        actor=SYSTEM_ACTOR,
    ).order


def open_address_holds(order):
    return OrderHold.objects.filter(order=order, kind=HoldKind.ADDRESS, released_at__isnull=True)


def test_confirming_a_held_address_is_a_note_for_the_agent_and_the_hold_stays(client, address_held):
    order = address_held
    assert open_address_holds(order).exists()
    page = client.get(links.status_path(order)).content.decode()
    assert "Confirm or correct your address" in page
    form = client.get(url("address", order)).content.decode()
    assert "This address is right" in form

    done = client.post(url("address-confirm", order))

    assert done.status_code == 200
    assert "Thank you" in done.content.decode()
    [event] = customer_events(order)
    assert event.type == OrderEventType.NOTE
    assert event.actor_label == order.email
    assert "confirmed the delivery address" in event.message
    # Address holds are released by an agent: the confirmation leaves it to them.
    assert open_address_holds(order).exists()


def test_correcting_a_held_address_lets_the_hold_rules_release_it(client, address_held):
    order = address_held
    corrected = {**NEWARK_ADDRESS, "ship_name": "Pat Doe"}
    client.post(url("address", order), {**corrected, "step": "review"})
    assert open_address_holds(order).exists()

    done = client.post(url("address", order), {**corrected, "step": "confirm"})

    assert done.status_code == 302
    assert not open_address_holds(order).exists()
    # The last hold gone, the order goes on as after a release (routing, webhooks).
    assert OutboxEvent.objects.filter(topic="order.released", payload__order_id=order.pk).exists()
    released = OrderEvent.objects.get(order=order, type=OrderEventType.HOLD_RELEASED)
    assert released.actor_kind == ActorKind.SYSTEM
    assert OrderEventType.EDITED in [e.type for e in customer_events(order)]


def test_there_is_nothing_to_confirm_without_an_address_hold(client, routed):
    order, _ = routed
    response = client.post(url("address-confirm", order))
    assert response.status_code == 409
    assert customer_events(order) == []


# --- returns ------------------------------------------------------------------------------


@pytest.fixture
def stores(db):
    """Two stores taking returns, near and far from the customer in Manhattan."""
    return [
        make_location(
            "ST-NY",
            NEW_YORK,
            kind=LocationKind.STORE,
            name="Fifth Avenue store",
            accepts_returns=True,
        ),
        make_location(
            "ST-NWK",
            {"postal_code": "07102", "city": "Newark", "region": "NJ"},
            kind=LocationKind.STORE,
            name="Newark store",
            accepts_returns=True,
        ),
    ]


@pytest.fixture
def delivered(default_policy, warehouse, stores):
    return delivered_order(quantity=2)


def return_data(order, **extra):
    line = order.lines.get()
    return {
        f"quantity_{line.pk}": "1",
        f"reason_{line.pk}": "no_longer_needed",
        "method": ReturnMethod.MAIL,
        "resolution": "refund",
        "nonce": "n1",
        **extra,
    }


def test_a_return_is_started_after_its_confirmation_and_its_label_downloads(client, delivered):
    order = delivered
    page = client.get(links.status_path(order)).content.decode()
    assert "Return items" in page
    form = client.get(url("return", order)).content.decode()
    assert "Fifth Avenue store" in form  # the nearest store first
    assert form.index("Fifth Avenue store") < form.index("Newark store")
    assert '<option value="2">2</option>' in form  # the returnable units, no more

    review = client.post(url("return", order), {**return_data(order), "step": "review"})

    assert review.status_code == 200
    assert "Yes, start my return" in review.content.decode()
    assert not ReturnRequest.objects.exists()

    done = client.post(url("return", order), {**return_data(order), "step": "confirm"})

    assert done.status_code == 302
    rma = ReturnRequest.objects.get()
    assert (rma.method, rma.resolution) == (ReturnMethod.MAIL, "refund")
    assert done["Location"] == url("return-done", order, rma=rma.number)
    [event] = customer_events(order)
    assert event.type == OrderEventType.RETURN_REQUESTED
    assert event.actor_label == order.email
    after = client.get(done["Location"]).content.decode()
    assert rma.number in after
    label_url = url("return-label", order, rma=rma.number)
    assert label_url in after
    label = client.get(label_url)
    assert label.status_code == 200
    assert label["Content-Type"] == "application/pdf"
    assert label.content.startswith(b"%PDF")
    # The order's page lists it with its label.
    assert label_url in client.get(url("status", order)).content.decode()

    # A second click on the same confirmation gets the same return, not another.
    again = client.post(url("return", order), {**return_data(order), "step": "confirm"})
    assert again["Location"] == done["Location"]
    assert ReturnRequest.objects.count() == 1


def test_a_drop_off_goes_to_the_store_the_customer_chose(client, delivered, stores):
    order = delivered
    data = return_data(
        order, method=ReturnMethod.DROP_OFF, store=str(stores[1].pk), resolution="store_credit"
    )
    no_store = return_data(order, method=ReturnMethod.DROP_OFF)
    refused = client.post(url("return", order), {**no_store, "step": "review"})
    assert refused.status_code == 400
    assert "Choose the store" in refused.content.decode()

    review = client.post(url("return", order), {**data, "step": "review"})
    assert "Newark store" in review.content.decode()
    done = client.post(url("return", order), {**data, "step": "confirm"})

    rma = ReturnRequest.objects.get()
    assert (rma.method, rma.destination) == (ReturnMethod.DROP_OFF, stores[1])
    assert rma.resolution == "store_credit"
    assert "Newark store" in client.get(done["Location"]).content.decode()


def test_a_policy_refusal_names_the_rule_and_writes_nothing(client, default_policy, stores):
    order = delivered_order(quantity=1, days_ago=40)
    events = OrderEvent.objects.filter(order=order).count()
    for step in ("review", "confirm"):
        response = client.post(url("return", order), {**return_data(order), "step": step})
        assert response.status_code == 422
        body = response.content.decode()
        assert "return window" in body
        assert f"rule “{default_policy.name}" in body.replace("&ldquo;", "“")
    assert not ReturnRequest.objects.exists()
    assert OrderEvent.objects.filter(order=order).count() == events


def test_a_label_of_another_order_is_not_found(client, delivered, default_policy):
    other = delivered_order(quantity=1)
    client.post(url("return", other), {**return_data(other), "step": "confirm"})
    rma = ReturnRequest.objects.get(order=other)
    assert client.get(url("return-label", delivered, rma=rma.number)).status_code == 404
    assert client.get(url("return-done", delivered, rma=rma.number)).status_code == 404


def test_an_order_with_nothing_delivered_offers_no_return(client, routed):
    order, _ = routed
    assert "Return items" not in client.get(links.status_path(order)).content.decode()
    assert client.get(url("return", order)).status_code == 409
