"""Offline geography: US ZIP codes to coordinates, states and time zones, and
great-circle distances."""

import math
import re
from decimal import Decimal
from functools import lru_cache

import zipcodes

_US_ZIP = re.compile(r"^(\d{5})(?:-\d{4})?$")
EARTH_RADIUS_KM = 6371.0088


def coordinates_for_postal_code(country: str, postal_code: str) -> tuple[Decimal, Decimal] | None:
    """Coordinates of a US ZIP code's centre, or None when unknown or not in the US."""
    if country.upper() != "US":
        return None
    match = _US_ZIP.match(postal_code.strip())
    if not match:
        return None
    return _zip_coordinates(match.group(1))


@lru_cache(maxsize=50_000)
def _zip_record(zip5: str) -> dict[str, str] | None:
    # The package scans its whole data set on every call; ZIP codes do not move.
    try:
        found = zipcodes.matching(zip5)
    except (ValueError, TypeError):
        return None
    return found[0] if found else None


def _zip_coordinates(zip5: str) -> tuple[Decimal, Decimal] | None:
    record = _zip_record(zip5)
    if record is None:
        return None
    return Decimal(record["lat"]), Decimal(record["long"])


def _us_zip_record(country: str, postal_code: str) -> dict[str, str] | None:
    if country.upper() != "US":
        return None
    match = _US_ZIP.match(postal_code.strip())
    return _zip_record(match.group(1)) if match else None


def is_valid_us_zip(postal_code: str) -> bool:
    match = _US_ZIP.match(postal_code.strip())
    return match is not None and _zip_coordinates(match.group(1)) is not None


# Full names people type for a US state or territory, to their postal abbreviation.
US_STATE_CODES = {
    name.upper(): code
    for code, name in (
        ("AL", "Alabama"), ("AK", "Alaska"), ("AZ", "Arizona"), ("AR", "Arkansas"),
        ("CA", "California"), ("CO", "Colorado"), ("CT", "Connecticut"), ("DE", "Delaware"),
        ("DC", "District of Columbia"), ("FL", "Florida"), ("GA", "Georgia"), ("HI", "Hawaii"),
        ("ID", "Idaho"), ("IL", "Illinois"), ("IN", "Indiana"), ("IA", "Iowa"),
        ("KS", "Kansas"), ("KY", "Kentucky"), ("LA", "Louisiana"), ("ME", "Maine"),
        ("MD", "Maryland"), ("MA", "Massachusetts"), ("MI", "Michigan"), ("MN", "Minnesota"),
        ("MS", "Mississippi"), ("MO", "Missouri"), ("MT", "Montana"), ("NE", "Nebraska"),
        ("NV", "Nevada"), ("NH", "New Hampshire"), ("NJ", "New Jersey"), ("NM", "New Mexico"),
        ("NY", "New York"), ("NC", "North Carolina"), ("ND", "North Dakota"), ("OH", "Ohio"),
        ("OK", "Oklahoma"), ("OR", "Oregon"), ("PA", "Pennsylvania"), ("RI", "Rhode Island"),
        ("SC", "South Carolina"), ("SD", "South Dakota"), ("TN", "Tennessee"), ("TX", "Texas"),
        ("UT", "Utah"), ("VT", "Vermont"), ("VA", "Virginia"), ("WA", "Washington"),
        ("WV", "West Virginia"), ("WI", "Wisconsin"), ("WY", "Wyoming"),
        ("AS", "American Samoa"), ("GU", "Guam"), ("MP", "Northern Mariana Islands"),
        ("PR", "Puerto Rico"), ("VI", "U.S. Virgin Islands"), ("VI", "Virgin Islands"),
    )
}  # fmt: skip


def us_state_code(region: str) -> str:
    """``"nv"``, ``"NV"`` or ``"Nevada"`` -> ``"NV"``; anything else is returned as typed
    (upper-cased when it has two letters)."""
    value = region.strip()
    if len(value) == 2:
        return value.upper()
    return US_STATE_CODES.get(value.upper(), value)


def state_for_postal_code(country: str, postal_code: str) -> str:
    """The two-letter state (or territory, or military post) a US ZIP code belongs to;
    empty when unknown or not in the US."""
    record = _us_zip_record(country, postal_code)
    return str(record.get("state") or "") if record else ""


def time_zone_for_postal_code(country: str, postal_code: str) -> str:
    """The IANA time zone of a US ZIP code (e.g. ``America/Denver``); empty when
    unknown or not in the US."""
    record = _us_zip_record(country, postal_code)
    return str(record.get("timezone") or "") if record else ""


def distance_km(
    lat1: Decimal | float, lon1: Decimal | float, lat2: Decimal | float, lon2: Decimal | float
) -> float:
    """Haversine distance in kilometres."""
    p1, p2 = math.radians(float(lat1)), math.radians(float(lat2))
    dphi = p2 - p1
    dlmb = math.radians(float(lon2) - float(lon1))
    a = math.sin(dphi / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))
