"""Customer, company, address and notification-preference services."""

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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
from oms.core.errors import Conflict, DomainError, InvalidInput
from tests.factories import CompanyFactory, CustomerFactory

NYC = {"line1": "350 5th Ave", "city": "New York", "region": "NY", "postal_code": "10118"}
PARIS = {"line1": "5 Avenue Anatole France", "city": "Paris", "postal_code": "75007"}


def field_errors(refused: pytest.ExceptionInfo[InvalidInput]) -> set[str]:
    return set(refused.value.details["fields"])


# --- clean_postal_address ----------------------------------------------------------


def test_a_us_zip_code_is_geocoded_offline():
    cleaned = services.clean_postal_address({**NYC, "country": " us ", "line2": "  "})

    assert cleaned["country"] == "US"
    assert cleaned["line2"] == ""
    assert abs(cleaned["latitude"] - Decimal("40.75")) < 1
    assert abs(cleaned["longitude"] - Decimal("-73.99")) < 1


def test_a_zip_plus_four_is_geocoded_like_its_zip():
    plain = services.clean_postal_address({**NYC, "country": "US"})
    plus_four = services.clean_postal_address({**NYC, "country": "US", "postal_code": "10118-0110"})

    assert (plus_four["latitude"], plus_four["longitude"]) == (
        plain["latitude"],
        plain["longitude"],
    )


def test_outside_the_us_there_are_no_coordinates_unless_given():
    cleaned = services.clean_postal_address({**PARIS, "country": "FR"})

    assert (cleaned["latitude"], cleaned["longitude"]) == (None, None)


def test_explicit_coordinates_are_kept_over_the_zip_code():
    cleaned = services.clean_postal_address(
        {**NYC, "country": "US", "latitude": "48.8566137", "longitude": 2.3522}
    )

    assert cleaned["latitude"] == Decimal("48.856614")
    assert cleaned["longitude"] == Decimal("2.352200")


@pytest.mark.parametrize(
    ("address", "fields"),
    [
        ({}, {"line1", "city", "country"}),
        ({**PARIS, "line1": "  "}, {"line1", "country"}),
        ({**PARIS, "country": "XX"}, {"country"}),
        ({**PARIS, "country": "FRA"}, {"country"}),
        ({**NYC, "country": "US", "postal_code": "00000"}, {"postal_code"}),
        ({**NYC, "country": "US", "postal_code": "1011"}, {"postal_code"}),
        ({**NYC, "country": "US", "postal_code": ""}, {"postal_code"}),
        ({**NYC, "country": "US", "latitude": 40}, {"latitude"}),
        ({**PARIS, "country": "FR", "city": "", "longitude": 2}, {"city", "latitude"}),
        ({**PARIS, "country": "FR", "name": "N" * 201}, {"name"}),
        ({**PARIS, "country": "FR", "city": "C" * 101}, {"city"}),
        ({**PARIS, "country": "FR", "region": "R" * 101}, {"region"}),
        ({**PARIS, "country": "FR", "postal_code": "7" * 21}, {"postal_code"}),
        ({**PARIS, "country": "FR", "phone": "1" * 33}, {"phone"}),
    ],
)
def test_a_bad_address_is_refused_naming_every_bad_field(address, fields):
    with pytest.raises(InvalidInput) as refused:
        services.clean_postal_address(address)

    assert field_errors(refused) == fields


@pytest.mark.parametrize(
    ("latitude", "longitude"),
    [("abc", "2"), ("", ""), ("NaN", "2"), ("2", "sNaN"), ("91", "0"), ("0", "-180.5")],
)
def test_bad_coordinates_are_refused(latitude, longitude):
    with pytest.raises(InvalidInput) as refused:
        services.clean_postal_address(
            {**PARIS, "country": "FR", "latitude": latitude, "longitude": longitude}
        )

    assert field_errors(refused) == {"latitude"}


LONG = st.integers(min_value=15, max_value=260).map(lambda n: "x" * n)
TEXT = st.one_of(st.none(), st.text(max_size=30), LONG, st.integers())
COORDINATE = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12), st.integers()
)
# A valid address with some fields replaced by anything at all.
ANY_ADDRESS = st.builds(
    lambda base, junk, coordinates: {**base, **junk, **coordinates},
    st.sampled_from([{**NYC, "country": "US"}, {**PARIS, "country": "FR"}]),
    st.fixed_dictionaries(
        {},
        optional={
            "name": TEXT,
            "line1": TEXT,
            "line2": TEXT,
            "city": TEXT,
            "region": TEXT,
            "postal_code": st.one_of(TEXT, st.sampled_from(["10118", "94103-1234", "99999"])),
            "country": st.one_of(TEXT, st.sampled_from(["US", "fr", "DE", "us "])),
            "phone": TEXT,
        },
    ),
    st.one_of(
        st.just({}),
        st.fixed_dictionaries({"latitude": COORDINATE, "longitude": COORDINATE}),
        st.fixed_dictionaries({}, optional={"latitude": COORDINATE, "longitude": st.none()}),
    ),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(address=ANY_ADDRESS)
def test_any_input_is_either_cleaned_to_fit_the_columns_or_refused(address):
    """Whatever arrives (API, import, admin), the result fits the address columns, or the
    refusal is an ``InvalidInput`` naming fields: never another exception, never a 500."""
    refused: InvalidInput | None = None
    try:
        cleaned = services.clean_postal_address(address)
    except InvalidInput as exc:
        refused = exc
    if refused is not None:
        assert refused.details["fields"], "a refusal names the bad fields"
        return
    for field in ("name", "line1", "line2", "city", "region", "postal_code", "phone"):
        assert len(cleaned[field]) <= Address._meta.get_field(field).max_length
    assert cleaned["line1"]
    assert cleaned["city"]
    assert len(cleaned["country"]) == 2
    assert (cleaned["latitude"] is None) == (cleaned["longitude"] is None)
    if cleaned["latitude"] is not None:
        assert -90 <= cleaned["latitude"] <= 90
        assert -180 <= cleaned["longitude"] <= 180


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
        phone=" 555 ",
        company_role=CompanyRole.ADMIN,
    )
    buyer = services.create_customer(
        email="buyer@acme.test", first_name="Bo", last_name="Buys", company=company
    )

    assert (shopper.email, shopper.first_name, shopper.phone) == ("Pat@Example.com", "Pat", "555")
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
