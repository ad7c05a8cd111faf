"""Webhooks in the admin: a manager sees a subscription with its delivery log (never its
secret), disables and enables it, and replays an event."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from tests.factories import CompanyFactory, UserFactory
from webhooks.models import WebhookDelivery, WebhookEvent, WebhookSubscription

from .receiver import receiver

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager() -> Client:
    user = UserFactory(username="manager-user")
    user.groups.add(Group.objects.get(name="manager"))
    client = Client()
    client.force_login(user)
    return client


def test_the_manager_sees_the_log_and_disables_and_enables(manager):
    subscription = WebhookSubscription.objects.create(
        company=CompanyFactory(credit_limit=Decimal("1")),
        url="https://hooks.example.com/in",
        event_types=["order.placed"],
    )
    event = WebhookEvent.objects.create(company=subscription.company, type="order.placed")
    WebhookDelivery.objects.create(
        event=event, subscription=subscription, attempt=1, status_code=502, body_excerpt="bad gw"
    )
    page = manager.get(reverse("admin:webhooks_webhooksubscription_change", args=[subscription.pk]))
    assert page.status_code == 200
    content = page.content.decode()
    assert "bad gw" in content
    assert subscription.secret not in content
    changelist = reverse("admin:webhooks_webhooksubscription_changelist")
    assert manager.get(changelist).status_code == 200
    manager.post(changelist, {"action": "disable", "_selected_action": [subscription.pk]})
    subscription.refresh_from_db()
    assert not subscription.is_active
    assert subscription.disabled_reason == "Disabled by hand."
    manager.post(changelist, {"action": "enable", "_selected_action": [subscription.pk]})
    subscription.refresh_from_db()
    assert subscription.is_active
    assert subscription.disabled_reason == ""


def test_the_manager_replays_an_event(manager, django_capture_on_commit_callbacks):
    company = CompanyFactory(credit_limit=Decimal("1"))
    with receiver(200) as hook:
        subscription = WebhookSubscription.objects.create(
            company=company, url=hook.url, event_types=["order.placed"]
        )
        WebhookSubscription.objects.create(
            company=company, url=hook.url, event_types=["invoice.issued"]
        )
        event = WebhookEvent.objects.create(company=company, type="order.placed", payload={})
        changelist = reverse("admin:webhooks_webhookevent_changelist")
        assert manager.get(changelist).status_code == 200
        with django_capture_on_commit_callbacks(execute=True):
            response = manager.post(
                changelist, {"action": "replay", "_selected_action": [event.pk]}
            )
        assert response.status_code == 302
    [request] = hook.requests
    assert request.headers["webhook-id"] == event.event_id
    [logged] = subscription.deliveries.all()
    assert logged.succeeded
    page = manager.get(reverse("admin:webhooks_webhookevent_change", args=[event.pk]))
    assert page.status_code == 200


def test_the_manager_subscribes_a_company_and_private_urls_are_refused(manager, settings):
    company = CompanyFactory(credit_limit=Decimal("1"))
    add = reverse("admin:webhooks_webhooksubscription_add")
    form = {
        "company": company.pk,
        "url": "https://hooks.example.com/in",
        "event_types": ["order.placed", "invoice.issued"],
        "is_active": "on",
        "deliveries-TOTAL_FORMS": "0",
        "deliveries-INITIAL_FORMS": "0",
    }
    assert manager.get(add).status_code == 200
    response = manager.post(add, form)
    assert response.status_code == 302, response.content.decode()[:3000]
    subscription = WebhookSubscription.objects.get()
    assert subscription.event_types == ["order.placed", "invoice.issued"]
    assert subscription.secret.startswith("whsec_")
    settings.OMS_WEBHOOKS_ALLOW_PRIVATE_URLS = False
    response = manager.post(add, {**form, "url": "https://127.0.0.1/in"})
    assert response.status_code == 200
    assert WebhookSubscription.objects.count() == 1
