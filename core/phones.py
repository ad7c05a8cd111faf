"""Phone numbers: validated and stored in E.164 (``+14155550100``), with ``phonenumbers``.

A number typed without its country code is read in ``OMS_DEFAULT_PHONE_REGION`` (a
two-letter region code, "US" by default); one with ``+`` or ``00`` in any region.
"""

from __future__ import annotations

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError


class InvalidPhone(ValueError):
    """A phone number that is not a valid number."""


def normalise_phone(raw: str, *, region: str | None = None) -> str:
    """``raw`` in E.164, or "" for a blank input. Raises ``InvalidPhone`` with a message a
    person reads when it is not a valid number."""
    text = (raw or "").strip()
    if not text:
        return ""
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, region or settings.OMS_DEFAULT_PHONE_REGION)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhone(f"“{raw}” is not a phone number.") from exc
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone(
            f"“{raw}” is not a valid phone number; give it with its country code, "
            "e.g. +1 415 555 0100."
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def validate_phone(value: str) -> None:
    """A model/form field validator: the value must be a valid number."""
    try:
        normalise_phone(value)
    except InvalidPhone as exc:
        raise ValidationError(str(exc), code="invalid_phone") from exc
