"""Webhook deliveries: signed in the Standard Webhooks format (checked by the library's
own verifier), retried against a receiver that fails first, disabled with an e-mail
after repeated failure, refused for private URLs in production; outbox events of a
company's orders become one webhook event each."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.utils import timezone
from standardwebhooks import Webhook

from billing.models import Invoice
from billing.receivables import record_payment
from core.actors import Actor
from core.models import OutboxEvent
from customers.models import Company
from tests.billing.conftest import company_buyer, make_products, place_routed, ship
from tests.factories import CompanyFactory, CustomerFactory
from webhooks import delivery, fanout, tasks
from webhooks.models import WebhookDelivery, WebhookEvent, WebhookSubscription, new_secret
from webhooks.urls_safety import UnsafeUrl, check_url

from .receiver import receiver

pytestmark = pytest.mark.django_db


def company() -> Company:
    found: Company = CompanyFactory(credit_limit=Decimal("1000000"))
    CustomerFactory(company=found, company_role="admin", email="ops@acme.example")
    return found


def subscribe(url: str, owner: Company | None = None, types=("order.placed",)):
    return WebhookSubscription.objects.create(
        company=owner or company(), url=url, event_types=list(types)
    )


def an_event(subscription: WebhookSubscription) -> WebhookEvent:
    return WebhookEvent.objects.create(
        company=subscription.company, type="order.placed", payload={"order": {"number": "X1"}}
    )


def run(event: WebhookEvent, subscription: WebhookSubscription, retries: bool = True) -> str:
    """The delivery task inline, retries included (what ``tasks.queue_delivery`` does)."""
    return tasks.deliver_inline(event.pk, subscription.pk, retries=retries)


def test_the_delivery_verifies_with_the_library():
    with receiver(200) as hook:
        subscription = subscribe(hook.url)
        event = an_event(subscription)
        assert run(event, subscription) == "delivered"
    [request] = hook.requests
    payload = Webhook(subscription.secret).verify(request.body, request.headers)
    assert payload["type"] == "order.placed"
    assert payload["data"] == {"order": {"number": "X1"}}
    assert request.headers["webhook-id"] == event.event_id
    [logged] = WebhookDelivery.objects.all()
    assert (logged.attempt, logged.succeeded, logged.status_code) == (1, True, 200)
    assert logged.body_excerpt == "answer 1"
    assert logged.response_ms is not None
    with pytest.raises(Exception):  # noqa: B017 - the library's own error type
        Webhook(new_secret()).verify(request.body, request.headers)


def test_during_a_rotation_both_secrets_sign():
    with receiver(200) as hook:
        subscription = subscribe(hook.url)
        old = subscription.secret
        subscription.previous_secret = old
        subscription.previous_secret_until = timezone.now() + timedelta(hours=1)
        subscription.secret = new_secret()
        subscription.save()
        run(an_event(subscription), subscription)
        subscription.previous_secret_until = timezone.now() - timedelta(seconds=1)
        subscription.save()
        run(an_event(subscription), subscription)
    first, second = hook.requests
    assert len(first.headers["webhook-signature"].split(" ")) == 2
    Webhook(old).verify(first.body, first.headers)
    Webhook(subscription.secret).verify(first.body, first.headers)
    assert len(second.headers["webhook-signature"].split(" ")) == 1
    Webhook(subscription.secret).verify(second.body, second.headers)


def test_a_failing_receiver_is_retried_until_it_answers():
    with receiver(500, 503, 200) as hook:
        subscription = subscribe(hook.url)
        event = an_event(subscription)
        run(event, subscription)
    assert len(hook.requests) == 3
    assert {r.headers["webhook-id"] for r in hook.requests} == {event.event_id}
    log = list(WebhookDelivery.objects.order_by("attempt"))
    assert [(d.attempt, d.status_code, d.succeeded) for d in log] == [
        (1, 500, False),
        (2, 503, False),
        (3, 200, True),
    ]
    subscription.refresh_from_db()
    assert subscription.consecutive_failures == 0


def test_the_retry_schedule_lasts_more_than_a_day():
    assert sum(tasks.RETRY_SCHEDULE) >= 24 * 3600
    assert tasks.deliver.max_retries == len(tasks.RETRY_SCHEDULE)


def test_the_task_retries_on_the_schedule(monkeypatch):
    """Through Celery, a failed attempt asks for a retry after the next delay."""
    with receiver(500) as hook:
        subscription = subscribe(hook.url)
        event = an_event(subscription)
        retried: list[float] = []

        def retry(**kwargs):
            retried.append(kwargs["countdown"])
            return RuntimeError("retry")

        monkeypatch.setattr(tasks.deliver, "retry", retry)
        tasks.deliver.push_request(retries=2)
        try:
            with pytest.raises(RuntimeError):
                tasks.deliver.run(event.pk, subscription.pk)
        finally:
            tasks.deliver.pop_request()
    assert retried == [tasks.RETRY_SCHEDULE[2]]


def test_repeated_failure_disables_the_subscription_and_tells_the_company(
    settings, django_capture_on_commit_callbacks
):
    settings.OMS_WEBHOOKS_DISABLE_AFTER = 2
    with receiver(500) as hook:
        subscription = subscribe(hook.url)
        run(an_event(subscription), subscription)
        subscription.refresh_from_db()
        assert subscription.is_active
        assert subscription.consecutive_failures == 1
        assert mail.outbox == []
        with django_capture_on_commit_callbacks(execute=True):
            run(an_event(subscription), subscription)
        attempts = len(tasks.RETRY_SCHEDULE) + 1
        assert len(hook.requests) == 2 * attempts
        subscription.refresh_from_db()
        assert not subscription.is_active
        assert "2 events in a row" in subscription.disabled_reason
        [message] = mail.outbox
        assert message.to == ["ops@acme.example"]
        assert subscription.url in message.body
        # A disabled subscription gets nothing more; a replay still tries once.
        event = an_event(subscription)
        assert run(event, subscription) == "inactive"
        assert run(event, subscription, retries=False) == "failed"
        assert len(hook.requests) == 2 * attempts + 1


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/hook",
        "https://127.0.0.1/hook",
        "https://10.1.2.3/hook",
        "https://192.168.0.10/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hook",
        "https://[::ffff:10.0.0.1]/hook",
        "https://224.0.0.1/hook",
        "https://240.0.0.1/hook",
        "https://0.0.0.0/hook",
        "https://localhost/hook",
        "ftp://example.com/hook",
    ],
)
def test_private_urls_are_refused_in_production(settings, url):
    settings.OMS_WEBHOOKS_ALLOW_PRIVATE_URLS = False
    with pytest.raises(UnsafeUrl):
        check_url(url)


def test_a_public_https_url_is_accepted(settings, monkeypatch):
    settings.OMS_WEBHOOKS_ALLOW_PRIVATE_URLS = False
    monkeypatch.setattr(
        "socket.getaddrinfo", lambda *a, **k: [(2, 1, 6, "", ("93.184.215.14", 443))]
    )
    check_url("https://hooks.example.com/in")


def test_a_delivery_to_a_private_address_is_refused_and_logged(settings):
    with receiver(200) as hook:
        subscription = subscribe(hook.url)
        settings.OMS_WEBHOOKS_ALLOW_PRIVATE_URLS = False
        run(an_event(subscription), subscription, retries=False)
    assert hook.requests == []
    [logged] = WebhookDelivery.objects.all()
    assert logged.error.startswith("Refused:")
    assert logged.status_code is None


def test_a_company_order_event_becomes_one_webhook_event(shop, warehouse):
    [product] = make_products(warehouse, [Decimal("25.00")])
    buyer = CustomerFactory(company=company(), company_role="buyer")
    with receiver(200) as hook:
        subscription = subscribe(hook.url, buyer.company, types=["order.placed"])
        other_type = subscribe(hook.url, buyer.company, types=["invoice.issued"])
        order, _ = place_routed([(product, 1)], customer=buyer)
        placed = OutboxEvent.objects.get(topic="order.placed", payload__order_id=order.pk)
        queued: list[tuple[int, int]] = []
        for _ in range(2):  # consumed twice: one event
            fanout.fan_out(placed, lambda e, s: queued.append((e, s)))
        [event] = WebhookEvent.objects.all()
        assert event.type == "order.placed"
        assert event.company_id == buyer.company_id
        assert event.payload["order"]["number"] == order.number
        assert event.source_event_id == placed.pk
        run(event, subscription)
    [request] = hook.requests
    body = Webhook(subscription.secret).verify(request.body, request.headers)
    assert body["data"]["order"]["number"] == order.number
    assert other_type.deliveries.count() == 0


def test_an_order_without_a_subscriber_makes_no_event(shop, warehouse):
    [product] = make_products(warehouse, [Decimal("25.00")])
    order, _ = place_routed([(product, 1)])
    placed = OutboxEvent.objects.get(topic="order.placed", payload__order_id=order.pk)
    tasks.fan_out_event.apply(args=[[placed.pk]], throw=True)
    assert not WebhookEvent.objects.exists()


def test_the_body_is_stable_json():
    subscription = subscribe("http://127.0.0.1:9/hook")
    event = an_event(subscription)
    assert json.loads(delivery.body(event))["data"] == event.payload
    assert delivery.body(event) == delivery.body(event)


@pytest.mark.django_db(transaction=True)
def test_an_invoice_on_terms_paid_in_full_is_an_invoice_paid_event(shop, warehouse):
    # Given a company on net 30 subscribed to "invoice.paid", with a shipped order whose
    # invoice is open
    [product] = make_products(warehouse, [Decimal("25.00")])
    buyer = company_buyer()
    order, fo = place_routed([(product, 2)], customer=buyer)
    ship(fo)
    invoice = Invoice.objects.get(order=order)
    with receiver(200) as hook:
        subscribe(hook.url, buyer.company, types=["invoice.paid"])
        # When part of it is paid, nothing is said; when the rest is, one event
        record_payment(
            company_id=buyer.company_id,
            amount=Decimal("10.00"),
            received_date=timezone.localdate(),
            actor=Actor.system("test"),
            invoice_ids=[invoice.pk],
        )
        assert not WebhookEvent.objects.filter(type="invoice.paid").exists()
        record_payment(
            company_id=buyer.company_id,
            amount=invoice.grand_total - Decimal("10.00"),
            received_date=timezone.localdate(),
            actor=Actor.system("test"),
            invoice_ids=[invoice.pk],
        )
        # Then the company hears it once, with the invoice's number, total and paid date
        [event] = WebhookEvent.objects.filter(type="invoice.paid")
        assert event.company_id == buyer.company_id
        assert event.payload["invoice"]["number"] == invoice.number
        assert event.payload["invoice"]["status"] == "paid"
        assert event.payload["invoice"]["amount_paid"] == str(invoice.grand_total)
        assert event.payload["invoice"]["paid_at"]
        assert [r for r in hook.requests if b"invoice.paid" in r.body]
