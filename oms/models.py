"""Project-wide tables: the notification log.

Importing this module also makes ``oms`` a models app, so Django sends it
``post_migrate`` and the staff groups sync.
"""

from django.db import models


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
