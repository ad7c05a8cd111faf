"""What a customer chooses to hear: preferences per kind and channel, reached from the
order's status page; transactional e-mails that cannot be switched off; one-click
unsubscribe from any message (RFC 8058: the headers, a confirm page on GET, the
unsubscribe on a POST that carries no CSRF token)."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import Client

from core.errors import InvalidInput
from customers.models import NotificationEvent, NotificationPreference
from customers.notification_models import TRANSACTIONAL, CompanyContact
from customers.notification_preferences import set_channel_choices
from customers.selectors import get_channel_choices
from customers.services import set_notification_preference
from oms.notifications import send_order_notification
from orders.models import Notification, NotificationStatus
from selfservice.links import status_path
from selfservice.preferences import make_unsubscribe_token
from tests.factories import CompanyFactory, CustomerFactory
from tests.notifications.conftest import PHONE, emails_to, texting_customer, texts_to
from tests.orders.factories import OrderFactory, OrderLineFactory

pytestmark = pytest.mark.django_db

UNSUBSCRIBE = re.compile(r"<(https://shop\.example(/orders/status/unsubscribe/[^>]+/))>")


def customer_order(customer):
    order = OrderFactory(customer=customer, email=customer.email)
    OrderLineFactory(order=order)
    return order


# --- transactional messages -------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(TRANSACTIONAL))
def test_a_transactional_email_cannot_be_switched_off(kind):
    customer = CustomerFactory()

    with pytest.raises(InvalidInput, match="cannot be switched off"):
        set_notification_preference(customer=customer, event=kind, email=False, sms=False)

    set_channel_choices(customer=customer, choices={kind: []})
    assert get_channel_choices(customer)[kind] == {"email": True, "sms": False}
    assert not NotificationPreference.objects.filter(customer=customer, email=False).exists()


def test_transactional_are_what_the_docs_say():
    assert {
        "order_confirmed",
        "on_hold",
        "cancelled",
        "address_changed",
        "return_approved",
        "refund_issued",
        "invoice_issued",
        "payment_failed",
    } == set(TRANSACTIONAL)


def test_a_confirmation_is_e_mailed_even_to_a_customer_who_tried_to_switch_it_off():
    customer = CustomerFactory()
    # a row written before the rule (or by hand): e-mail off
    NotificationPreference.objects.create(
        customer=customer, event="order_confirmed", email=False, sms=False
    )
    order = customer_order(customer)

    send_order_notification(order_id=order.pk, event="order_confirmed")

    assert len(emails_to(order.email)) == 1


def test_an_optional_kind_switched_off_is_not_e_mailed():
    customer = CustomerFactory()
    set_channel_choices(customer=customer, choices={"delivered": []})
    order = customer_order(customer)

    send_order_notification(order_id=order.pk, event="delivered")

    assert emails_to(order.email) == []
    assert Notification.objects.get(order=order).status == NotificationStatus.SKIPPED


def test_a_kind_without_a_choice_takes_the_sms_choice_of_the_kind_it_grew_from():
    customer = CustomerFactory(phone=PHONE)
    set_notification_preference(customer=customer, event="ready_for_pickup", email=True, sms=True)

    assert get_channel_choices(customer)["picked_up"] == {"email": True, "sms": True}
    assert get_channel_choices(customer)["shipped"] == {"email": True, "sms": False}


# --- the preferences page ----------------------------------------------------------------


def test_the_status_page_links_to_the_preferences_page(client: Client):
    order = customer_order(texting_customer())
    token_path = status_path(order)

    page = client.get(token_path)

    assert f'href="{token_path}notifications/"' in page.content.decode()


def test_the_preferences_page_switches_channels_per_kind(client: Client):
    customer = CustomerFactory(phone=PHONE)
    order = customer_order(customer)
    url = status_path(order) + "notifications/"

    page = client.get(url)
    assert page.status_code == 200
    content = page.content.decode()
    assert "Out for delivery" in content
    # a transactional kind's e-mail is shown on and cannot be unticked
    assert 'name="order_confirmed-email" checked disabled' in content

    wanted = {"shipped-email": "on", "shipped-sms": "on", "delivered-sms": "on"}
    saved = client.post(url, wanted)

    assert saved.status_code == 200
    assert "Your choices are saved." in saved.content.decode()
    choices = get_channel_choices(customer)
    assert choices["shipped"] == {"email": True, "sms": True}
    assert choices["delivered"] == {"email": False, "sms": True}
    assert choices["out_for_delivery"] == {"email": False, "sms": False}
    assert choices["order_confirmed"] == {"email": True, "sms": False}  # stays on


def test_text_messages_need_a_phone_and_a_refusal_saves_nothing(client: Client):
    customer = CustomerFactory(phone="")
    order = customer_order(customer)
    url = status_path(order) + "notifications/"

    refused = client.post(url, {"shipped-sms": "on"})

    assert refused.status_code == 400
    assert "need a phone number" in refused.content.decode()
    assert not NotificationPreference.objects.filter(customer=customer).exists()


def test_a_tampered_link_does_not_open_the_preferences(client: Client):
    order = customer_order(CustomerFactory())

    response = client.get(status_path(order)[:-3] + "xx/notifications/")

    assert response.status_code == 400
    assert "Out for delivery" not in response.content.decode()


# --- one-click unsubscribe ------------------------------------------------------------------


def test_every_message_carries_one_click_unsubscribe_and_it_works(client: Client):
    customer = texting_customer()
    order = customer_order(customer)

    send_order_notification(order_id=order.pk, event="delivered")

    [message] = mail.outbox
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url, path = UNSUBSCRIBE.fullmatch(message.extra_headers["List-Unsubscribe"]).groups()
    assert f"Unsubscribe: {url}" in message.body
    assert url in message.alternatives[0][0]
    [text] = texts_to(PHONE)
    assert "Stop texts: https://shop.example/orders/status/unsubscribe/" in text["body"]

    confirm = client.get(path)
    assert confirm.status_code == 200
    assert "Yes, unsubscribe" in confirm.content.decode()
    assert get_channel_choices(customer)["delivered"]["email"] is True  # GET changes nothing

    # a mail client's one-click POST: no CSRF token, no cookie
    one_click = Client(enforce_csrf_checks=True).post(path, {"List-Unsubscribe": "One-Click"})

    assert one_click.status_code == 200
    choices = get_channel_choices(customer)
    assert all(
        not choices[kind]["email"] for kind in NotificationEvent.values if kind not in TRANSACTIONAL
    )
    assert all(choices[kind]["email"] for kind in TRANSACTIONAL)
    assert choices["delivered"]["sms"] is True  # the other channel is untouched


def test_unsubscribing_from_texts_stops_texts_only(client: Client):
    customer = texting_customer()
    token = make_unsubscribe_token(channel="sms", customer_id=customer.pk)

    Client(enforce_csrf_checks=True).post(f"/orders/status/unsubscribe/{token}/")

    choices = get_channel_choices(customer)
    assert not any(choices[kind]["sms"] for kind in NotificationEvent.values)
    assert all(choices[kind]["email"] for kind in NotificationEvent.values)


def test_a_contact_unsubscribes_from_their_copies(client: Client):
    contact = CompanyContact.objects.create(
        company=CompanyFactory(), name="Warehouse", email="dock@acme.test", events=["shipped"]
    )
    token = make_unsubscribe_token(channel="email", contact_id=contact.pk)

    page = client.get(f"/orders/status/unsubscribe/{token}/")
    assert "Warehouse" in page.content.decode()
    Client(enforce_csrf_checks=True).post(f"/orders/status/unsubscribe/{token}/")

    contact.refresh_from_db()
    assert contact.by_email is False


def test_a_forged_unsubscribe_token_changes_nothing(client: Client):
    customer = texting_customer()
    token = make_unsubscribe_token(channel="email", customer_id=customer.pk)
    forged = token.replace(f"c{customer.pk}.", f"c{customer.pk + 1}.")

    response = Client(enforce_csrf_checks=True).post(f"/orders/status/unsubscribe/{forged}/")

    assert response.status_code == 400
    assert get_channel_choices(customer)["delivered"]["email"] is True
