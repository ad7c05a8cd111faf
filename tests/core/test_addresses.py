"""The address check every postal address goes through (saved addresses, order snapshots,
locations): normalised, geocoded offline from a US ZIP code, or refused naming each bad
field. No database."""

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.addresses import clean_postal_address
from core.errors import InvalidInput
from customers.models import Address

NYC = {"line1": "350 5th Ave", "city": "New York", "region": "NY", "postal_code": "10118"}
PARIS = {"line1": "5 Avenue Anatole France", "city": "Paris", "postal_code": "75007"}


def field_errors(refused: pytest.ExceptionInfo[InvalidInput]) -> set[str]:
    return set(refused.value.details["fields"])


def test_a_us_zip_code_is_geocoded_offline():
    cleaned = clean_postal_address({**NYC, "country": " us ", "line2": "  "})

    assert cleaned["country"] == "US"
    assert cleaned["line2"] == ""
    assert abs(cleaned["latitude"] - Decimal("40.75")) < 1
    assert abs(cleaned["longitude"] - Decimal("-73.99")) < 1


def test_a_zip_plus_four_is_geocoded_like_its_zip():
    plain = clean_postal_address({**NYC, "country": "US"})
    plus_four = clean_postal_address({**NYC, "country": "US", "postal_code": "10118-0110"})

    assert (plus_four["latitude"], plus_four["longitude"]) == (
        plain["latitude"],
        plain["longitude"],
    )


def test_outside_the_us_there_are_no_coordinates_unless_given():
    cleaned = clean_postal_address({**PARIS, "country": "FR"})

    assert (cleaned["latitude"], cleaned["longitude"]) == (None, None)


def test_explicit_coordinates_are_kept_over_the_zip_code():
    cleaned = clean_postal_address(
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
        clean_postal_address(address)

    assert field_errors(refused) == fields


@pytest.mark.parametrize(
    ("latitude", "longitude"),
    [("abc", "2"), ("", ""), ("NaN", "2"), ("2", "sNaN"), ("91", "0"), ("0", "-180.5")],
)
def test_bad_coordinates_are_refused(latitude, longitude):
    with pytest.raises(InvalidInput) as refused:
        clean_postal_address(
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
        cleaned = clean_postal_address(address)
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
