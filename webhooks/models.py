"""Webhook subscriptions of companies, the events sent to them and the delivery log."""

import base64
import secrets

from django.db import models

from core.models import TimeStamped
from customers.models import Company


class EventType(models.TextChoices):
    """What a company can subscribe to (docs/api.md, "Webhooks")."""

    ORDER_PLACED = "order.placed", "Order placed"
    ORDER_ON_HOLD = "order.on_hold", "Order on hold"
    ORDER_RELEASED = "order.released", "Order released"
    ORDER_CANCELLED = "order.cancelled", "Order cancelled"
    FULFILLMENT_SHIPPED = "fulfillment.shipped", "Fulfillment shipped"
    SHIPMENT_DELIVERED = "shipment.delivered", "Shipment delivered"
    RETURN_UPDATED = "return.updated", "Return updated"
    INVOICE_ISSUED = "invoice.issued", "Invoice issued"
    INVOICE_PAID = "invoice.paid", "Invoice paid"


SECRET_PREFIX = "whsec_"  # noqa: S105 - the format's prefix, not a secret


def new_secret() -> str:
    """A Standard Webhooks signing secret: ``whsec_`` and 32 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def new_event_id() -> str:
    """A stable message id receivers deduplicate on (the ``webhook-id`` header)."""
    return "msg_" + secrets.token_hex(16)


class WebhookSubscription(TimeStamped):
    """A company's URL and the event types it receives there."""

    company = models.ForeignKey(
        Company, on_delete=models.CASCADE, related_name="webhook_subscriptions"
    )
    url = models.URLField("URL", max_length=500)
    event_types = models.JSONField(
        default=list, help_text="The event types sent to this URL (a list of EventType values)."
    )
    secret = models.CharField(max_length=100, default=new_secret)
    previous_secret = models.CharField(
        max_length=100,
        blank=True,
        help_text="The secret before the last rotation, still signing until previous_secret_until.",
    )
    previous_secret_until = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=300, blank=True)
    consecutive_failures = models.PositiveIntegerField(
        default=0, help_text="Events in a row whose every delivery attempt failed."
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["company", "is_active"])]

    def __str__(self) -> str:
        return f"{self.url} ({self.company_id})"


class WebhookEvent(models.Model):
    """One event of a company, sent to each of its subscriptions for the type; its id
    stays the same across attempts and replays."""

    event_id = models.CharField(max_length=40, unique=True, default=new_event_id)
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="webhook_events")
    type = models.CharField(max_length=32, choices=EventType.choices)
    payload = models.JSONField(default=dict)
    # The outbox event it comes from: consuming an outbox event twice creates one event.
    source_event_id = models.BigIntegerField(null=True, blank=True, unique=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.event_id} {self.type}"


class WebhookDelivery(models.Model):
    """One attempt to deliver an event to a subscription: the delivery log."""

    event = models.ForeignKey(WebhookEvent, on_delete=models.CASCADE, related_name="deliveries")
    subscription = models.ForeignKey(
        WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries"
    )
    attempt = models.PositiveIntegerField()
    succeeded = models.BooleanField(default=False)
    status_code = models.PositiveIntegerField(null=True, blank=True)
    response_ms = models.PositiveIntegerField(null=True, blank=True)
    body_excerpt = models.CharField(max_length=1000, blank=True)
    error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["subscription", "-created_at"])]
        verbose_name_plural = "webhook deliveries"

    def __str__(self) -> str:
        return f"{self.event_id} #{self.attempt} -> {self.status_code or self.error}"


class ReceivedWebhook(models.Model):
    """A delivery the demo's own receiver took (``webhooks.receiver``), so that a user
    sees events arrive; the last ``OMS_DEMO_WEBHOOK_RECEIVER_KEEP`` are kept."""

    subscription = models.ForeignKey(
        WebhookSubscription, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    webhook_id = models.CharField("webhook-id", max_length=64)
    event_type = models.CharField(max_length=32)
    body = models.JSONField(default=dict)
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = "delivery received by the demo receiver"
        verbose_name_plural = "deliveries received by the demo receiver"

    def __str__(self) -> str:
        return f"{self.event_type} {self.webhook_id}"
