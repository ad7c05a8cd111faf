"""The demo's own webhook receiver: an endpoint a subscription can point at, so that a
user of the demo watches deliveries arrive (admin: Webhooks → deliveries received).

On only with ``DEBUG`` or ``OMS_DEMO_WEBHOOK_RECEIVER=true``; otherwise its URL answers
404. A delivery is verified as a real receiver would (docs/api.md, "Webhooks"): with
the ``standardwebhooks`` library, against the secrets of the subscriptions whose URL is
this endpoint (the current one and, during a rotation, the previous one). A delivery no
secret verifies answers 400 and is not kept; a verified one answers 204 and is stored,
the last ``OMS_DEMO_WEBHOOK_RECEIVER_KEEP`` (default 50) of them.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from standardwebhooks import Webhook, WebhookVerificationError

from .delivery import signing_secrets
from .models import EventType, ReceivedWebhook, WebhookSubscription

SIGNATURE_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")


def receiver_enabled() -> bool:
    return bool(settings.DEBUG or settings.OMS_DEMO_WEBHOOK_RECEIVER)


def receiver_url() -> str:
    """The receiver's absolute URL, at ``OMS_PUBLIC_URL``."""
    return settings.OMS_PUBLIC_URL.rstrip("/") + reverse("demo-webhook-receiver")


def verify(body: bytes, headers: dict[str, str]) -> tuple[WebhookSubscription, dict[str, Any]]:
    """The subscription whose secret signed ``body``, and the event it carries; raises
    ``WebhookVerificationError`` when none did (or the timestamp is stale)."""
    path = reverse("demo-webhook-receiver")
    now = timezone.now()
    for subscription in WebhookSubscription.objects.filter(url__endswith=path).order_by("id"):
        for secret in signing_secrets(subscription, now):
            try:
                event = Webhook(secret).verify(body, headers)
            except WebhookVerificationError:
                continue
            return subscription, event
    raise WebhookVerificationError("No subscription's secret verifies this delivery.")


@transaction.atomic
def record_received(
    *, subscription: WebhookSubscription, webhook_id: str, event: dict[str, Any]
) -> ReceivedWebhook:
    """Keep a verified delivery, and only the last ``OMS_DEMO_WEBHOOK_RECEIVER_KEEP``.
    A retry or replay of an event (same ``webhook-id``) is kept again: the demo shows
    each arrival."""
    received = ReceivedWebhook.objects.create(
        subscription=subscription,
        webhook_id=webhook_id[:64],
        event_type=str(event.get("type", ""))[:32],
        body=event,
    )
    keep = max(settings.OMS_DEMO_WEBHOOK_RECEIVER_KEEP, 1)
    older = list(ReceivedWebhook.objects.order_by("-id").values_list("id", flat=True)[keep:])
    if older:
        ReceivedWebhook.objects.filter(id__in=older).delete()
    return received


@csrf_exempt  # a machine posts here, signed; there is no session to protect
@require_POST
def receive(request: HttpRequest) -> HttpResponse:
    if not receiver_enabled():
        raise Http404
    headers = {name: request.headers.get(name, "") for name in SIGNATURE_HEADERS}
    try:
        subscription, event = verify(request.body, headers)
    except WebhookVerificationError:
        return HttpResponse("signature not verified", status=400, content_type="text/plain")
    record_received(subscription=subscription, webhook_id=headers["webhook-id"], event=event)
    return HttpResponse(status=204)


def subscribe_demo_receiver(*, company_id: int) -> tuple[WebhookSubscription, bool]:
    """The company's subscription of every event type to the receiver (made once)."""
    found = WebhookSubscription.objects.filter(company_id=company_id, url=receiver_url()).first()
    if found is not None:
        return found, False
    created = WebhookSubscription.objects.create(
        company_id=company_id, url=receiver_url(), event_types=list(EventType.values)
    )
    return created, True


def pretty(body: dict[str, Any]) -> str:
    return json.dumps(body, indent=2, sort_keys=True)
