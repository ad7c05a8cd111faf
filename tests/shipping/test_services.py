"""Carriers and shipping methods: what is accepted, and that a refusal writes nothing."""

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from core.errors import Conflict, InvalidInput
from shipping.models import Carrier, ServiceLevel, ShippingMethod
from shipping.services import create_carrier, create_shipping_method
from tests.factories import CarrierFactory

pytestmark = pytest.mark.django_db


def method_input(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "code": "express",
        "name": "Express (2–3 days)",
        "service_level": ServiceLevel.EXPRESS,
        "carrier": CarrierFactory(),
        "transit_days_min": 2,
        "transit_days_max": 3,
        "cutoff_time": dt.time(15, 0),
        "operating_days": [5, 1, 3, 2, 4],
        "price": Decimal("14.99"),
    }
    values.update(overrides)
    return values


# --- carriers ---------------------------------------------------------------------------


def test_create_carrier_normalises_the_code_and_keeps_the_template():
    carrier = create_carrier(
        code=" parcel-x ",
        name=" Parcel X ",
        tracking_url_template="https://track.example.com/{tracking_number}",
    )

    carrier.refresh_from_db()
    assert (carrier.code, carrier.name, carrier.is_active) == ("PARCEL-X", "Parcel X", True)
    assert carrier.tracking_url("1Z9") == "https://track.example.com/1Z9"


@pytest.mark.parametrize(
    ("code", "name", "template"),
    [
        ("", "Name", ""),
        ("HAS SPACE", "Name", ""),
        ("X" * 33, "Name", ""),
        ("OK", "  ", ""),
        ("OK", "N" * 101, ""),
        ("OK", "Name", "https://track.example.com/"),
        ("OK", "Name", "ftp://track.example.com/{tracking_number}"),
        ("OK", "Name", "https://example.com/" + "x" * 300 + "{tracking_number}"),
    ],
)
def test_create_carrier_refuses_bad_input_and_writes_nothing(code, name, template):
    with pytest.raises(InvalidInput):
        create_carrier(code=code, name=name, tracking_url_template=template)

    assert not Carrier.objects.exists()


def test_create_carrier_refuses_a_taken_code_whatever_its_case():
    create_carrier(code="SIM", name="Simulated")

    with pytest.raises(Conflict):
        create_carrier(code="sim", name="Another")

    assert Carrier.objects.get().name == "Simulated"


# --- shipping methods -----------------------------------------------------------------


def test_create_shipping_method_stores_a_valid_method():
    method = create_shipping_method(**method_input())

    method.refresh_from_db()
    assert method.code == "EXPRESS"
    assert method.operating_days == [1, 2, 3, 4, 5]
    assert (method.transit_days_min, method.transit_days_max) == (2, 3)
    assert method.price == Decimal("14.99")
    assert method.currency == "USD"
    assert method.carrier is not None


def test_store_pickup_needs_no_carrier():
    method = create_shipping_method(
        **method_input(
            code="PICKUP",
            service_level=ServiceLevel.PICKUP,
            carrier=None,
            transit_days_min=0,
            transit_days_max=0,
            operating_days=[1, 2, 3, 4, 5, 6, 7],
            price=Decimal("0"),
        )
    )

    assert method.is_pickup
    assert method.carrier is None


def test_weekend_and_same_day_methods_within_their_rules_are_accepted():
    create_shipping_method(
        **method_input(
            code="WEEKEND",
            service_level=ServiceLevel.WEEKEND,
            transit_days_min=1,
            transit_days_max=2,
            operating_days=[5, 6, 7],
        )
    )
    create_shipping_method(
        **method_input(
            code="SAME_DAY",
            service_level=ServiceLevel.SAME_DAY,
            transit_days_min=0,
            transit_days_max=0,
        )
    )

    assert ShippingMethod.objects.count() == 2


@pytest.mark.parametrize(
    "overrides",
    [
        {"code": ""},
        {"code": "NO SPACES"},
        {"name": ""},
        {"service_level": "teleport"},
        {"service_level": ServiceLevel.PICKUP},  # pickup with a carrier
        {"carrier": None},  # a parcel service without a carrier
        {"transit_days_min": 4, "transit_days_max": 3},
        {"transit_days_min": -1},
        {"transit_days_max": 61},
        {"transit_days_min": True},
        {"service_level": ServiceLevel.SAME_DAY, "transit_days_min": 0, "transit_days_max": 1},
        {"service_level": ServiceLevel.NEXT_DAY, "transit_days_min": 1, "transit_days_max": 2},
        {"service_level": ServiceLevel.WEEKEND, "operating_days": [1, 2, 3, 4, 5]},
        {"operating_days": []},
        {"operating_days": [0, 1]},
        {"operating_days": [1, 8]},
        {"operating_days": [1, 1, 2]},
        {"operating_days": ["1"]},
        {"cutoff_time": "14:00"},
        {"price": Decimal("-0.01")},
        {"price": Decimal("9.999")},
        {"price": Decimal("NaN")},
        {"price": 9.99},
        {"price": Decimal("100000000.00")},
        {"currency": "US"},
        {"currency": "U5D"},
    ],
)
def test_create_shipping_method_refuses_bad_input_and_writes_nothing(overrides):
    values = method_input(**overrides)

    with pytest.raises(InvalidInput):
        create_shipping_method(**values)

    assert not ShippingMethod.objects.exists()


def test_an_inactive_or_unsaved_carrier_is_refused():
    inactive = CarrierFactory(code="OLD", is_active=False)
    unsaved = Carrier(code="NEW", name="Not saved")

    for carrier in (inactive, unsaved):
        with pytest.raises(InvalidInput):
            create_shipping_method(**method_input(carrier=carrier))

    assert not ShippingMethod.objects.exists()


def test_create_shipping_method_refuses_a_taken_code():
    first = create_shipping_method(**method_input())

    with pytest.raises(Conflict):
        create_shipping_method(**method_input(code="Express", name="Another", price=Decimal("1")))

    assert list(ShippingMethod.objects.all()) == [first]
    assert ShippingMethod.objects.get().price == Decimal("14.99")
