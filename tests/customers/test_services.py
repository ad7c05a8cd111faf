"""Customer, company, address and notification-preference services."""

from decimal import Decimal

import pytest

from core.errors import Conflict, DomainError, InvalidInput
from customers import services
from customers.models import (
    Address,
    AddressKind,
    Company,
    CompanyRole,
    Customer,
    CustomerNote,
    NotificationEvent,
    NotificationPreference,
    PaymentTerms,
)
from customers.selectors import get_notification_channels
from tests.factories import CompanyFactory, CustomerFactory

NYC = {"line1": "350 5th Ave", "city": "New York", "region": "NY", "postal_code": "10118"}


def field_errors(refused: pytest.ExceptionInfo[InvalidInput]) -> set[str]:
    return set(refused.value.details["fields"])


# --- companies and customers ------------------------------------------------------------


@pytest.mark.django_db
def test_create_company_normalises_its_account_number():
    company = services.create_company(
        account_number=" acme-7 ",
        name="  Acme Corp ",
        payment_terms=PaymentTerms.NET_60,
        credit_limit=Decimal("5000"),
        tax_exempt=True,
        tax_exemption_number=" EX-1 ",
        approval_threshold=Decimal("1000"),
    )

    company.refresh_from_db()
    assert (company.account_number, company.name, company.tax_exemption_number) == (
        "ACME-7",
        "Acme Corp",
        "EX-1",
    )
    assert (company.payment_terms, company.credit_limit) == (PaymentTerms.NET_60, Decimal("5000"))


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"account_number": "acme-1"}, Conflict),
        ({"account_number": "  "}, InvalidInput),
        ({"name": " "}, InvalidInput),
        ({"credit_limit": Decimal("-1")}, InvalidInput),
        ({"approval_threshold": Decimal("-0.01")}, InvalidInput),
        ({"tax_exempt": True, "tax_exemption_number": "  "}, InvalidInput),
        ({"payment_terms": "net90"}, InvalidInput),
    ],
)
def test_create_company_refusals_write_nothing(overrides, error):
    services.create_company(account_number="ACME-1", name="Acme")
    args = {"account_number": "ACME-2", "name": "Other"} | overrides

    with pytest.raises(error):
        services.create_company(**args)

    assert list(Company.objects.values_list("account_number", flat=True)) == ["ACME-1"]


@pytest.mark.django_db
def test_create_customer_b2c_and_b2b():
    company = CompanyFactory()

    shopper = services.create_customer(
        email=" Pat@Example.com ",
        first_name=" Pat ",
        last_name="Lee",
        phone=" (415) 555-0100 ",
        company_role=CompanyRole.ADMIN,
    )
    buyer = services.create_customer(
        email="buyer@acme.test", first_name="Bo", last_name="Buys", company=company
    )

    # the phone is stored in E.164
    assert (shopper.email, shopper.first_name, shopper.phone) == (
        "Pat@Example.com",
        "Pat",
        "+14155550100",
    )
    assert (shopper.company_id, shopper.company_role) == (None, "")
    assert (buyer.company_id, buyer.company_role) == (company.pk, CompanyRole.BUYER)


@pytest.mark.django_db
@pytest.mark.parametrize("email", ["pat@example.com", "PAT@EXAMPLE.COM", " Pat@example.COM "])
def test_a_duplicate_email_in_any_case_is_a_conflict_and_writes_nothing(email):
    original = services.create_customer(email="Pat@Example.com", first_name="Pat", last_name="A")

    with pytest.raises(Conflict):
        services.create_customer(email=email, first_name="Other", last_name="B")

    assert list(Customer.objects.values_list("pk", "first_name")) == [(original.pk, "Pat")]


@pytest.mark.django_db
def test_an_email_without_at_sign_is_refused():
    with pytest.raises(InvalidInput):
        services.create_customer(email="pat.example.com", first_name="Pat", last_name="Lee")
    assert not Customer.objects.exists()


# --- addresses ----------------------------------------------------------------------------


def save(owner, *, kind=AddressKind.SHIPPING, default=False, city="New York") -> Address:
    target = {"company": owner} if isinstance(owner, Company) else {"customer": owner}
    return services.add_address(
        kind=kind, data={**NYC, "city": city, "country": "US"}, make_default=default, **target
    )


def defaults_of(**owner) -> dict[str, str]:
    rows = Address.objects.filter(is_default=True, **owner).values_list("kind", "city")
    return dict(rows)


@pytest.mark.django_db
def test_a_new_default_address_replaces_the_old_one_of_its_kind_only():
    # given a customer with a default shipping and a default billing address, and
    # another customer with their own default shipping address
    customer, neighbour = CustomerFactory(), CustomerFactory()
    first = save(customer, default=True, city="First")
    save(customer, kind=AddressKind.BILLING, default=True, city="Billing")
    save(neighbour, default=True, city="Neighbour")

    # when a second shipping address becomes the default
    second = save(customer, default=True, city="Second")

    # then it alone is the default shipping address; nothing else moved
    assert defaults_of(customer=customer) == {"shipping": "Second", "billing": "Billing"}
    assert defaults_of(customer=neighbour) == {"shipping": "Neighbour"}
    first.refresh_from_db()
    assert first.is_default is False
    assert second.latitude is not None


@pytest.mark.django_db
def test_a_non_default_address_leaves_the_default_alone():
    company = CompanyFactory()
    save(company, default=True, city="Head office")

    extra = save(company, city="Warehouse")

    assert extra.is_default is False
    assert defaults_of(company=company) == {"shipping": "Head office"}
    assert Address.objects.filter(company=company).count() == 2


@pytest.mark.django_db
def test_add_address_refusals_write_nothing():
    customer, company = CustomerFactory(), CompanyFactory()
    save(customer, default=True)
    good = {**NYC, "country": "US"}
    attempts = [
        {"kind": AddressKind.SHIPPING, "data": good},
        {"kind": AddressKind.SHIPPING, "data": good, "customer": customer, "company": company},
        {"kind": "pickup", "data": good, "customer": customer},
        {
            "kind": AddressKind.SHIPPING,
            "data": {**good, "postal_code": "00000"},
            "customer": customer,
        },
    ]

    for attempt in attempts:
        with pytest.raises(InvalidInput):
            services.add_address(make_default=True, **attempt)

    assert defaults_of(customer=customer) == {"shipping": "New York"}
    assert Address.objects.count() == 1


# --- notification preferences ----------------------------------------------------------


@pytest.mark.django_db
def test_channels_default_to_email_only():
    customer = CustomerFactory(phone="+15555550100")

    for event in NotificationEvent.values:
        assert get_notification_channels(customer=customer, event=event) == {
            "email": True,
            "sms": False,
        }


@pytest.mark.django_db
def test_a_preference_is_stored_once_per_event_and_followed():
    customer = CustomerFactory(phone="+15555550100")

    services.set_notification_preference(
        customer=customer, event=NotificationEvent.SHIPPED, email=True, sms=True
    )
    services.set_notification_preference(
        customer=customer, event=NotificationEvent.SHIPPED, email=False, sms=True
    )

    assert NotificationPreference.objects.filter(customer=customer).count() == 1
    assert get_notification_channels(customer=customer, event=NotificationEvent.SHIPPED) == {
        "email": False,
        "sms": True,
    }
    assert get_notification_channels(customer=customer, event=NotificationEvent.DELIVERED) == {
        "email": True,
        "sms": False,
    }


@pytest.mark.django_db
def test_sms_needs_a_phone_number():
    customer = CustomerFactory(phone="")

    with pytest.raises(InvalidInput) as refused:
        services.set_notification_preference(
            customer=customer, event=NotificationEvent.SHIPPED, email=True, sms=True
        )
    with pytest.raises(InvalidInput):
        services.set_notification_preference(
            customer=customer, event="birthday", email=True, sms=False
        )

    assert field_errors(refused) == {"sms"}
    assert not NotificationPreference.objects.exists()


@pytest.mark.django_db
def test_sms_stops_when_the_phone_number_is_removed():
    customer = CustomerFactory(phone="+15555550100")
    services.set_notification_preference(
        customer=customer, event=NotificationEvent.DELAYED, email=True, sms=True
    )

    Customer.objects.filter(pk=customer.pk).update(phone="")
    customer.refresh_from_db()

    assert get_notification_channels(customer=customer, event=NotificationEvent.DELAYED) == {
        "email": True,
        "sms": False,
    }


@pytest.mark.django_db
def test_channels_of_an_unknown_event_is_a_programming_error():
    with pytest.raises(ValueError, match="birthday"):
        get_notification_channels(customer=CustomerFactory(), event="birthday")


# --- notes ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_note_records_its_author_and_an_empty_one_is_refused(staff_actor):
    customer = CustomerFactory()

    note = services.add_customer_note(
        customer=customer, body="Called about a late parcel.", actor=staff_actor
    )
    with pytest.raises(DomainError):
        services.add_customer_note(customer=customer, body="   ", actor=staff_actor)

    assert note.author_id == staff_actor.user_id
    assert list(CustomerNote.objects.values_list("body", flat=True)) == [
        "Called about a late parcel."
    ]
