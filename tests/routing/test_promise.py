import datetime as dt

import pytest
from django.utils import timezone

from fulfillment.models import ShippingMethod
from fulfillment.promise import promise_for, ship_date

UTC = dt.UTC


def method(**kwargs):
    defaults = {
        "code": "STD",
        "service_level": "standard",
        "transit_days_min": 5,
        "transit_days_max": 7,
        "cutoff_time": dt.time(14, 0),
        "operating_days": [1, 2, 3, 4, 5],
    }
    return ShippingMethod(**{**defaults, **kwargs})


def at(*args):
    return dt.datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (at(2026, 11, 23, 9, 0), dt.date(2026, 11, 23)),  # Monday morning: today
        (at(2026, 11, 23, 15, 0), dt.date(2026, 11, 24)),  # after cut-off: tomorrow
        (at(2026, 11, 27, 15, 0), dt.date(2026, 11, 30)),  # Friday late: Monday
        (at(2026, 11, 28, 9, 0), dt.date(2026, 11, 30)),  # Saturday: Monday
    ],
)
def test_ship_date_respects_cutoff_and_days_off(settings, now, expected):
    settings.TIME_ZONE = "UTC"
    with timezone.override("UTC"):
        assert ship_date(method(), now) == expected


def test_transit_grows_with_distance_and_skips_days_off(settings):
    settings.TIME_ZONE = "UTC"
    monday = at(2026, 11, 23, 9, 0)
    new_york, newark, los_angeles = (40.75, -73.99), (40.73, -74.17), (34.05, -118.24)

    with timezone.override("UTC"):
        near = promise_for(method(), now=monday, origin=newark, destination=new_york)
        far = promise_for(method(), now=monday, origin=los_angeles, destination=new_york)
        unknown = promise_for(method(), now=monday)

    assert near.transit_days == 5
    assert near.delivery_date == dt.date(2026, 11, 30)  # 5 working days after Monday
    assert far.transit_days == 7
    assert far.delivery_date == dt.date(2026, 12, 2)
    assert unknown.transit_days == 7


def test_weekend_delivery_and_same_day(settings):
    settings.TIME_ZONE = "UTC"
    friday = at(2026, 11, 27, 10, 0)
    weekend = method(transit_days_min=1, transit_days_max=1, operating_days=[1, 2, 3, 4, 5, 6, 7])
    same_day = method(transit_days_min=0, transit_days_max=0, cutoff_time=dt.time(12, 0))

    with timezone.override("UTC"):
        assert promise_for(weekend, now=friday).delivery_date == dt.date(2026, 11, 28)
        assert promise_for(same_day, now=friday).delivery_date == dt.date(2026, 11, 27)
