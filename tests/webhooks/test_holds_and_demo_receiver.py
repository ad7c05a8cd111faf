"""Holds reach companies as "order.on_hold" (placed by the rules at placement, by an
agent or billing, or after an edit), and the demo's receiver takes verified deliveries,
keeps the last N and lists them in the admin."""

import json
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from core.actors import Actor
from core.models import OutboxEvent
from fulfillment.holds import place_order_hold
from oms.demo.common import StepResult
from oms.demo.webhooks import seed_demo_webhook_receiver
from orders import drafts
from orders.models import HoldKind
from orders.placement import LineRequest, OrderRequest, place_order
from tests.billing.conftest import NEW_YORK, make_products, place_routed
from tests.factories import CompanyFactory, CustomerFactory
from webhooks import delivery, fanout, tasks
from webhooks.models import ReceivedWebhook, WebhookEvent, WebhookSubscription, new_secret
from webhooks.receiver import subscribe_demo_receiver

pytestmark = pytest.mark.django_db

AGENT = Actor.system("agent")


def buyer(**company):
    owner = CompanyFactory(credit_limit=Decimal("1000000"), **company)
    return CustomerFactory(company=owner, company_role="buyer")


def webhook_events(order, topic):
    """Fan the order's outbox events of ``topic`` out, and the webhook events made."""
    for event in OutboxEvent.objects.filter(topic=topic, payload__order_id=order.pk):
        fanout.fan_out(event, lambda e, s: None)
    return list(WebhookEvent.objects.filter(type="order.on_hold"))


def test_a_hold_an_agent_places_is_an_on_hold_event(shop, warehouse):
    [product] = make_products(warehouse, [Decimal("25.00")])
    customer = buyer()
    WebhookSubscription.objects.create(
        company=customer.company, url="http://127.0.0.1:9/hook", event_types=["order.on_hold"]
    )
    order, _ = place_routed([(product, 1)], customer=customer)
    assert webhook_events(order, "order.on_hold") == []

    place_order_hold(order=order, kind=HoldKind.MANUAL, reason="Check the engraving", actor=AGENT)

    [event] = webhook_events(order, "order.on_hold")
    assert event.payload["holds"] == ["manual"]
    assert event.payload["order"]["number"] == order.number


def test_an_order_held_at_placement_is_an_on_hold_event(shop, warehouse):
    [product] = make_products(warehouse, [Decimal("25.00")])
    customer = buyer(approval_threshold=Decimal("10.00"))
    WebhookSubscription.objects.create(
        company=customer.company, url="http://127.0.0.1:9/hook", event_types=["order.on_hold"]
    )
    order = place_order(
        request=OrderRequest(
            customer=customer,
            channel="web",
            shipping_method_code="STANDARD",
            shipping_address={
                "name": "Pat",
                "line1": "350 Fifth Avenue",
                "country": "US",
                **NEW_YORK,
            },
            lines=[LineRequest(sku=product.sku, quantity=1)],
        ),
        actor=AGENT,
    ).order

    [event] = webhook_events(order, "order.on_hold")
    assert event.payload["holds"] == [HoldKind.B2B_APPROVAL]


def test_a_submitted_draft_held_by_the_rules_is_an_on_hold_event(shop, warehouse):
    [product] = make_products(warehouse, [Decimal("25.00")])
    customer = buyer(approval_threshold=Decimal("10.00"))
    WebhookSubscription.objects.create(
        company=customer.company, url="http://127.0.0.1:9/hook", event_types=["order.on_hold"]
    )
    draft = drafts.create_draft_order(
        request=OrderRequest(
            customer=customer,
            channel="sales",
            shipping_method_code="STANDARD",
            shipping_address={
                "name": "Pat",
                "line1": "350 Fifth Avenue",
                "country": "US",
                **NEW_YORK,
            },
            lines=[LineRequest(sku=product.sku, quantity=1)],
        ),
        actor=AGENT,
    )
    assert webhook_events(draft, "order.on_hold") == []

    drafts.submit_draft_order(order_id=draft.pk, actor=AGENT)

    [event] = webhook_events(draft, "order.on_hold")
    assert event.payload["holds"] == [HoldKind.B2B_APPROVAL]


# --- the demo's receiver -------------------------------------------------------------


def signed(subscription, event_type="order.placed", secret=None):
    """A delivery as the sender makes it: its body and Standard Webhooks headers."""
    event = WebhookEvent.objects.create(
        company=subscription.company, type=event_type, payload={"order": {"number": "SO-1"}}
    )
    body = delivery.body(event)
    if secret is not None:
        subscription.secret = secret
    headers = delivery.headers(subscription, event, body, timezone.now())
    subscription.refresh_from_db()
    return body, {name: value for name, value in headers.items() if name.startswith("webhook-")}


@pytest.fixture
def demo_subscription(db, settings):
    settings.OMS_DEMO_WEBHOOK_RECEIVER = True
    subscription, _ = subscribe_demo_receiver(company_id=CompanyFactory().pk)
    return subscription


def post(client, body, headers):
    return client.post(
        reverse("demo-webhook-receiver"),
        data=body,
        content_type="application/json",
        headers=headers,
    )


def test_the_receiver_keeps_a_verified_delivery(client, demo_subscription):
    body, headers = signed(demo_subscription)

    response = post(client, body, headers)

    assert response.status_code == 204
    [received] = ReceivedWebhook.objects.all()
    assert received.subscription == demo_subscription
    assert received.webhook_id == headers["webhook-id"]
    assert received.event_type == "order.placed"
    assert received.body == json.loads(body)


def test_the_receiver_refuses_a_delivery_its_secrets_do_not_verify(client, demo_subscription):
    body, headers = signed(demo_subscription, secret=new_secret())
    response = post(client, body, headers)
    assert response.status_code == 400
    tampered = post(client, body.replace("SO-1", "SO-2"), signed(demo_subscription)[1])
    assert tampered.status_code == 400
    assert not ReceivedWebhook.objects.exists()


def test_the_receiver_keeps_the_last_n(client, demo_subscription, settings):
    settings.OMS_DEMO_WEBHOOK_RECEIVER_KEEP = 2
    ids = []
    for _ in range(3):
        body, headers = signed(demo_subscription)
        assert post(client, body, headers).status_code == 204
        ids.append(headers["webhook-id"])
    kept = list(ReceivedWebhook.objects.order_by("id").values_list("webhook_id", flat=True))
    assert kept == ids[1:]


def test_the_receiver_is_off_outside_the_demo(client, demo_subscription, settings):
    settings.OMS_DEMO_WEBHOOK_RECEIVER = False
    settings.DEBUG = False
    body, headers = signed(demo_subscription)
    assert post(client, body, headers).status_code == 404
    assert not ReceivedWebhook.objects.exists()


def test_the_admin_lists_what_the_receiver_took(admin_client, client, demo_subscription):
    body, headers = signed(demo_subscription)
    post(client, body, headers)
    page = admin_client.get(reverse("admin:webhooks_receivedwebhook_changelist"))
    assert page.status_code == 200
    assert "SO-1" in page.content.decode()
    received = ReceivedWebhook.objects.get()
    detail = admin_client.get(reverse("admin:webhooks_receivedwebhook_change", args=[received.pk]))
    assert detail.status_code == 200


def test_the_demo_seed_subscribes_one_company_once(db, settings):
    settings.OMS_PUBLIC_URL = "http://localhost:8000"
    first = CompanyFactory()
    CompanyFactory()
    for _ in range(2):
        seed_demo_webhook_receiver(StepResult("Webhook receiver"))
    [subscription] = WebhookSubscription.objects.all()
    assert subscription.company == first
    assert subscription.url == "http://localhost:8000/demo/webhook-receiver/"
    assert set(subscription.event_types) >= {"order.on_hold", "order.released", "order.placed"}


@pytest.mark.django_db(transaction=True)
def test_a_delivery_arrives_at_the_running_receiver(live_server, settings):
    settings.OMS_DEMO_WEBHOOK_RECEIVER = True
    settings.OMS_PUBLIC_URL = live_server.url
    subscription, _ = subscribe_demo_receiver(company_id=CompanyFactory().pk)
    event = WebhookEvent.objects.create(
        company=subscription.company, type="order.released", payload={"order": {"number": "X"}}
    )

    assert tasks.deliver_inline(event.pk, subscription.pk) == "delivered"

    [received] = ReceivedWebhook.objects.all()
    assert received.webhook_id == event.event_id
    assert received.event_type == "order.released"
