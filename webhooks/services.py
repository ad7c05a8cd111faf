"""What a company (through the API) or an agent (in the admin) does with webhook
subscriptions: rotate a secret, enable one again, replay an event."""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .models import WebhookEvent, WebhookSubscription, new_secret
from .tasks import queue_delivery


def rotate_secret(subscription: WebhookSubscription) -> WebhookSubscription:
    """A new secret; the old one keeps signing (both signatures are sent) for
    ``OMS_WEBHOOKS_ROTATION_OVERLAP_HOURS``, so receivers can switch without a gap."""
    subscription.previous_secret = subscription.secret
    subscription.previous_secret_until = timezone.now() + timedelta(
        hours=settings.OMS_WEBHOOKS_ROTATION_OVERLAP_HOURS
    )
    subscription.secret = new_secret()
    subscription.save(
        update_fields=["secret", "previous_secret", "previous_secret_until", "updated_at"]
    )
    return subscription


def set_active(subscription: WebhookSubscription, active: bool) -> WebhookSubscription:
    """Enable (the run of failures starts again from zero) or disable a subscription."""
    subscription.is_active = active
    if active:
        subscription.consecutive_failures = 0
        subscription.disabled_reason = ""
    else:
        subscription.disabled_reason = subscription.disabled_reason or "Disabled by hand."
    subscription.save(
        update_fields=["is_active", "consecutive_failures", "disabled_reason", "updated_at"]
    )
    return subscription


def replay(subscription: WebhookSubscription, event: WebhookEvent) -> None:
    """Send an event of the subscription's company once more, with its original id,
    after the transaction commits. One attempt, logged like any other."""
    if event.company_id != subscription.company_id:
        raise ValueError("The event belongs to another company.")
    event_pk, subscription_pk = event.pk, subscription.pk
    transaction.on_commit(lambda: queue_delivery(event_pk, subscription_pk, retries=False))
