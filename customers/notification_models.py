"""What customers and company contacts hear about, on which channel.

The kinds of event (``NotificationEvent``) and each customer's choice per kind
(``NotificationPreference``) are in ``customers.models``; this module holds the rules
on top of them and the contacts a company adds to hear about its orders. It is imported
at the end of ``customers.models`` so that its models register with the app.
"""

from __future__ import annotations

from django.db import models

from core.history import audit_history
from core.models import TimeStamped

from .models import Company, NotificationEvent

CHANNELS: tuple[str, ...] = ("email", "sms")
CHANNEL_LABELS = {"email": "E-mail", "sms": "SMS"}

# Messages a customer cannot switch off by e-mail: they confirm a contract, ask the
# customer to act, or carry money or a document (docs/notifications.md). SMS stays the
# customer's choice for every kind.
TRANSACTIONAL: frozenset[str] = frozenset(
    {
        NotificationEvent.ORDER_CONFIRMED,
        NotificationEvent.ON_HOLD,
        NotificationEvent.CANCELLED,
        NotificationEvent.ADDRESS_CHANGED,
        NotificationEvent.RETURN_APPROVED,
        NotificationEvent.REFUND_ISSUED,
        NotificationEvent.INVOICE_ISSUED,
        NotificationEvent.PAYMENT_FAILED,
    }
)

# A kind the customer has no row for follows the SMS choice of the kind it grew out of
# (a customer texted when an order is ready for pickup is texted when it is picked up).
SMS_DEFAULT_FROM: dict[str, str] = {
    NotificationEvent.PICKED_UP: NotificationEvent.READY_FOR_PICKUP,
    NotificationEvent.RETURN_APPROVED: NotificationEvent.RETURN_RECEIVED,
    NotificationEvent.ON_HOLD: NotificationEvent.ORDER_CONFIRMED,
    NotificationEvent.PAYMENT_FAILED: NotificationEvent.ORDER_CONFIRMED,
    NotificationEvent.ADDRESS_CHANGED: NotificationEvent.SHIPPED,
}


def is_transactional(event: str) -> bool:
    return event in TRANSACTIONAL


class CompanyContact(TimeStamped):
    """Someone at a company who gets a copy of the messages of some kinds about the
    company's orders (a warehouse for shipments, accounts payable for invoices)."""

    company = models.ForeignKey(
        Company, on_delete=models.CASCADE, related_name="notification_contacts"
    )
    name = models.CharField(max_length=200)
    email = models.EmailField(max_length=254, blank=True)
    phone = models.CharField(
        max_length=32, blank=True, help_text="With its country code, e.g. +1 415 555 0100."
    )
    events = models.JSONField(
        default=list, blank=True, help_text="The kinds of message this contact gets a copy of."
    )
    by_email = models.BooleanField("by e-mail", default=True)
    by_sms = models.BooleanField("by SMS", default=False)
    is_active = models.BooleanField(default=True)

    history = audit_history()

    class Meta:
        ordering = ["company_id", "name"]
        verbose_name = "notification contact"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(by_email=False) | ~models.Q(email=""),
                name="company_contact_email_needs_address",
            ),
            models.CheckConstraint(
                condition=models.Q(by_sms=False) | ~models.Q(phone=""),
                name="company_contact_sms_needs_phone",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.company.name})"

    def channels(self) -> list[str]:
        return [
            channel
            for channel, on in (("email", self.by_email), ("sms", self.by_sms))
            if on and self.is_active
        ]

    def address(self, channel: str) -> str:
        return self.email if channel == "email" else self.phone
