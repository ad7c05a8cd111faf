"""Notification preferences and one-click unsubscribe, for the people of an order.

- ``<status token>/notifications/``: the customer of the order switches channels per
  kind of message (the order's signed status link opens it; no login). E-mails of a
  transactional kind stay on; text messages need a phone number on the account.
- ``unsubscribe/<token>/``: the link every message carries. ``GET`` shows what will stop
  and a button; ``POST`` stops it: the customer's optional messages on that channel, or
  a company contact's copies on that channel. A mail client's one-click ``POST``
  (RFC 8058, ``List-Unsubscribe=One-Click``) carries no CSRF token: the signed token is
  the proof, so the view is exempt from CSRF.

Unsubscribe tokens are signed with the site's key (salt ``selfservice.unsubscribe``) and
do not expire: a link in an old message must still work.

``message_links`` gives the links a message carries for a recipient; the project wires
it into ``orders.notifications`` (``oms.apps``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core import signing
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from core.errors import DomainError
from customers.models import Customer, NotificationEvent
from customers.notification_models import (
    CHANNELS,
    CompanyContact,
    is_transactional,
)
from customers.notification_preferences import (
    set_channel_choices,
    unsubscribe_contact,
    unsubscribe_customer,
)
from customers.selectors import get_channel_choices

from .links import make_token
from .views import page_for

if TYPE_CHECKING:
    from orders.models import Order
    from orders.notifications import Recipient

UNSUBSCRIBE_SALT = "selfservice.unsubscribe"


@dataclass(frozen=True)
class Unsubscribe:
    """What an unsubscribe token names: a customer or a company contact, and a channel."""

    channel: str
    customer_id: int | None = None
    contact_id: int | None = None


def make_unsubscribe_token(
    *, channel: str, customer_id: int | None = None, contact_id: int | None = None
) -> str:
    if (customer_id is None) == (contact_id is None):
        raise ValueError("an unsubscribe token names a customer or a contact")
    who = f"c{customer_id}" if customer_id is not None else f"k{contact_id}"
    return signing.Signer(salt=UNSUBSCRIBE_SALT).sign(f"{who}.{channel}")


def read_unsubscribe_token(token: str) -> Unsubscribe | None:
    """What the token names; None for a token this site did not sign."""
    try:
        value = signing.Signer(salt=UNSUBSCRIBE_SALT).unsign(token)
    except signing.BadSignature:
        return None
    who, _, channel = value.partition(".")
    if channel not in CHANNELS or len(who) < 2 or not who[1:].isdigit():
        return None
    if who[0] == "c":
        return Unsubscribe(channel=channel, customer_id=int(who[1:]))
    if who[0] == "k":
        return Unsubscribe(channel=channel, contact_id=int(who[1:]))
    return None


def _absolute(path: str) -> str:
    return settings.OMS_PUBLIC_URL.rstrip("/") + path


def message_links(order: Order, recipient: Recipient) -> dict[str, str]:
    """The links a message about ``order`` carries for ``recipient``: the order's status
    page (30 days), the preferences page (the customer's copies only) and one-click
    unsubscribe."""
    status_token = make_token(order.pk)
    links = {
        "status_url": _absolute(reverse("selfservice:status", kwargs={"token": status_token})),
        "unsubscribe_url": _absolute(
            reverse(
                "selfservice:unsubscribe",
                kwargs={
                    "token": make_unsubscribe_token(
                        channel=recipient.channel,
                        customer_id=recipient.customer_id,
                        contact_id=recipient.contact_id,
                    )
                },
            )
        ),
    }
    if recipient.customer_id is not None:
        links["preferences_url"] = _absolute(
            reverse("selfservice:preferences", kwargs={"token": status_token})
        )
    return links


@dataclass(frozen=True)
class PreferenceRow:
    event: str
    label: str
    email: bool
    sms: bool
    transactional: bool


def _rows(customer: Customer) -> list[PreferenceRow]:
    choices = get_channel_choices(customer)
    return [
        PreferenceRow(
            event=event,
            label=NotificationEvent(event).label,
            email=choices[event]["email"],
            sms=choices[event]["sms"],
            transactional=is_transactional(event),
        )
        for event in NotificationEvent.values
    ]


@require_http_methods(["GET", "POST"])
def preferences(request: HttpRequest, token: str) -> HttpResponse:
    """The customer's channels per kind of message, reached from the order's status page."""
    page = page_for(request, token)
    if isinstance(page, HttpResponse):
        return page
    customer = Customer.objects.get(pk=page.order.customer_id)
    context: dict[str, Any] = {"page": page, "token": token, "has_phone": bool(customer.phone)}
    status = 200
    if request.method == "POST":
        wanted = {
            event: [c for c in CHANNELS if request.POST.get(f"{event}-{c}") == "on"]
            for event in NotificationEvent.values
        }
        try:
            set_channel_choices(customer=customer, choices=wanted)
        except DomainError as exc:  # a refusal is a message, and nothing is saved
            context["refused"] = str(exc)
            status = 400
        else:
            context["saved"] = True
    context["rows"] = _rows(customer)
    return render(request, "selfservice/preferences.html", context, status=status)


def _unsubscribe_subject(target: Unsubscribe) -> tuple[str, Customer | CompanyContact]:
    """Whom the token names, in words; Http404 once they no longer exist."""
    channel = {"email": "e-mails", "sms": "text messages"}[target.channel]
    if target.customer_id is not None:
        customer = Customer.objects.filter(pk=target.customer_id).first()
        if customer is None:
            raise Http404
        what = (
            "e-mails about your orders, except those we must send (confirmations, "
            "cancellations, refunds, invoices and requests for payment)"
            if target.channel == "email"
            else "text messages about your orders"
        )
        return what, customer
    contact = (
        CompanyContact.objects.select_related("company").filter(pk=target.contact_id or 0).first()
    )
    if contact is None:
        raise Http404
    return f"copies of {channel} about {contact.company.name}'s orders to {contact.name}", contact


@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """One-click unsubscribe: GET asks, POST (a button, or the mail client) stops."""
    target = read_unsubscribe_token(token)
    if target is None:
        return render(
            request, "selfservice/preferences_unsubscribe.html", {"invalid": True}, status=400
        )
    what, who = _unsubscribe_subject(target)
    context: dict[str, Any] = {"token": token, "what": what}
    if request.method == "GET":
        return render(request, "selfservice/preferences_unsubscribe.html", context)
    if isinstance(who, Customer):
        unsubscribe_customer(customer=who, channel=target.channel)
    else:
        unsubscribe_contact(contact=who, channel=target.channel)
    return render(request, "selfservice/preferences_unsubscribed.html", context)
