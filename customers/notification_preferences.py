"""Writes of who hears about what: a customer's channels per kind of event, one-click
unsubscribes, and a company's notification contacts."""

from __future__ import annotations

from collections.abc import Collection, Mapping

from django.db import transaction

from core.errors import InvalidInput
from core.phones import InvalidPhone, normalise_phone

from .models import Company, Customer, NotificationEvent, NotificationPreference
from .notification_models import CHANNELS, CompanyContact, is_transactional
from .selectors import get_channel_choices


@transaction.atomic
def set_channel_choices(
    *, customer: Customer, choices: Mapping[str, Collection[str]]
) -> dict[str, dict[str, bool]]:
    """Set the channels of every kind of event named in ``choices`` (kind -> the
    channels wanted; a kind not named is left as it is). E-mail stays on for a
    transactional kind; SMS needs the customer's phone number. Writes one row per kind
    whose choice differs from what applies now. Returns the choices that now apply."""
    unknown = set(choices) - set(NotificationEvent.values)
    if unknown:
        raise InvalidInput(f"Unknown kinds of message: {', '.join(sorted(unknown))}.")
    for wanted in choices.values():
        if set(wanted) - set(CHANNELS):
            raise InvalidInput("Channels are e-mail and SMS.")
    if any("sms" in wanted for wanted in choices.values()) and not customer.phone:
        raise InvalidInput("Text messages need a phone number on your account.")
    # Lock the customer so that two saves of the page write one after the other.
    Customer.objects.select_for_update(no_key=True).filter(pk=customer.pk).first()
    current = get_channel_choices(customer)
    for event, wanted in choices.items():
        email = "email" in wanted or is_transactional(event)
        sms = "sms" in wanted
        if current[event] != {"email": email, "sms": sms}:
            NotificationPreference.objects.update_or_create(
                customer=customer, event=event, defaults={"email": email, "sms": sms}
            )
    return get_channel_choices(customer)


@transaction.atomic
def unsubscribe_customer(*, customer: Customer, channel: str) -> list[str]:
    """Switch ``channel`` off for every kind the customer may switch off (one click from
    a message); transactional e-mails go on. Returns the kinds switched off."""
    if channel not in CHANNELS:
        raise InvalidInput("Channels are e-mail and SMS.")
    current = get_channel_choices(customer)
    changed = {
        event: [c for c in CHANNELS if c != channel and on[c]]
        for event, on in current.items()
        if on[channel] and not (channel == "email" and is_transactional(event))
    }
    set_channel_choices(customer=customer, choices=changed)
    return sorted(changed)


@transaction.atomic
def unsubscribe_contact(*, contact: CompanyContact, channel: str) -> None:
    """Stop a company contact's copies on ``channel`` (one click from a message)."""
    if channel not in CHANNELS:
        raise InvalidInput("Channels are e-mail and SMS.")
    field = "by_email" if channel == "email" else "by_sms"
    CompanyContact.objects.filter(pk=contact.pk).update(**{field: False})


@transaction.atomic
def save_company_contact(
    *,
    company: Company,
    contact: CompanyContact | None = None,
    name: str,
    email: str,
    phone: str,
    events: Collection[str],
    by_email: bool,
    by_sms: bool,
    is_active: bool = True,
) -> CompanyContact:
    """Add a notification contact to ``company``, or change ``contact``. The phone is
    stored in E.164; each channel chosen needs its address."""
    errors: dict[str, str] = {}
    try:
        phone = normalise_phone(phone)
    except InvalidPhone as exc:
        errors["phone"] = str(exc)
    if not name.strip():
        errors["name"] = "Give the contact a name."
    if by_email and not email.strip():
        errors["email"] = "Copies by e-mail need an e-mail address."
    if by_sms and not phone and "phone" not in errors:
        errors["phone"] = "Copies by SMS need a phone number."
    unknown = set(events) - set(NotificationEvent.values)
    if unknown:
        errors["events"] = f"Unknown kinds of message: {', '.join(sorted(unknown))}."
    if errors:
        raise InvalidInput(" ".join(errors.values()), fields=errors)
    target = contact or CompanyContact(company=company)
    target.name = name.strip()
    target.email = email.strip()
    target.phone = phone
    target.events = [e for e in NotificationEvent.values if e in set(events)]
    target.by_email = by_email
    target.by_sms = by_sms
    target.is_active = is_active
    target.save()
    return target
