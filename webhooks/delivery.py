"""Signing and sending one webhook delivery, and what a failed event does to its
subscription.

A delivery is a POST of the event as JSON (``{"type", "timestamp", "data"}``) with the
Standard Webhooks headers ``webhook-id`` (the event's stable id), ``webhook-timestamp``
and ``webhook-signature``, signed with the ``standardwebhooks`` library: with the
subscription's secret, and during a rotation's overlap window with the previous one
too (both signatures in the header, space separated). A 2xx answer is a success;
anything else, a timeout or a refused connection is a failure, retried by the task
(``webhooks.tasks.RETRY_SCHEDULE``). Every attempt is written to the delivery log.
"""

import json
import logging
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from standardwebhooks import Webhook

from customers.models import CompanyRole, Customer

from .models import WebhookDelivery, WebhookEvent, WebhookSubscription
from .urls_safety import UnsafeUrl, check_url

logger = logging.getLogger(__name__)

BODY_EXCERPT = 1000
USER_AGENT = "OMS-Webhooks/1"


def body(event: WebhookEvent) -> str:
    """The JSON body sent for an event: the same for every attempt and replay."""
    return json.dumps(
        {"type": event.type, "timestamp": event.created_at.isoformat(), "data": event.payload},
        separators=(",", ":"),
        sort_keys=True,
    )


def signing_secrets(subscription: WebhookSubscription, now: datetime) -> list[str]:
    """The current secret, then the previous one while its overlap window lasts."""
    found = [subscription.secret]
    until = subscription.previous_secret_until
    if subscription.previous_secret and until is not None and now < until:
        found.append(subscription.previous_secret)
    return found


def headers(
    subscription: WebhookSubscription, event: WebhookEvent, data: str, now: datetime
) -> dict[str, str]:
    signatures = [
        Webhook(secret).sign(event.event_id, now, data)
        for secret in signing_secrets(subscription, now)
    ]
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "webhook-id": event.event_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": " ".join(signatures),
    }


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is answered as it is (a failed delivery), never followed: it could
    lead to an address the URL check refused."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirects)


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    excerpt: str
    error: str


def _post(url: str, data: str, request_headers: dict[str, str]) -> Outcome:
    request = urllib.request.Request(  # noqa: S310 - http(s) only, checked by check_url
        url, data=data.encode(), headers=request_headers, method="POST"
    )
    try:
        with _opener.open(request, timeout=settings.OMS_WEBHOOKS_TIMEOUT) as response:
            raw = response.read(BODY_EXCERPT * 4)
            return Outcome(response.status, raw.decode("utf-8", "replace")[:BODY_EXCERPT], "")
    except urllib.error.HTTPError as exc:
        raw = exc.read(BODY_EXCERPT * 4) if exc.fp is not None else b""
        return Outcome(exc.code, raw.decode("utf-8", "replace")[:BODY_EXCERPT], "")
    except (OSError, ValueError) as exc:
        return Outcome(None, "", f"{type(exc).__name__}: {exc}"[:300])


def attempt(event: WebhookEvent, subscription: WebhookSubscription) -> WebhookDelivery:
    """Send ``event`` to ``subscription`` once and log the attempt."""
    now = timezone.now()
    number = WebhookDelivery.objects.filter(event=event, subscription=subscription).count() + 1
    try:
        check_url(subscription.url)
    except UnsafeUrl as exc:
        outcome = Outcome(None, "", f"Refused: {exc}")
        elapsed = None
    else:
        data = body(event)
        started = time.monotonic()
        outcome = _post(subscription.url, data, headers(subscription, event, data, now))
        elapsed = int((time.monotonic() - started) * 1000)
    succeeded = outcome.status_code is not None and 200 <= outcome.status_code < 300
    return WebhookDelivery.objects.create(
        event=event,
        subscription=subscription,
        attempt=number,
        succeeded=succeeded,
        status_code=outcome.status_code,
        response_ms=elapsed,
        body_excerpt=outcome.excerpt,
        error=outcome.error,
    )


def delivered(subscription_id: int) -> None:
    """An event reached the subscription: the run of failures ends."""
    WebhookSubscription.objects.filter(pk=subscription_id, consecutive_failures__gt=0).update(
        consecutive_failures=0
    )


def failed_for_good(subscription_id: int, event: WebhookEvent) -> bool:
    """Every attempt at an event failed: count it, and disable the subscription (and
    tell its company) once ``OMS_WEBHOOKS_DISABLE_AFTER`` events in a row failed.
    Returns whether this disabled it."""
    with transaction.atomic():
        subscription = (
            WebhookSubscription.objects.select_for_update().filter(pk=subscription_id).first()
        )
        if subscription is None:
            return False
        subscription.consecutive_failures = F("consecutive_failures") + 1
        subscription.save(update_fields=["consecutive_failures", "updated_at"])
        subscription.refresh_from_db(fields=["consecutive_failures"])
        limit = settings.OMS_WEBHOOKS_DISABLE_AFTER
        if not subscription.is_active or subscription.consecutive_failures < limit:
            return False
        subscription.is_active = False
        subscription.disabled_reason = (
            f"Disabled after {subscription.consecutive_failures} events in a row could not "
            f"be delivered (the last: {event.event_id})."
        )
        subscription.save(update_fields=["is_active", "disabled_reason", "updated_at"])
        transaction.on_commit(lambda: email_disabled(subscription))
    return True


def company_contacts(subscription: WebhookSubscription) -> list[str]:
    """Who hears about the company's webhooks: its account admins, else its buyers."""
    buyers = Customer.objects.filter(company_id=subscription.company_id).exclude(email="")
    admins = sorted({c.email for c in buyers if c.company_role == CompanyRole.ADMIN})
    return admins or sorted({c.email for c in buyers})


def email_disabled(subscription: WebhookSubscription) -> None:
    recipients = company_contacts(subscription)
    if not recipients:
        logger.warning("webhooks: subscription %s disabled; no one to tell", subscription.pk)
        return
    send_mail(
        subject="Your webhook subscription was disabled",
        message=(
            f"We stopped sending webhooks to {subscription.url}.\n\n"
            f"{subscription.disabled_reason}\n\n"
            "Once the endpoint answers again, enable the subscription with "
            f'PATCH /api/v1/webhooks/{subscription.pk}/ and {{"is_active": true}}, and '
            "replay the events you missed from its delivery log."
        ),
        from_email=None,
        recipient_list=recipients,
    )
