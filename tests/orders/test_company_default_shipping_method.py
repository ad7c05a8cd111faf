"""A company's default shipping method: set with its terms in the company admin, and the
first rule of the method a new draft starts with (then the company's latest order's,
then the cheapest that ships)."""

from decimal import Decimal

import pytest
from django.db.models import ProtectedError
from django.urls import reverse

from customers.models import Company
from orders import drafts
from orders.models import OrderStatus
from shipping.models import ServiceLevel, ShippingMethod
from tests.factories import CompanyFactory, CustomerFactory, ShippingMethodFactory
from tests.orders.factories import OrderFactory

pytestmark = pytest.mark.django_db

NEW_DRAFT = "admin:orders_order_new_draft"


@pytest.fixture
def methods(db) -> dict[str, ShippingMethod]:
    standard = ShippingMethodFactory(price=Decimal("5.00"))
    return {
        "STANDARD": standard,
        "EXPRESS": ShippingMethodFactory(
            code="EXPRESS",
            name="Express",
            service_level=ServiceLevel.EXPRESS,
            carrier=standard.carrier,
            price=Decimal("15.00"),
        ),
        "FREIGHT": ShippingMethodFactory(
            code="FREIGHT",
            name="LTL freight",
            service_level=ServiceLevel.STANDARD,
            carrier=standard.carrier,
            price=Decimal("40.00"),
        ),
        "PICKUP": ShippingMethodFactory(
            code="PICKUP",
            name="Store pickup",
            service_level=ServiceLevel.PICKUP,
            carrier=None,
            transit_days_min=0,
            transit_days_max=0,
            price=Decimal("0"),
        ),
    }


@pytest.fixture
def company(methods) -> Company:
    return CompanyFactory(account_number="ACME1", name="Acme Hardware")


@pytest.fixture
def buyer(company):
    return CustomerFactory(company=company, company_role="buyer")


def test_the_company_default_comes_before_its_latest_order(
    methods, company, buyer, django_assert_num_queries
):
    OrderFactory(customer=buyer, company=company, shipping_method=methods["EXPRESS"])
    company.default_shipping_method = methods["FREIGHT"]
    company.save()

    with django_assert_num_queries(1):
        assert drafts.default_shipping_method_code(buyer) == "FREIGHT"
    # Before a buyer is picked, the company alone gives it.
    assert drafts.default_shipping_method_code(None, company) == "FREIGHT"
    # Any buyer of the company starts with it, even one who never ordered.
    other = CustomerFactory(company=company, company_role="buyer")
    assert drafts.default_shipping_method_code(other) == "FREIGHT"


def test_without_a_usable_default_the_latest_order_then_the_cheapest_that_ships(
    methods, company, buyer
):
    assert drafts.default_shipping_method_code(buyer) == "STANDARD"  # nothing yet

    OrderFactory(customer=buyer, company=company, shipping_method=methods["EXPRESS"])
    assert drafts.default_shipping_method_code(buyer) == "EXPRESS"  # no default set

    # A default retired since (inactive) is passed over, not offered.
    company.default_shipping_method = methods["FREIGHT"]
    company.save()
    ShippingMethod.objects.filter(code="FREIGHT").update(is_active=False)
    assert drafts.default_shipping_method_code(buyer) == "EXPRESS"

    # A store pickup needs a store: a latest order picked up is not the default either.
    OrderFactory(customer=buyer, company=company, shipping_method=methods["PICKUP"])
    assert drafts.default_shipping_method_code(buyer) == "STANDARD"


def test_drafts_of_the_company_are_not_its_latest_order(methods, company, buyer):
    OrderFactory(customer=buyer, company=company, shipping_method=methods["EXPRESS"])
    OrderFactory(
        customer=buyer,
        company=company,
        shipping_method=methods["FREIGHT"],
        status=OrderStatus.DRAFT,
        placed_at=None,
    )

    assert drafts.default_shipping_method_code(buyer) == "EXPRESS"


def test_another_company_default_does_not_leak(methods, company, buyer):
    CompanyFactory(default_shipping_method=methods["FREIGHT"])

    assert drafts.default_shipping_method_code(buyer) == "STANDARD"
    assert drafts.default_shipping_method_code(CustomerFactory()) == "STANDARD"  # a consumer


def test_the_draft_builder_opens_with_the_company_default(admin_client, methods, company, buyer):
    company.default_shipping_method = methods["EXPRESS"]
    company.save()

    by_buyer = admin_client.get(reverse(NEW_DRAFT), {"customer": buyer.email})
    by_company = admin_client.get(reverse(NEW_DRAFT), {"company": company.account_number})
    lookup = admin_client.get(
        reverse("admin:orders_order_draft_lookup", args=["buyer"]), {"q": buyer.email}
    )

    assert by_buyer.context["form"]["shipping_method"].value() == "EXPRESS"
    assert by_company.context["form"]["shipping_method"].value() == "EXPRESS"
    assert lookup.json()["results"][0]["shipping_method"] == "EXPRESS"


# --- the company admin --------------------------------------------------------------


def company_form(company: Company, **changes: str) -> dict[str, str]:
    data = {
        "name": company.name,
        "payment_terms": company.payment_terms,
        "currency": company.currency,
        "credit_limit": str(company.credit_limit),
        "is_active": "on",
        "default_shipping_method": "",
        "addresses-TOTAL_FORMS": "0",
        "addresses-INITIAL_FORMS": "0",
        "buyers-TOTAL_FORMS": "0",
        "buyers-INITIAL_FORMS": "0",
        "notification_contacts-TOTAL_FORMS": "0",
        "notification_contacts-INITIAL_FORMS": "0",
    }
    data.update(changes)
    return data


def test_the_default_is_set_with_the_terms_in_the_company_admin(admin_client, methods, company):
    url = reverse("admin:customers_company_change", args=[company.pk])

    page = admin_client.get(url)
    offered = {
        m.code for m in page.context["adminform"].form.fields["default_shipping_method"].queryset
    }
    response = admin_client.post(
        url, company_form(company, default_shipping_method=str(methods["EXPRESS"].pk))
    )

    assert offered == {"STANDARD", "EXPRESS", "FREIGHT"}  # active, and not a store pickup
    assert "Default shipping method" in page.content.decode()
    assert response.status_code == 302, response.context["adminform"].form.errors
    company.refresh_from_db()
    assert company.default_shipping_method == methods["EXPRESS"]
    assert company.history.first().default_shipping_method_id == methods["EXPRESS"].pk


@pytest.mark.parametrize(
    ("code", "message"),
    [("PICKUP", "is a store pickup"), ("FREIGHT", "is no longer offered")],
)
def test_a_pickup_or_retired_method_is_refused_and_nothing_changes(
    admin_client, methods, company, code, message
):
    company.default_shipping_method = methods["STANDARD"]
    company.save()
    ShippingMethod.objects.filter(code="FREIGHT").update(is_active=False)
    # The page still shows a default retired since, so the refusal can say so.
    if code == "FREIGHT":
        Company.objects.filter(pk=company.pk).update(default_shipping_method=methods["FREIGHT"])
    url = reverse("admin:customers_company_change", args=[company.pk])

    response = admin_client.post(
        url, company_form(company, default_shipping_method=str(methods[code].pk), name="Renamed")
    )

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors["default_shipping_method"]
    if code == "PICKUP":  # never offered: the choice itself is refused
        assert errors == ["Select a valid choice. That choice is not one of the available choices."]
    else:
        assert message in errors[0]
    company.refresh_from_db()
    assert company.name == "Acme Hardware"


def test_a_company_added_in_the_admin_keeps_its_default(admin_client, methods):
    response = admin_client.post(
        reverse("admin:customers_company_add"),
        company_form(
            Company(
                name="Globex", currency="USD", credit_limit=Decimal("0"), payment_terms="net30"
            ),
            account_number="glx1",
            default_shipping_method=str(methods["FREIGHT"].pk),
        ),
    )

    assert response.status_code == 302
    assert Company.objects.get(account_number="GLX1").default_shipping_method == methods["FREIGHT"]


def test_a_method_that_is_a_company_default_cannot_be_deleted(methods, company):
    company.default_shipping_method = methods["FREIGHT"]
    company.save()

    with pytest.raises(ProtectedError):
        methods["FREIGHT"].delete()

    company.refresh_from_db()
    assert company.default_shipping_method == methods["FREIGHT"]


def test_the_company_defaults_lookup_gives_the_method_a_company_starts_with(
    admin_client, methods, company
):
    url = reverse("admin:orders_order_draft_lookup", args=["company-defaults"])

    before = admin_client.get(url, {"q": company.account_number}).json()["results"]
    company.default_shipping_method = methods["FREIGHT"]
    company.save()
    after = admin_client.get(url, {"q": company.account_number}).json()["results"]
    unknown = admin_client.get(url, {"q": "NO-SUCH-ACCOUNT"}).json()["results"]

    assert before == [
        {"value": company.account_number, "label": company.name, "shipping_method": "STANDARD"}
    ]
    assert after[0]["shipping_method"] == "FREIGHT"
    assert unknown == []
