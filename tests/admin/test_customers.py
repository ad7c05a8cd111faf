"""Customer and company pages: new rows go through the customer services, notes are
append-only and attributed, addresses are validated like everywhere else."""

import pytest
from django.urls import reverse

from customers import services as customer_services
from customers.models import Address, Company, Customer, CustomerNote, NotificationPreference
from tests.admin.helpers import add_inline_row, form_data, inline_prefix
from tests.factories import CompanyFactory, CustomerFactory

pytestmark = pytest.mark.django_db


def _change_url(obj) -> str:
    return reverse(f"admin:customers_{obj._meta.model_name}_change", args=[obj.pk])


@pytest.fixture
def customer(operator) -> Customer:
    customer = CustomerFactory(phone="")
    customer_services.add_customer_note(customer=customer, body="First call.", actor=operator)
    return customer


def test_adding_a_note_writes_it_attributed_to_the_user(admin_client, admin_user, customer):
    page = admin_client.get(_change_url(customer))
    data = form_data(page)
    add_inline_row(data, inline_prefix(page, CustomerNote), body="Asked for a refund.")

    response = admin_client.post(_change_url(customer), data)

    assert response.status_code == 302
    notes = list(customer.notes.order_by("id").values_list("body", "author"))
    assert notes == [("First call.", admin_user.pk), ("Asked for a refund.", admin_user.pk)]


def test_existing_notes_cannot_be_rewritten(admin_client, customer):
    page = admin_client.get(_change_url(customer))
    data = form_data(page)
    prefix = inline_prefix(page, CustomerNote)
    data[f"{prefix}-0-body"] = "Rewritten."

    admin_client.post(_change_url(customer), data)

    assert list(customer.notes.values_list("body", flat=True)) == ["First call."]


def test_address_added_inline_is_validated_and_geocoded(admin_client, customer):
    page = admin_client.get(_change_url(customer))
    prefix = inline_prefix(page, Address)
    bad = form_data(page)
    add_inline_row(
        bad, prefix, kind="shipping", line1="1 Elm St", city="Reno", country="US", postal_code="1"
    )

    refused = admin_client.post(_change_url(customer), bad)

    assert refused.status_code == 200
    errors = refused.context["inline_admin_formsets"][0].formset.errors
    assert {"postal_code": ["Not a known US ZIP code."]} in errors
    assert not Address.objects.exists()

    good = form_data(page)
    add_inline_row(
        good,
        prefix,
        kind="shipping",
        is_default="on",
        line1="1 Elm St",
        city="Reno",
        country="us",
        postal_code="89502",
    )
    accepted = admin_client.post(_change_url(customer), good)

    assert accepted.status_code == 302
    address = Address.objects.get(customer=customer)
    assert (address.country, address.is_default) == ("US", True)
    assert address.latitude is not None


def test_second_default_address_on_edit_is_refused(admin_client, customer):
    for line1 in ("1 Elm St", "2 Oak St"):
        customer_services.add_address(
            kind="shipping",
            data={"line1": line1, "city": "Reno", "postal_code": "89502", "country": "US"},
            customer=customer,
            make_default=line1 == "1 Elm St",
        )
    page = admin_client.get(_change_url(customer))
    data = form_data(page)
    prefix = inline_prefix(page, Address)
    index = next(i for i in range(2) if data[f"{prefix}-{i}-line1"] == "2 Oak St")
    data[f"{prefix}-{index}-is_default"] = "on"

    response = admin_client.post(_change_url(customer), data)

    assert response.status_code == 200
    assert "untick it and save first" in response.content.decode()
    assert Address.objects.filter(is_default=True).count() == 1


def test_sms_preference_needs_a_phone_number(admin_client, customer):
    page = admin_client.get(_change_url(customer))
    data = form_data(page)
    add_inline_row(
        data, inline_prefix(page, NotificationPreference), event="shipped", email="on", sms="on"
    )

    response = admin_client.post(_change_url(customer), data)

    assert response.status_code == 200
    assert "SMS needs a phone number on the customer." in response.content.decode()
    assert not NotificationPreference.objects.exists()


def test_sms_preference_with_a_phone_added_in_the_same_save(admin_client, customer):
    page = admin_client.get(_change_url(customer))
    data = form_data(page)
    data["phone"] = "+17755550199"
    add_inline_row(
        data, inline_prefix(page, NotificationPreference), event="shipped", email="on", sms="on"
    )

    response = admin_client.post(_change_url(customer), data)

    assert response.status_code == 302
    assert NotificationPreference.objects.get(customer=customer).sms is True


def test_adding_a_customer_goes_through_the_service(admin_client):
    company = CompanyFactory()

    response = admin_client.post(
        reverse("admin:customers_customer_add"),
        {
            "email": " ana@example.com ",
            "first_name": "Ana",
            "last_name": "Lopez",
            "company": company.pk,
            "company_role": "buyer",
            "is_active": "on",
            **_empty_inlines(),
        },
    )

    assert response.status_code == 302
    customer = Customer.objects.get()
    assert (customer.email, customer.company, customer.company_role) == (
        "ana@example.com",
        company,
        "buyer",
    )


def test_a_duplicate_email_in_another_case_is_refused(admin_client):
    CustomerFactory(email="ana@example.com")

    response = admin_client.post(
        reverse("admin:customers_customer_add"),
        {
            "email": "ANA@example.com",
            "first_name": "Ana",
            "last_name": "Lopez",
            "is_active": "on",
            **_empty_inlines(),
        },
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "email": ["A customer with this e-mail address already exists."]
    }
    assert Customer.objects.count() == 1


def test_adding_a_company_normalises_its_account_number(admin_client):
    response = admin_client.post(
        reverse("admin:customers_company_add"),
        {
            "account_number": " acme42 ",
            "name": "Acme",
            "payment_terms": "net30",
            "currency": "USD",
            "credit_limit": "5000",
            "is_active": "on",
            "addresses-TOTAL_FORMS": "0",
            "addresses-INITIAL_FORMS": "0",
            "buyers-TOTAL_FORMS": "0",
            "buyers-INITIAL_FORMS": "0",
            "notification_contacts-TOTAL_FORMS": "0",
            "notification_contacts-INITIAL_FORMS": "0",
        },
    )

    assert response.status_code == 302
    assert Company.objects.get().account_number == "ACME42"


def _empty_inlines() -> dict[str, str]:
    data = {}
    for prefix in ("addresses", "notification_preferences", "notes"):
        data[f"{prefix}-TOTAL_FORMS"] = "0"
        data[f"{prefix}-INITIAL_FORMS"] = "0"
    return data


def test_changing_a_preference_row_to_another_event_moves_it(admin_client, customer):
    customer_services.set_notification_preference(
        customer=customer, event="shipped", email=False, sms=False
    )
    page = admin_client.get(_change_url(customer))
    data = form_data(page)
    data[f"{inline_prefix(page, NotificationPreference)}-0-event"] = "delivered"

    response = admin_client.post(_change_url(customer), data)

    assert response.status_code == 302
    assert list(NotificationPreference.objects.values_list("event", "email")) == [
        ("delivered", False)
    ]
