"""Writes to carriers and shipping methods.

Every service checks its whole input before writing, so a refusal leaves nothing behind.
"""

import datetime as dt
import re
from decimal import Decimal

from django.db import transaction

from core.errors import Conflict, InvalidInput

from .models import Carrier, ServiceLevel, ShippingMethod

_CODE = re.compile(r"^[A-Z0-9][A-Z0-9_-]*$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
TRACKING_PLACEHOLDER = "{tracking_number}"
# A longer promise is not a service anyone sells; it is almost certainly a typo.
MAX_TRANSIT_DAYS = 60
# ShippingMethod.price is DECIMAL(10, 2).
MAX_PRICE = Decimal("99999999.99")


def _clean_code(code: str, *, max_length: int) -> str:
    code = (code or "").strip().upper()
    if not code:
        raise InvalidInput("A code is required.", fields={"code": "required"})
    if len(code) > max_length:
        raise InvalidInput(
            f"A code has at most {max_length} characters.", fields={"code": "too long"}
        )
    if not _CODE.match(code):
        raise InvalidInput(
            "A code may hold only letters, digits, '-' and '_'.", fields={"code": code}
        )
    return code


def _clean_name(name: str, *, max_length: int) -> str:
    name = (name or "").strip()
    if not name:
        raise InvalidInput("A name is required.", fields={"name": "required"})
    if len(name) > max_length:
        raise InvalidInput(
            f"A name has at most {max_length} characters.", fields={"name": "too long"}
        )
    return name


@transaction.atomic
def create_carrier(
    *,
    code: str,
    name: str,
    tracking_url_template: str = "",
    is_active: bool = True,
    offers_return_pickup: bool = False,
) -> Carrier:
    """Register a carrier; ``offers_return_pickup`` when it collects return parcels at
    the customer's address (its integration books them, ``fulfillment.carriers``).

    The code is stored upper-case and must be unique. A tracking URL template, when
    given, is an http(s) URL holding ``{tracking_number}`` where the number goes, so
    that every shipment of this carrier gets a working link.
    """
    code = _clean_code(code, max_length=32)
    name = _clean_name(name, max_length=100)
    template = (tracking_url_template or "").strip()
    if template:
        if len(template) > 300:
            raise InvalidInput(
                "A tracking URL template has at most 300 characters.",
                fields={"tracking_url_template": "too long"},
            )
        if not template.startswith(("https://", "http://")):
            raise InvalidInput(
                "A tracking URL template must be an http(s) URL.",
                fields={"tracking_url_template": template},
            )
        if TRACKING_PLACEHOLDER not in template:
            raise InvalidInput(
                f"A tracking URL template must contain {TRACKING_PLACEHOLDER}.",
                fields={"tracking_url_template": template},
            )
    if Carrier.objects.filter(code=code).exists():
        raise Conflict(f"Carrier code {code} is already taken.", code_taken=code)
    return Carrier.objects.create(
        code=code,
        name=name,
        tracking_url_template=template,
        is_active=is_active,
        offers_return_pickup=offers_return_pickup,
    )


def _clean_operating_days(operating_days: list[int]) -> list[int]:
    if not isinstance(operating_days, list | tuple) or not operating_days:
        raise InvalidInput(
            "Give the ISO weekdays (1 = Monday … 7 = Sunday) the method operates on.",
            fields={"operating_days": "required"},
        )
    for day in operating_days:
        if isinstance(day, bool) or not isinstance(day, int) or not 1 <= day <= 7:
            raise InvalidInput(
                "Operating days are ISO weekdays, whole numbers from 1 (Monday) to 7 (Sunday).",
                fields={"operating_days": operating_days},
            )
    if len(set(operating_days)) != len(operating_days):
        raise InvalidInput(
            "An operating day is listed twice.", fields={"operating_days": operating_days}
        )
    return sorted(operating_days)


def _check_transit_days(service_level: str, transit_min: int, transit_max: int) -> None:
    for field, value in (("transit_days_min", transit_min), ("transit_days_max", transit_max)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise InvalidInput(
                "Transit days are whole numbers, zero or more.", fields={field: value}
            )
        if value > MAX_TRANSIT_DAYS:
            raise InvalidInput(
                f"Transit days cannot exceed {MAX_TRANSIT_DAYS}.", fields={field: value}
            )
    if transit_min > transit_max:
        raise InvalidInput(
            "The minimum transit time exceeds the maximum.",
            fields={"transit_days_min": transit_min, "transit_days_max": transit_max},
        )
    # The service level is a promise to the buyer; transit times must not contradict it,
    # or delivery promise dates would be computed from a method that lies about itself.
    if service_level == ServiceLevel.SAME_DAY and transit_max != 0:
        raise InvalidInput(
            "A same-day method has zero transit days.", fields={"transit_days_max": transit_max}
        )
    if service_level == ServiceLevel.NEXT_DAY and transit_max > 1:
        raise InvalidInput(
            "A next-day method takes at most one transit day.",
            fields={"transit_days_max": transit_max},
        )


def _check_price(price: Decimal, currency: str) -> str:
    if not isinstance(price, Decimal) or not price.is_finite():
        raise InvalidInput("The price must be a decimal amount.", fields={"price": str(price)})
    if price < 0:
        raise InvalidInput("The price cannot be negative.", fields={"price": str(price)})
    if price > MAX_PRICE or price != price.quantize(Decimal("0.01")):
        raise InvalidInput(
            "The price must be in whole cents and below 100 million.",
            fields={"price": str(price)},
        )
    currency = (currency or "").strip().upper()
    if not _CURRENCY.match(currency):
        raise InvalidInput(
            "The currency is a three-letter ISO 4217 code such as USD.",
            fields={"currency": currency},
        )
    return currency


@transaction.atomic
def create_shipping_method(
    *,
    code: str,
    name: str,
    service_level: str,
    carrier: Carrier | None,
    transit_days_min: int,
    transit_days_max: int,
    cutoff_time: dt.time,
    operating_days: list[int],
    price: Decimal,
    currency: str = "USD",
    is_active: bool = True,
) -> ShippingMethod:
    """Offer a shipping method at checkout.

    Preconditions: a unique code; a known service level; an active carrier for every
    level but store pickup, and none for pickup (the store hands the goods over);
    transit days consistent with the level (same-day 0, next-day at most 1); a weekend
    method operates on Saturday or Sunday; a non-negative price in cents.
    Operating days are stored sorted.
    """
    code = _clean_code(code, max_length=32)
    name = _clean_name(name, max_length=100)
    if service_level not in ServiceLevel.values:
        raise InvalidInput(
            f"Unknown service level {service_level!r}.", fields={"service_level": service_level}
        )
    if service_level == ServiceLevel.PICKUP:
        if carrier is not None:
            raise InvalidInput(
                "A store pickup method has no carrier.", fields={"carrier": carrier.code}
            )
    elif carrier is None:
        raise InvalidInput(
            "Every method but store pickup needs a carrier.", fields={"carrier": "required"}
        )
    elif carrier.pk is None:
        raise InvalidInput("The carrier is not saved yet.", fields={"carrier": carrier.code})
    elif not carrier.is_active:
        raise InvalidInput(
            f"Carrier {carrier.code} is not active.", fields={"carrier": carrier.code}
        )
    _check_transit_days(service_level, transit_days_min, transit_days_max)
    if not isinstance(cutoff_time, dt.time):
        raise InvalidInput(
            "The cut-off is a time of day.", fields={"cutoff_time": str(cutoff_time)}
        )
    days = _clean_operating_days(operating_days)
    if service_level == ServiceLevel.WEEKEND and not {6, 7} & set(days):
        raise InvalidInput(
            "A weekend method must operate on Saturday or Sunday.",
            fields={"operating_days": days},
        )
    currency = _check_price(price, currency)
    if ShippingMethod.objects.filter(code=code).exists():
        raise Conflict(f"Shipping method code {code} is already taken.", code_taken=code)
    return ShippingMethod.objects.create(
        code=code,
        name=name,
        service_level=service_level,
        carrier=carrier,
        transit_days_min=transit_days_min,
        transit_days_max=transit_days_max,
        cutoff_time=cutoff_time,
        operating_days=days,
        price=price,
        currency=currency,
        is_active=is_active,
    )
