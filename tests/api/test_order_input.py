"""``read_order_input`` reads ordinary order bodies without DRF's field machinery; for
any body at all it must agree with ``OrderInput``: the same validated data, or DRF's
own errors."""

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st
from rest_framework.exceptions import ValidationError

from orders.api.serializers import OrderInput, plain_order_input, read_order_input

ADDRESS = {
    "name": "Pat Buyer",
    "line1": "350 Fifth Avenue",
    "city": "New York",
    "region": "NY",
    "postal_code": "10118",
    "country": "US",
    "phone": "+1 212 555 0100",
}

# Values that probe every rule: whitespace, blanks, lengths at and over the limits,
# NUL and lone surrogates, wrong types, numbers as strings, bools, None.
texts = st.one_of(
    st.sampled_from(
        ["", " ", "  x  ", "US", "us", "USA", "U", "A" * 32, "A" * 33, "A" * 64, "A" * 65,
         "x\x00y", "\ud800", "ünïcödé", "PO 1", "STANDARD", "\t\n"]
    ),
    st.text(max_size=40),
    st.integers(-3, 3),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.none(),
)  # fmt: skip
quantities = st.one_of(
    st.integers(1, 10),
    st.integers(-2, 10_002),
    st.sampled_from([10_000, 10_001, "3", "x", 2.0, 2.5, True, None]),
)


def maybe(strategy):
    """A key that is usually present, sometimes absent."""
    return st.one_of(strategy.map(lambda v: (v,)), strategy.map(lambda v: (v,)), st.just(None))


@st.composite
def bodies(draw):
    """Half the bodies are well formed (values padded with whitespace or not, optional
    keys present or not, extra keys); the other half may have anything anywhere."""
    tidy = draw(st.booleans())

    def value(good):
        if tidy:
            return draw(st.sampled_from([good, f" {good}  "]))
        return draw(st.one_of(st.just(good), st.just(f" {good}  "), texts))

    def keys(specs, required=()):
        found = {}
        for name, make in specs:
            if (name in required and tidy) or draw(maybe(st.just(True))):
                found[name] = make()
        if draw(st.booleans()):
            found["extra"] = "ignored"
        return found

    def address():
        made = keys(
            [(name, lambda good=good: value(good)) for name, good in ADDRESS.items()],
            required=("name", "line1", "city", "country"),
        )
        return made if tidy else draw(st.one_of(st.just(made), texts))

    def line():
        return keys(
            [
                ("sku", lambda: value("SKU-1")),
                ("quantity", lambda: draw(st.integers(1, 10_000) if tidy else quantities)),
                (
                    "customization",
                    lambda: {
                        k: value("Hi") for k in draw(st.sets(st.sampled_from(["a", "b", "c\x00"])))
                    },
                ),
            ],
            required=("sku", "quantity"),
        )

    body = keys(
        [
            ("po_number", lambda: value("PO-1")),
            ("shipping_method", lambda: value("STANDARD")),
            ("pickup_location", lambda: value("ST-NYC")),
            ("notes", lambda: value("Leave at the door")),
            ("shipping_address", address),
            ("billing_address", address),
            ("lines", lambda: [line() for _ in range(draw(st.integers(1, 3)))]),
        ],
        required=("shipping_method", "lines"),
    )
    return body if tidy else draw(st.one_of(st.just(body), texts))


def drf(body):
    serializer = OrderInput(data=body)
    return serializer.validated_data if serializer.is_valid() else serializer.errors


@settings(max_examples=600, deadline=None)
@given(bodies())
def test_the_plain_reading_agrees_with_order_input(body):
    plain = plain_order_input(body)
    event("plain reading" if plain is not None else "through OrderInput")
    if plain is not None:
        assert plain == drf(body)
    try:
        outcome = read_order_input(body)
    except ValidationError as exc:
        outcome = exc.detail
    assert outcome == drf(body)


def test_ordinary_bodies_take_the_plain_reading():
    body = {
        "po_number": " PO-7 ",
        "shipping_address": ADDRESS,
        "shipping_method": "STANDARD",
        "lines": [
            {"sku": "SKU-1", "quantity": 2},
            {"sku": "SKU-2", "quantity": 1, "customization": {"engraving": " Hi "}},
        ],
    }

    plain = plain_order_input(body)

    assert plain is not None
    assert plain == drf(body)
    assert plain["po_number"] == "PO-7"
    assert plain["lines"][1]["customization"] == {"engraving": "Hi"}


@pytest.mark.parametrize(
    "body",
    [
        {"shipping_method": "STANDARD", "lines": []},
        {"shipping_method": "STANDARD", "lines": [{"sku": "A", "quantity": 0}]},
        {"shipping_method": "STANDARD", "lines": [{"sku": "A", "quantity": "2"}]},
        {"shipping_method": "", "lines": [{"sku": "A", "quantity": 1}]},
        {"shipping_method": "S", "lines": [{"sku": "A", "quantity": 1}], "customer": {}},
    ],
)
def test_unusual_or_invalid_bodies_go_to_drf(body):
    assert plain_order_input(body) is None
