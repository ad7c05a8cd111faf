from django.db.models import QuerySet

from .models import Customer, NotificationEvent, NotificationPreference


def list_customers() -> QuerySet[Customer]:
    return Customer.objects.select_related("company")


def get_notification_channels(*, customer: Customer, event: str) -> dict[str, bool]:
    """Which channels to use for ``event``: email on, SMS off unless the customer chose."""
    if event not in NotificationEvent.values:
        raise ValueError(event)
    pref = NotificationPreference.objects.filter(customer=customer, event=event).first()
    if pref is None:
        return {"email": True, "sms": False}
    return {"email": pref.email, "sms": pref.sms and bool(customer.phone)}
