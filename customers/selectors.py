from django.db.models import Q, QuerySet

from .models import Address, AddressKind, Customer, NotificationEvent, NotificationPreference
from .notification_models import SMS_DEFAULT_FROM, CompanyContact, is_transactional


def list_customers() -> QuerySet[Customer]:
    return Customer.objects.select_related("company")


def get_channel_choices(customer: Customer) -> dict[str, dict[str, bool]]:
    """The customer's choice of channels for every kind of event (one query).

    No row for a kind means e-mail on and SMS as chosen for the kind it grew out of
    (``SMS_DEFAULT_FROM``), else off. E-mail is always on for a transactional kind, and
    SMS needs a phone number.
    """
    rows = {pref.event: pref for pref in NotificationPreference.objects.filter(customer=customer)}
    choices: dict[str, dict[str, bool]] = {}
    for event in NotificationEvent.values:
        pref = rows.get(event) or rows.get(SMS_DEFAULT_FROM.get(event, ""))
        email = rows[event].email if event in rows else True
        sms = bool(pref and pref.sms)
        choices[event] = {
            "email": email or is_transactional(event),
            "sms": sms and bool(customer.phone),
        }
    return choices


def get_notification_channels(*, customer: Customer, event: str) -> dict[str, bool]:
    """Which channels to use for ``event`` (see ``get_channel_choices``)."""
    if event not in NotificationEvent.values:
        raise ValueError(event)
    return get_channel_choices(customer)[event]


def list_company_contacts(*, company_id: int, event: str) -> list[CompanyContact]:
    """The active contacts of a company who get copies of ``event`` messages."""
    return [
        contact
        for contact in CompanyContact.objects.filter(company_id=company_id, is_active=True)
        if event in contact.events
    ]


def get_default_shipping_address(customer: Customer) -> Address | None:
    """The customer's default shipping address, else their company's (one query)."""
    owners = Q(customer=customer)
    if customer.company_id:
        owners |= Q(company_id=customer.company_id)
    candidates = Address.objects.filter(owners, kind=AddressKind.SHIPPING, is_default=True)
    return min(candidates, key=lambda a: a.customer_id is None, default=None)
