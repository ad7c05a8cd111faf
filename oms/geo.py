"""Offline geography: US ZIP codes to coordinates, and great-circle distances."""

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
def _zip_coordinates(zip5: str) -> tuple[Decimal, Decimal] | None:
    # The package scans its whole data set on every call; ZIP codes do not move.
    try:
        found = zipcodes.matching(zip5)
    except (ValueError, TypeError):
        return None
    if not found:
        return None
    return Decimal(found[0]["lat"]), Decimal(found[0]["long"])


def is_valid_us_zip(postal_code: str) -> bool:
    match = _US_ZIP.match(postal_code.strip())
    return match is not None and _zip_coordinates(match.group(1)) is not None


def distance_km(
    lat1: Decimal | float, lon1: Decimal | float, lat2: Decimal | float, lon2: Decimal | float
) -> float:
    """Haversine distance in kilometres."""
    p1, p2 = math.radians(float(lat1)), math.radians(float(lat2))
    dphi = p2 - p1
    dlmb = math.radians(float(lon2) - float(lon1))
    a = math.sin(dphi / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))
