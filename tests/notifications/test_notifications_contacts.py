"""A company's notification contacts get copies of the messages of the kinds they chose
about the company's orders, on their channels, once each; they are managed on the
company's page in the console, where a bad phone number is refused."""

from __future__ import annotations

import pytest
from django.core import mail
from django.urls import reverse

from customers.notification_models import CompanyContact
from oms.notifications import send_order_notification
from orders.models import Notification, NotificationStatus
from tests.factories import CompanyFactory, CustomerFactory, UserFactory
from tests.notifications.conftest import emails_to, texts_to
from tests.orders.factories import OrderFactory, OrderLineFactory

pytestmark = pytest.mark.django_db

WAREHOUSE_PHONE = "+12125550147"


@pytest.fixture
def company_order():
    company = CompanyFactory()
    buyer = CustomerFactory(company=company, company_role="buyer")
    order = OrderFactory(customer=buyer, email=buyer.email, company=company)
    OrderLineFactory(order=order)
    CompanyContact.objects.create(
        company=company,
        name="Dock 4",
        email="dock@acme.test",
        phone=WAREHOUSE_PHONE,
        events=["shipped", "delivered"],
        by_email=True,
        by_sms=True,
    )
    CompanyContact.objects.create(
        company=company, name="Accounts payable", email="ap@acme.test", events=["invoice_issued"]
    )
    CompanyContact.objects.create(
        company=company,
        name="Left the company",
        email="gone@acme.test",
        events=["delivered"],
        is_active=False,
    )
    return order


def test_contacts_get_copies_of_their_kinds_once(company_order):
    order = company_order

    for _ in range(2):  # a redelivered event
        send_order_notification(order_id=order.pk, event="delivered")

    assert len(emails_to(order.email)) == 1
    [copy] = emails_to("dock@acme.test")
    assert copy.subject == f"Your order {order.number} was delivered"
    assert copy.body.startswith("Hello Dock 4,")
    assert f"A copy for {order.company.name}" in copy.body
    # a contact's copy offers no preferences page (those are the buyer's), only unsubscribe
    assert "Choose which messages you get" not in copy.body
    assert "List-Unsubscribe" in copy.extra_headers
    assert len(texts_to(WAREHOUSE_PHONE)) == 1
    assert emails_to("ap@acme.test") == []
    assert emails_to("gone@acme.test") == []
    rows = Notification.objects.filter(order=order, status=NotificationStatus.SENT)
    assert sorted(rows.values_list("channel", "recipient")) == sorted(
        [("email", "dock@acme.test"), ("email", order.email), ("sms", WAREHOUSE_PHONE)]
    )


def test_a_kind_no_contact_chose_goes_to_the_buyer_alone(company_order):
    order = company_order

    send_order_notification(order_id=order.pk, event="order_confirmed")

    assert [m.to for m in mail.outbox] == [[order.email]]


def test_a_contact_is_added_on_the_company_page_with_a_normalised_phone(client, company_order):
    client.force_login(UserFactory(username="boss", is_staff=True, is_superuser=True))
    company = company_order.company
    url = reverse("admin:customers_company_change", args=[company.pk])
    data = _company_form(client, url)
    prefix = "notification_contacts"
    count = int(data[f"{prefix}-TOTAL_FORMS"])
    data.update(
        {
            f"{prefix}-TOTAL_FORMS": str(count + 1),
            f"{prefix}-{count}-name": "Receiving",
            f"{prefix}-{count}-email": "receiving@acme.test",
            f"{prefix}-{count}-phone": "(212) 555-0199",
            f"{prefix}-{count}-events": ["shipped", "out_for_delivery"],
            f"{prefix}-{count}-by_email": "on",
            f"{prefix}-{count}-by_sms": "on",
            f"{prefix}-{count}-is_active": "on",
        }
    )

    response = client.post(url, data)

    assert response.status_code == 302, _errors(response)
    added = CompanyContact.objects.get(name="Receiving")
    assert (added.phone, added.events) == ("+12125550199", ["shipped", "out_for_delivery"])


def test_a_contact_with_a_bad_phone_is_refused_on_the_company_page(client, company_order):
    client.force_login(UserFactory(username="boss", is_staff=True, is_superuser=True))
    url = reverse("admin:customers_company_change", args=[company_order.company.pk])
    data = _company_form(client, url)
    prefix = "notification_contacts"
    count = int(data[f"{prefix}-TOTAL_FORMS"])
    data.update(
        {
            f"{prefix}-TOTAL_FORMS": str(count + 1),
            f"{prefix}-{count}-name": "Receiving",
            f"{prefix}-{count}-phone": "555",
            f"{prefix}-{count}-events": ["shipped"],
            f"{prefix}-{count}-by_sms": "on",
            f"{prefix}-{count}-is_active": "on",
        }
    )

    response = client.post(url, data)

    assert response.status_code == 200
    assert "is not a valid phone number" in response.content.decode()
    assert not CompanyContact.objects.filter(name="Receiving").exists()


def _company_form(client, url) -> dict:
    """The company page's form as the browser would send it back unchanged."""
    page = client.get(url)
    assert page.status_code == 200
    form = page.context["adminform"].form
    data = {
        name: ("" if value is None else value)
        for name, value in form.initial.items()
        if name in form.fields
    }
    for name in ("po_required", "allow_backorders", "tax_exempt", "is_active"):
        if data.get(name) is True:
            data[name] = "on"
        elif name in data:
            data.pop(name)
    data["price_list"] = data.get("price_list") or ""
    for inline in page.context["inline_admin_formsets"]:
        formset = inline.formset
        for name, value in formset.management_form.initial.items():
            data[f"{formset.prefix}-{name}"] = value
        for index, form in enumerate(formset.initial_forms):
            for name, field in form.fields.items():
                value = form.initial.get(name, field.initial)
                if hasattr(value, "pk"):
                    value = value.pk
                if value is True:
                    value = "on"
                if value in (None, False):
                    continue
                data[f"{formset.prefix}-{index}-{name}"] = value
    return data


def _errors(response) -> str:
    context = response.context
    if context is None:
        return str(response.status_code)
    found = [str(context["adminform"].form.errors)]
    found += [str(f.formset.errors) for f in context["inline_admin_formsets"]]
    return " ".join(found)
