from django.db.models import Q, QuerySet

from .models import Address, AddressKind, Customer, NotificationEvent, NotificationPreference


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


def get_default_shipping_address(customer: Customer) -> Address | None:
    """The customer's default shipping address, else their company's (one query)."""
    owners = Q(customer=customer)
    if customer.company_id:
        owners |= Q(company_id=customer.company_id)
    candidates = Address.objects.filter(owners, kind=AddressKind.SHIPPING, is_default=True)
    return min(candidates, key=lambda a: a.customer_id is None, default=None)
