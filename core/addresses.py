"""Postal addresses: the one validator every address goes through (saved addresses of
customers and companies, order snapshots, locations), so the rules are the same everywhere.

Plain dicts in and out: the callers own the models the address is stored on.
"""

from decimal import Decimal
from typing import Any

from core.countries import is_country_code
from core.errors import InvalidInput
from core.geo import (
    coordinates_for_postal_code,
    is_valid_us_zip,
    state_for_postal_code,
    us_state_code,
)
from core.phones import InvalidPhone, normalise_phone

ADDRESS_FIELDS = (
    "name",
    "line1",
    "line2",
    "city",
    "region",
    "postal_code",
    "country",
    "phone",
)


def clean_postal_address(data: dict[str, Any]) -> dict[str, Any]:
    """Validate and normalise an address dict; fill coordinates from a US ZIP code.

    Raises ``InvalidInput`` naming every bad field. Shared by saved addresses, order
    snapshots and locations, so the rules are the same everywhere.
    """
    cleaned: dict[str, Any] = {f: str(data.get(f) or "").strip() for f in ADDRESS_FIELDS}
    cleaned["country"] = cleaned["country"].upper()
    errors: dict[str, str] = {}
    for required in ("line1", "city", "country"):
        if not cleaned[required]:
            errors[required] = "This field is required."
    limits = (
        ("name", 200),
        ("line1", 200),
        ("line2", 200),
        ("city", 100),
        ("region", 100),
        ("postal_code", 20),
        ("phone", 32),
    )
    for field, limit in limits:
        if len(cleaned[field]) > limit:
            errors[field] = f"At most {limit} characters."
    if cleaned["country"] and not is_country_code(cleaned["country"]):
        errors["country"] = "Unknown country; use an ISO 3166-1 alpha-2 code such as US."
    if cleaned["country"] == "US":
        if not cleaned["postal_code"]:
            errors["postal_code"] = "A ZIP code is required for US addresses."
        elif not is_valid_us_zip(cleaned["postal_code"]):
            errors["postal_code"] = "Not a known US ZIP code."
        elif cleaned["region"] and "region" not in errors:
            _check_us_state(cleaned, errors)
    if (data.get("latitude") is None) != (data.get("longitude") is None):
        errors["latitude"] = "Give both latitude and longitude, or neither."
    _normalise_phone(cleaned, errors)
    if errors:
        raise InvalidInput("The address is not valid.", fields=errors)
    cleaned["latitude"], cleaned["longitude"] = _coordinates(data, cleaned)
    return cleaned


def _normalise_phone(cleaned: dict[str, Any], errors: dict[str, str]) -> None:
    """The phone in E.164 (text messages need it); a number without its country code is
    read in the address's country."""
    if not cleaned["phone"] or "phone" in errors:
        return
    region = cleaned["country"] if "country" not in errors else None
    try:
        cleaned["phone"] = normalise_phone(cleaned["phone"], region=region or None)
    except InvalidPhone as exc:
        errors["phone"] = str(exc)


def _check_us_state(cleaned: dict[str, Any], errors: dict[str, str]) -> None:
    """A US ZIP code belongs to one state: a state that is not the ZIP's is a typo in
    one of them, and would tax, route and promise the order for the wrong place. The
    state is stored as its two-letter code (``Nevada`` and ``nv`` become ``NV``)."""
    state = us_state_code(cleaned["region"])
    zip_state = state_for_postal_code("US", cleaned["postal_code"])
    if zip_state and state != zip_state:
        errors["postal_code"] = (
            f"ZIP code {cleaned['postal_code']} is in {zip_state}, not {cleaned['region']}; "
            "check the ZIP code and the state."
        )
        return
    cleaned["region"] = state


def _coordinates(
    data: dict[str, Any], cleaned: dict[str, Any]
) -> tuple[Decimal, Decimal] | tuple[None, None]:
    """Explicit coordinates win; otherwise a US ZIP code's centre; otherwise none."""
    latitude, longitude = data.get("latitude"), data.get("longitude")
    if latitude is None or longitude is None:
        found = coordinates_for_postal_code(cleaned["country"], cleaned["postal_code"])
        return found if found else (None, None)
    try:
        lat, lng = Decimal(str(latitude)), Decimal(str(longitude))
    except ArithmeticError as exc:
        raise InvalidInput(
            "The address is not valid.", fields={"latitude": "Not a number."}
        ) from exc
    if lat.is_nan() or lng.is_nan():  # NaN cannot even be compared with a range.
        raise InvalidInput("The address is not valid.", fields={"latitude": "Not a number."})
    if not (-90 <= lat <= 90 and -180 <= lng <= 180):
        raise InvalidInput(
            "The address is not valid.", fields={"latitude": "Coordinates out of range."}
        )
    micro = Decimal("0.000001")
    return lat.quantize(micro), lng.quantize(micro)
