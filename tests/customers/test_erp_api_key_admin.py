"""Issuing an ERP's API key from the API key admin, and the refusals of the form."""

import pytest
from django.urls import reverse

from customers.api_keys import find_active_key
from customers.models import ApiKey
from inventory.models import LocationKind
from tests.factories import CompanyFactory, CustomerFactory, LocationFactory

pytestmark = pytest.mark.django_db

ADD = "admin:customers_apikey_add"


def test_an_erp_key_is_issued_from_the_admin_and_shown_once(admin_client):
    response = admin_client.post(reverse(ADD), {"is_erp": "on", "name": "NetSuite"})

    assert response.status_code == 200
    page = response.content.decode()
    assert "an ERP: purchase orders and their deliveries, for every location" in page
    issued = find_active_key(response.context["raw_key"])
    assert issued is not None
    assert (issued.is_erp, issued.company, issued.vendor, issued.name) == (
        True,
        None,
        None,
        "NetSuite",
    )
    listed = admin_client.get(reverse("admin:customers_apikey_changelist")).content.decode()
    assert "ERP (purchase orders of every location)" in listed


@pytest.mark.parametrize("owner", ["company", "vendor", "buyer"])
def test_an_erp_key_for_a_company_vendor_or_buyer_is_refused(admin_client, owner):
    company = CompanyFactory()
    buyer = CustomerFactory(company=company, company_role="buyer")
    vendor = LocationFactory(kind=LocationKind.THIRD_PARTY)
    value = {"company": company, "vendor": vendor, "buyer": buyer}[owner]

    response = admin_client.post(reverse(ADD), {"is_erp": "on", owner: value.pk, "name": "Mixed"})

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    field = "buyer" if owner == "buyer" else "is_erp"
    assert list(errors) == [field]
    assert "ERP key" in errors[field][0]
    assert not ApiKey.objects.exists()


def test_a_key_for_nobody_is_refused(admin_client):
    response = admin_client.post(reverse(ADD), {"name": "Nobody"})

    assert response.context["adminform"].form.errors == {
        "vendor": ["Choose the company or the vendor the key is for, or tick “ERP key”."]
    }
    assert not ApiKey.objects.exists()
