import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from core.geo import coordinates_for_postal_code
from shipping.models import ShippingMethod
from shipping.promise import estimate_promise, location_zone, promise_for, ship_date

from .conftest import make_location

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


# --- cut-offs on the location's clock ----------------------------------------------------

DENVER = "America/Denver"


def denver(*args):
    return dt.datetime(*args, tzinfo=ZoneInfo(DENVER))


@pytest.mark.parametrize("server_zone", ["UTC", "America/New_York"])
@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (denver(2026, 11, 23, 13, 30), dt.date(2026, 11, 23)),  # before 14:00 there: today
        (denver(2026, 11, 23, 14, 30), dt.date(2026, 11, 24)),  # after: next working day
        (denver(2026, 11, 27, 14, 30), dt.date(2026, 11, 30)),  # Friday after: Monday
        (denver(2026, 11, 23, 23, 30), dt.date(2026, 11, 24)),  # Tuesday already in UTC
    ],
)
def test_the_cutoff_is_read_on_the_locations_clock(settings, server_zone, now, expected):
    settings.TIME_ZONE = server_zone

    with timezone.override(server_zone):
        assert ship_date(method(), now, time_zone=DENVER) == expected


def test_the_zone_a_request_activated_does_not_move_the_cutoff(settings):
    settings.TIME_ZONE = "UTC"
    monday_1330_in_denver = denver(2026, 11, 23, 13, 30)  # 20:30 UTC

    with timezone.override("Asia/Tokyo"):  # a viewer's zone, not the warehouse's
        assert ship_date(method(), monday_1330_in_denver) == dt.date(2026, 11, 24)
        assert ship_date(method(), monday_1330_in_denver, time_zone=DENVER) == dt.date(2026, 11, 23)


def test_an_unknown_zone_falls_back_to_the_servers(settings):
    settings.TIME_ZONE = "UTC"

    assert location_zone("Mars/Olympus_Mons") == ZoneInfo("UTC")
    assert location_zone("") == ZoneInfo("UTC")


@pytest.mark.django_db
def test_the_estimate_reads_the_cutoff_of_the_nearest_location(settings, network, method):
    settings.TIME_ZONE = "America/New_York"
    denver_dock = {"postal_code": "80216", "city": "Denver", "region": "CO"}
    make_location("DEN", denver_dock, time_zone=DENVER)
    destination = coordinates_for_postal_code("US", "80202")

    before = estimate_promise(method, now=denver(2026, 11, 23, 13, 30), destination=destination)
    after = estimate_promise(method, now=denver(2026, 11, 23, 14, 30), destination=destination)

    assert (before.origin_code, before.ship_by_date) == ("DEN", dt.date(2026, 11, 23))
    assert after.ship_by_date == dt.date(2026, 11, 24)
