"""API keys in the console: issued by the service, the secret shown once, revoked by an
action, never edited."""

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse

from customers.api_keys import find_active_key
from customers.models import ApiKey
from inventory.models import LocationKind
from tests.factories import CompanyFactory, CustomerFactory, LocationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def company():
    company = CompanyFactory()
    CustomerFactory(company=company, company_role="buyer")
    return company


def test_issuing_a_key_shows_the_secret_once_and_stores_only_its_hash(admin_client, company):
    response = admin_client.post(
        reverse("admin:customers_apikey_add"), {"company": company.pk, "name": "ERP link"}
    )

    assert response.status_code == 200
    raw_key = response.context["raw_key"]
    api_key = ApiKey.objects.get()
    assert find_active_key(raw_key) == api_key
    assert raw_key not in api_key.key_hash
    page = admin_client.get(reverse("admin:customers_apikey_change", args=[api_key.pk]))
    assert raw_key not in page.content.decode()
    assert api_key.key_hash not in page.content.decode()


def test_a_key_for_an_inactive_company_is_refused(admin_client, company):
    company.is_active = False
    company.save()

    response = admin_client.post(
        reverse("admin:customers_apikey_add"), {"company": company.pk, "name": "ERP"}
    )

    assert response.context["adminform"].form.errors == {
        "company": [f"{company.name} is not active."]
    }
    assert not ApiKey.objects.exists()


def test_a_key_for_someone_elses_buyer_is_refused(admin_client, company):
    stranger = CustomerFactory()

    response = admin_client.post(
        reverse("admin:customers_apikey_add"),
        {"company": company.pk, "buyer": stranger.pk, "name": "ERP"},
    )

    assert "is not a buyer of" in response.context["adminform"].form.errors["buyer"][0]
    assert not ApiKey.objects.exists()


def test_revoke_action_revokes_after_confirmation(admin_client, world):
    api_key = world["api_key"]
    changelist = reverse("admin:customers_apikey_changelist")
    selection = {"action": "revoke_keys", ACTION_CHECKBOX_NAME: [api_key.pk]}

    admin_client.post(changelist, selection)
    api_key.refresh_from_db()
    assert api_key.is_active

    admin_client.post(changelist, {**selection, "apply": "yes"})

    api_key.refresh_from_db()
    assert not api_key.is_active


def test_issuing_a_vendor_key(admin_client):
    vendor = LocationFactory(code="DROP1", kind=LocationKind.DROPSHIP_VENDOR)

    response = admin_client.post(
        reverse("admin:customers_apikey_add"), {"vendor": vendor.pk, "name": "Vendor portal"}
    )

    assert response.status_code == 200
    assert find_active_key(response.context["raw_key"]).vendor == vendor


def test_a_key_for_both_a_company_and_a_vendor_is_refused(admin_client, company):
    vendor = LocationFactory(kind=LocationKind.DROPSHIP_VENDOR)

    response = admin_client.post(
        reverse("admin:customers_apikey_add"),
        {"company": company.pk, "vendor": vendor.pk, "name": "Both"},
    )

    assert response.context["adminform"].form.errors == {
        "vendor": ["A key is for either a company or a vendor."]
    }
    assert not ApiKey.objects.exists()
