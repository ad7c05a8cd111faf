"""Project-wide tables: the outbox and the notification log.

Importing this module also makes ``oms`` a models app, so Django sends it
``post_migrate`` and the staff groups sync.
"""

from django.db import models
from django.db.models import Q


class OutboxEvent(models.Model):
    """A side effect to run after the transaction that wrote it commits.

    The writing service inserts the row next to its change; the relay hands it to
    Celery after commit and stamps ``published_at``; a periodic sweep republishes rows
    left unpublished (broker down, process killed). Consumers are idempotent, so a
    row published twice does no harm.
    """

    topic = models.CharField(max_length=64)
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(
                fields=["id"], condition=Q(published_at__isnull=True), name="outbox_unpublished"
            )
        ]

    def __str__(self) -> str:
        return f"{self.topic} #{self.pk}"


class NotificationStatus(models.TextChoices):
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Skipped (customer opted out)"


class Notification(models.Model):
    """One message to one customer about one event on one channel.

    ``dedupe_key`` is unique: a task that runs twice finds the row and sends nothing.
    ``claimed_at`` is when the current sender claimed it (status "sending"); a claim
    older than ``OMS_NOTIFICATION_CLAIM_TIMEOUT`` was left by a worker that died, and
    the next attempt takes it over.
    """

    dedupe_key = models.CharField(max_length=200, unique=True)
    channel = models.CharField(max_length=8, choices=[("email", "E-mail"), ("sms", "SMS")])
    event = models.CharField(max_length=32)
    recipient = models.CharField(max_length=254)
    subject = models.CharField(max_length=200, blank=True)
    order = models.ForeignKey(
        "orders.Order",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    status = models.CharField(max_length=16, choices=NotificationStatus.choices)
    error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Null on rows claimed before claims were timed: their created_at stands in.
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.event} → {self.recipient} ({self.status})"
