import datetime as dt
import re
from decimal import Decimal
from unittest import mock

import pytest
from django.core import mail, signing
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from core.actors import ActorKind
from customers.models import NotificationEvent
from fulfillment import operations as ops
from fulfillment.models import FulfillmentOrder
from fulfillment.routing import route_order
from fulfillment.simulation import advance_simulated_shipments
from oms.notifications import send_order_notification
from orders.models import OrderEvent, OrderStatus
from selfservice import links
from tests.factories import CustomerFactory, LocationFactory, ShippingMethodFactory

from .conftest import SYSTEM_ACTOR, place, receive

pytestmark = pytest.mark.django_db

CSRF = re.compile(rb'name="csrfmiddlewaretoken" value="[^"]+"')


def test_a_signed_link_opens_the_page(client, routed):
    order, _ = routed
    response = client.get(links.status_path(order))
    assert response.status_code == 200
    assert order.number in response.content.decode()


def test_the_absolute_link_starts_with_the_public_address(routed, settings):
    order, _ = routed
    settings.OMS_PUBLIC_URL = "https://shop.example/"
    assert links.status_url(order).startswith("https://shop.example/orders/status/")


def test_an_expired_link_shows_the_lookup_form(client, routed):
    order, _ = routed
    path = links.status_path(order, days=1)
    later = dt.datetime.now(dt.UTC).timestamp() + 2 * 86400
    with mock.patch("django.core.signing.time.time", return_value=later):
        response = client.get(path)
    assert response.status_code == 410
    body = response.content.decode()
    assert "This link has expired" in body
    assert 'name="number"' in body
    assert order.number not in body


def test_a_tampered_link_shows_the_lookup_form(client, routed):
    order, _ = routed
    token = links.make_token(order.pk)
    other = token.replace(f"{order.pk}.", f"{order.pk + 1}.", 1)
    for bad in (other, token[:-2] + "xx", "nonsense"):
        response = client.get(reverse("selfservice:status", kwargs={"token": bad}))
        assert response.status_code == 400
        assert "This link is not valid" in response.content.decode()


def test_a_link_signed_with_another_salt_is_refused(client, routed):
    order, _ = routed
    token = signing.TimestampSigner(salt="other").sign(f"{order.pk}.30")
    response = client.get(reverse("selfservice:status", kwargs={"token": token}))
    assert response.status_code == 400


def test_lookup_by_email_and_by_postal_code_redirects_to_the_signed_page(client, routed):
    order, _ = routed
    url = reverse("selfservice:lookup")
    by_email = client.post(url, {"number": order.number.lower(), "email": order.email.upper()})
    by_postal = client.post(url, {"number": order.number, "postal_code": " 10001 "})
    for response in (by_email, by_postal):
        assert response.status_code == 302
        page = client.get(response["Location"])
        assert page.status_code == 200
        assert order.number in page.content.decode()


def test_a_wrong_pair_answers_exactly_like_an_unknown_order(client, routed):
    order, _ = routed
    url = reverse("selfservice:lookup")
    wrong = client.post(url, {"number": order.number, "email": "someone@else.example"})
    wrong_postal = client.post(url, {"number": order.number, "postal_code": "99999"})
    unknown = client.post(url, {"number": "NO-SUCH-ORDER", "email": "someone@else.example"})
    assert wrong.status_code == wrong_postal.status_code == unknown.status_code == 404
    bodies = {CSRF.sub(b"", r.content) for r in (wrong, wrong_postal, unknown)}
    assert len(bodies) == 1
    assert b"We could not find an order" in unknown.content
    assert order.number.encode() not in wrong.content


def test_lookups_are_limited_per_address(client, routed, settings):
    settings.OMS_STATUS_LOOKUPS_PER_MINUTE = 3
    url = reverse("selfservice:lookup")
    answers = [
        client.post(url, {"number": "X", "email": "a@b.example"}).status_code for _ in range(4)
    ]
    assert answers == [404, 404, 404, 429]
    refused = client.post(url, {"number": "X", "email": "a@b.example"})
    assert int(refused["Retry-After"]) >= 1
    assert "Too many attempts" in refused.content.decode()
    other = client.post(url, {"number": "X", "email": "a@b.example"}, REMOTE_ADDR="198.51.100.7")
    assert other.status_code == 404


def test_a_shipped_order_shows_carrier_tracking_link_and_scans(client, routed, sim, settings):
    settings.OMS_SIMULATED_CARRIER_STEP_MINUTES = 1
    sim.tracking_url_template = "https://track.example/?n={tracking_number}&l=en"
    sim.save()
    order, fo = routed
    shipment = ops.ship_fulfillment_order(fo_id=fo.pk, actor=SYSTEM_ACTOR)
    advance_simulated_shipments(now=timezone.now() + dt.timedelta(minutes=2))
    response = client.get(links.status_path(order))
    body = response.content.decode()
    assert "Simulated Carrier" in body
    assert shipment.tracking_number in body
    assert shipment.tracking_url
    assert shipment.tracking_url in body.replace("&amp;", "&")
    assert "Cancel this order" not in body
    assert "In transit" in body


def test_a_pickup_order_shows_readiness_and_code(client, network, products, method):
    ShippingMethodFactory(
        code="PICKUP",
        name="Store pickup",
        service_level="pickup",
        carrier=None,
        transit_days_min=0,
        transit_days_max=0,
        price=Decimal("0"),
    )
    store = LocationFactory(code="ST-1", kind="store", pickup=True, name="Fifth Avenue store")
    receive(store, products[0], 2)
    order = place(
        [(products[0], 2)],
        shipping_method_code="PICKUP",
        pickup_location_code="ST-1",
        customer=CustomerFactory(),
    )
    route_order(order_id=order.pk)
    fo = FulfillmentOrder.objects.get(order=order)
    before = client.get(links.status_path(order)).content.decode()
    assert "Not ready yet" in before
    assert fo.pickup_code not in before

    ops.mark_ready_for_pickup(fo_id=fo.pk, actor=SYSTEM_ACTOR)

    after = client.get(links.status_path(order)).content.decode()
    assert "Fifth Avenue store" in after
    assert "Ready for pickup" in after
    assert fo.pickup_code in after


def test_cancel_asks_for_confirmation_then_cancels_as_the_customer(client, routed):
    order, _ = routed
    path = reverse("selfservice:cancel", kwargs={"token": links.make_token(order.pk)})
    confirm = client.get(path)
    assert confirm.status_code == 200
    assert "Yes, cancel my order" in confirm.content.decode()
    order.refresh_from_db()
    assert order.status != OrderStatus.CANCELLED

    done = client.post(path)

    assert done.status_code == 302
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    event = OrderEvent.objects.filter(order=order, actor_kind=ActorKind.CUSTOMER).get()
    assert event.actor_label == order.email
    page = client.get(done["Location"]).content.decode()
    assert "Your order was cancelled" in page


def test_cancel_is_refused_once_fulfillment_started(client, routed):
    order, fo = routed
    line = fo.lines.first()
    ops.ship_fulfillment_order(fo_id=fo.pk, actor=SYSTEM_ACTOR, quantities={line.pk: 1})
    path = reverse("selfservice:cancel", kwargs={"token": links.make_token(order.pk)})
    events = OrderEvent.objects.filter(order=order).count()

    for response in (client.get(path), client.post(path)):
        assert response.status_code == 409
        assert "can no longer be cancelled" in response.content.decode()

    order.refresh_from_db()
    assert order.status != OrderStatus.CANCELLED
    assert OrderEvent.objects.filter(order=order).count() == events


def test_the_page_runs_a_fixed_number_of_queries(client, routed):
    """Nine queries with one shipment or several (each with its invoice and scans)."""
    order, fo = routed
    path = links.status_path(order)
    first, *others = list(fo.lines.all())
    ops.ship_fulfillment_order(fo_id=fo.pk, actor=SYSTEM_ACTOR, quantities={first.pk: 1})
    with CaptureQueriesContext(connection) as one:
        client.get(path)
    for line in others:
        ops.ship_fulfillment_order(fo_id=fo.pk, actor=SYSTEM_ACTOR, quantities={line.pk: 1})
    with CaptureQueriesContext(connection) as several:
        client.get(path)
    assert len(one.captured_queries) == len(several.captured_queries) == 9


def test_customer_emails_carry_a_working_link_to_the_page(client, routed, settings):
    settings.OMS_PUBLIC_URL = "http://testserver"
    order, fo = routed
    shipment = ops.ship_fulfillment_order(fo_id=fo.pk, actor=SYSTEM_ACTOR)
    mail.outbox.clear()
    send_order_notification(
        order_id=order.pk, event=NotificationEvent.SHIPPED, shipment_id=shipment.pk
    )
    (message,) = mail.outbox
    text_link = re.search(r"Track your order: (\S+)", message.body)
    assert text_link is not None
    html = message.alternatives[0][0]
    assert f'href="{text_link.group(1)}"' in html
    response = client.get(text_link.group(1).removeprefix("http://testserver"))
    assert response.status_code == 200
    assert order.number in response.content.decode()
