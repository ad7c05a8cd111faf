"""The webhooks API: a company manages its own subscriptions only (another company's
are 404), sees the secret once, rotates it, reads the delivery log and replays events;
bad input is problem+json and writes nothing."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.cache import caches
from django.utils import timezone
from rest_framework.test import APIClient
from standardwebhooks import Webhook

from customers.api_keys import create_api_key, create_storefront_api_key
from tests.factories import CompanyFactory, CustomerFactory
from webhooks.models import WebhookDelivery, WebhookEvent, WebhookSubscription

from .receiver import receiver

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"
HOOKS = "/api/v1/webhooks/"


@pytest.fixture(autouse=True)
def _no_throttle_counts_left_over():
    for cache in caches.all():
        cache.clear()
    yield
    for cache in caches.all():
        cache.clear()


def client_for(raw_key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    return client


def a_company():
    company = CompanyFactory(credit_limit=Decimal("1000"))
    CustomerFactory(company=company, company_role="buyer")
    return company


def company_client():
    company = a_company()
    return company, client_for(create_api_key(company=company, name="erp").raw_key)


def create(client, url="https://hooks.example.com/in", types=("order.placed",)):
    return client.post(HOOKS, {"url": url, "event_types": list(types)}, format="json")


def test_subscribe_shows_the_secret_once():
    company, client = company_client()
    response = create(client, types=["order.placed", "invoice.issued", "order.placed"])
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["secret"].startswith("whsec_")
    assert body["event_types"] == ["invoice.issued", "order.placed"]
    assert body["is_active"] is True
    subscription = WebhookSubscription.objects.get()
    assert subscription.company == company
    assert subscription.secret == body["secret"]
    shown = client.get(f"{HOOKS}{body['id']}/").json()
    assert "secret" not in shown
    listed = client.get(HOOKS).json()
    assert [s["id"] for s in listed["results"]] == [body["id"]]
    assert "secret" not in listed["results"][0]


def test_another_companys_subscription_is_not_found():
    _, ours = company_client()
    _, theirs = company_client()
    hook = create(theirs).json()
    for method, path, data in [
        ("get", f"{HOOKS}{hook['id']}/", None),
        ("patch", f"{HOOKS}{hook['id']}/", {"is_active": False}),
        ("delete", f"{HOOKS}{hook['id']}/", None),
        ("post", f"{HOOKS}{hook['id']}/rotate-secret/", None),
        ("get", f"{HOOKS}{hook['id']}/deliveries/", None),
        ("post", f"{HOOKS}{hook['id']}/replay/", {"event_id": "msg_x"}),
    ]:
        response = getattr(ours, method)(path, data, format="json")
        assert response.status_code == 404, (method, path)
        assert response["Content-Type"] == PROBLEM
    assert ours.get(HOOKS).json()["results"] == []
    subscription = WebhookSubscription.objects.get()
    assert subscription.is_active
    assert subscription.secret == hook["secret"]


def test_the_storefront_key_is_refused():
    client = client_for(create_storefront_api_key(name="shop").raw_key)
    assert create(client).status_code == 403
    assert not WebhookSubscription.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"url": "not a url", "event_types": ["order.placed"]},
        {"url": "https://hooks.example.com/in", "event_types": []},
        {"url": "https://hooks.example.com/in", "event_types": ["order.exploded"]},
        {"url": "https://hooks.example.com/in", "event_types": "order.placed"},
        {"url": "ftp://hooks.example.com/in", "event_types": ["order.placed"]},
    ],
)
def test_bad_input_is_a_problem_and_writes_nothing(body):
    _, client = company_client()
    response = client.post(HOOKS, body, format="json")
    assert response.status_code == 400
    assert response["Content-Type"] == PROBLEM
    assert not WebhookSubscription.objects.exists()


def test_private_urls_are_refused_when_the_switch_is_off(settings):
    settings.OMS_WEBHOOKS_ALLOW_PRIVATE_URLS = False
    _, client = company_client()
    for url in ["http://hooks.example.com/in", "https://127.0.0.1/in", "https://10.0.0.5/in"]:
        response = create(client, url=url)
        assert response.status_code == 400, url
        assert response["Content-Type"] == PROBLEM
    assert not WebhookSubscription.objects.exists()
    hook = WebhookSubscription.objects.create(
        company=a_company(), url="https://hooks.example.com/in", event_types=["order.placed"]
    )
    client = client_for(create_api_key(company=hook.company, name="erp").raw_key)
    response = client.patch(f"{HOOKS}{hook.pk}/", {"url": "https://192.168.1.1/"}, format="json")
    assert response.status_code == 400
    hook.refresh_from_db()
    assert hook.url == "https://hooks.example.com/in"


def test_patch_changes_types_and_enables_a_disabled_subscription():
    _, client = company_client()
    hook = create(client).json()
    WebhookSubscription.objects.filter(pk=hook["id"]).update(
        is_active=False, disabled_reason="Disabled after 5 events", consecutive_failures=5
    )
    response = client.patch(
        f"{HOOKS}{hook['id']}/",
        {"is_active": True, "event_types": ["return.updated"]},
        format="json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["is_active"] is True
    assert body["disabled_reason"] == ""
    assert body["consecutive_failures"] == 0
    assert body["event_types"] == ["return.updated"]
    assert client.delete(f"{HOOKS}{hook['id']}/").status_code == 204
    assert not WebhookSubscription.objects.exists()


def test_rotation_keeps_the_old_secret_signing_for_the_overlap(django_capture_on_commit_callbacks):
    company, client = company_client()
    with receiver(200) as hook:
        created = create(client, url=hook.url).json()
        rotated = client.post(f"{HOOKS}{created['id']}/rotate-secret/")
        assert rotated.status_code == 200
        new = rotated.json()
        assert new["secret"] != created["secret"]
        until = timezone.now() + timedelta(hours=23)
        assert new["previous_secret_until"] > until.isoformat()
        event = WebhookEvent.objects.create(company=company, type="order.placed", payload={})
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                f"{HOOKS}{created['id']}/replay/", {"event_id": event.event_id}, format="json"
            )
        assert response.status_code == 202
    [request] = hook.requests
    Webhook(created["secret"]).verify(request.body, request.headers)
    Webhook(new["secret"]).verify(request.body, request.headers)


def test_replay_and_the_delivery_log(django_capture_on_commit_callbacks):
    company, client = company_client()
    with receiver(500, 200) as hook:
        created = create(client, url=hook.url).json()
        event = WebhookEvent.objects.create(company=company, type="order.placed", payload={"a": 1})
        for _ in range(2):
            with django_capture_on_commit_callbacks(execute=True):
                response = client.post(
                    f"{HOOKS}{created['id']}/replay/", {"event_id": event.event_id}, format="json"
                )
            assert response.status_code == 202
            assert response.json() == {"event_id": event.event_id, "queued": True}
    assert [r.headers["webhook-id"] for r in hook.requests] == [event.event_id] * 2
    log = client.get(f"{HOOKS}{created['id']}/deliveries/").json()["results"]
    assert [(d["attempt"], d["status_code"], d["succeeded"]) for d in log] == [
        (2, 200, True),
        (1, 500, False),
    ]
    assert log[0]["event_id"] == event.event_id
    assert log[0]["body_excerpt"] == "answer 2"


def test_replay_of_an_unknown_or_foreign_event_is_not_found():
    _, client = company_client()
    created = create(client).json()
    foreign = WebhookEvent.objects.create(company=CompanyFactory(), type="order.placed")
    for event_id in ["msg_unknown", foreign.event_id]:
        response = client.post(
            f"{HOOKS}{created['id']}/replay/", {"event_id": event_id}, format="json"
        )
        assert response.status_code == 404
    response = client.post(f"{HOOKS}{created['id']}/replay/", {}, format="json")
    assert response.status_code == 400
    assert response["Content-Type"] == PROBLEM
    assert not WebhookDelivery.objects.exists()
