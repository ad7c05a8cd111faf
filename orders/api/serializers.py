"""API input and output shapes for orders. Output serializers only read; input
serializers only validate shape — the services decide everything else.

The order resource itself (``OrderOutput``, with its shipments) is rendered by
``fulfillment.api.serializers`` from the pieces here."""

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.utils import timezone
from rest_framework import serializers

from core.api.parsers import check_json_value
from orders.models import Order, OrderHold, OrderLine, PaymentMethod


class AddressInput(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    line1 = serializers.CharField(max_length=200)
    line2 = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    city = serializers.CharField(max_length=100)
    region = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    postal_code = serializers.CharField(max_length=20, required=False, allow_blank=True, default="")
    country = serializers.CharField(min_length=2, max_length=2)
    phone = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")


class ShopperInput(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    first_name = serializers.CharField(max_length=100)
    last_name = serializers.CharField(max_length=100)
    phone = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")


class LineInput(serializers.Serializer):
    sku = serializers.CharField(max_length=64)
    quantity = serializers.IntegerField(min_value=1, max_value=10_000)
    customization = serializers.DictField(
        child=serializers.CharField(max_length=200), required=False, default=dict
    )

    def validate_customization(self, value: dict[str, str]) -> dict[str, str]:
        # The values are CharFields, which refuse NUL; the names are not checked by
        # DictField, and PostgreSQL cannot store NUL in a jsonb key.
        if any("\x00" in name for name in value):
            raise serializers.ValidationError("A customization name may not contain NUL.")
        return value


class PaymentInput(serializers.Serializer):
    """How the order is paid: ``{"method": "card", "token": "tok_..."}`` (the OMS
    authorises the total), ``{"method": "card", "authorisation": "pi_..."}`` (the
    storefront authorised it), or ``{"method": "invoice"}`` (a company on terms)."""

    method = serializers.ChoiceField(choices=PaymentMethod.choices)
    token = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")
    authorisation = serializers.CharField(
        max_length=255, required=False, allow_blank=True, default=""
    )


class OrderInput(serializers.Serializer):
    customer = ShopperInput(
        required=False, help_text="Storefront keys only: the shopper the order is for."
    )
    po_number = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    shipping_address = AddressInput(required=False)
    billing_address = AddressInput(required=False)
    shipping_method = serializers.CharField(max_length=32)
    pickup_location = serializers.CharField(
        max_length=32, required=False, allow_blank=True, default=""
    )
    lines = LineInput(many=True, allow_empty=False, max_length=200)  # type: ignore[call-arg]
    notes = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    payment = PaymentInput(
        required=False, help_text="Without it: the buyer's default method, nothing authorised."
    )


# --- reading an order body --------------------------------------------------------
#
# Every order POST is validated. DRF builds and deep-copies a field tree per request,
# which costs more than pricing the order, so ``read_order_input`` first tries a plain
# reading that accepts only the ordinary shapes (text as str, quantities as int) and
# gives exactly what ``OrderInput`` would; anything else, valid or not, goes through
# ``OrderInput`` itself, so error messages and coercions stay DRF's.

_SURROGATES = re.compile(r"[\ud800-\udfff]")
_PLAIN = object()  # "not an ordinary shape": let OrderInput decide


@dataclass(frozen=True)
class _TextRule:
    """What a CharField of the input serializers accepts, read off the field itself so
    that the plain reading follows the serializers' limits."""

    name: str
    required: bool  # must be present
    allow_blank: bool
    min_length: int
    max_length: int

    @classmethod
    def of(cls, name: str, field: Any) -> "_TextRule":
        return cls(
            name=name,
            required=field.required,
            allow_blank=field.allow_blank,
            min_length=field.min_length or 0,
            max_length=field.max_length,
        )


def _text_rules(serializer: serializers.Serializer) -> tuple[_TextRule, ...]:
    return tuple(
        _TextRule.of(name, field)
        for name, field in serializer.fields.items()
        if type(field) is serializers.CharField
    )


_ADDRESS_RULES = _text_rules(AddressInput())
_ORDER_RULES = _text_rules(OrderInput())
_LINE_FIELDS: Any = LineInput().fields
_SKU_RULE = _TextRule.of("sku", _LINE_FIELDS["sku"])
_QUANTITY_RANGE = (_LINE_FIELDS["quantity"].min_value, _LINE_FIELDS["quantity"].max_value)
_CUSTOMIZATION_RULE = _TextRule.of("customization", _LINE_FIELDS["customization"].child)
_MAX_LINES: int = OrderInput().fields["lines"].max_length  # type: ignore[attr-defined]


def _text(value: Any, rule: _TextRule) -> Any:
    """A CharField's value (trimmed), or _PLAIN when the input is not a plain string
    that the field would accept unchanged in meaning."""
    if not isinstance(value, str) or "\x00" in value:
        return _PLAIN
    if not value.isascii() and _SURROGATES.search(value):
        return _PLAIN
    value = value.strip()
    if not value and not rule.allow_blank:
        return _PLAIN
    if value and not rule.min_length <= len(value) <= rule.max_length:
        return _PLAIN
    return value


def _fields(data: dict[str, Any], rules: tuple[_TextRule, ...]) -> dict[str, Any] | None:
    cleaned: dict[str, Any] = {}
    for rule in rules:
        if rule.name not in data:
            if rule.required:
                return None
            cleaned[rule.name] = ""
            continue
        value = _text(data[rule.name], rule)
        if value is _PLAIN:
            return None
        cleaned[rule.name] = value
    return cleaned


def _line(data: Any) -> Any:
    if not isinstance(data, dict) or "sku" not in data or "quantity" not in data:
        return _PLAIN
    sku = _text(data["sku"], _SKU_RULE)
    quantity = data["quantity"]
    low, high = _QUANTITY_RANGE
    if sku is _PLAIN or type(quantity) is not int or not low <= quantity <= high:
        return _PLAIN
    customization: dict[str, str] = {}
    if "customization" in data:
        given = data["customization"]
        if not isinstance(given, dict):
            return _PLAIN
        for key, value in given.items():
            text = _text(value, _CUSTOMIZATION_RULE)
            if not isinstance(key, str) or "\x00" in key or text is _PLAIN:
                return _PLAIN
            customization[key] = text
    return {"sku": sku, "quantity": quantity, "customization": customization}


def plain_order_input(data: Any) -> dict[str, Any] | None:
    """What ``OrderInput`` would validate ``data`` into, when ``data`` has only the
    ordinary shapes; None otherwise (including every invalid body)."""
    if not isinstance(data, dict) or "customer" in data or "payment" in data:
        # A payment instruction is checked by OrderInput, as a shopper is.
        return None
    cleaned = _fields(data, _ORDER_RULES)
    if cleaned is None:
        return None
    for name in ("shipping_address", "billing_address"):
        if name in data:
            address = _fields(data[name], _ADDRESS_RULES) if isinstance(data[name], dict) else None
            if address is None:
                return None
            cleaned[name] = address
    given = data.get("lines")
    if not isinstance(given, list) or not 1 <= len(given) <= _MAX_LINES:
        return None
    lines = [_line(line) for line in given]
    if any(line is _PLAIN for line in lines):
        return None
    cleaned["lines"] = lines
    return cleaned


def read_order_input(data: Any) -> dict[str, Any]:
    """The validated order body; raises DRF's ``ValidationError`` when it is invalid,
    ``ParseError`` when it nests deeper than the API accepts."""
    plain = plain_order_input(data)
    if plain is not None:
        return plain
    # Not an ordinary shape: before DRF's fields walk it, refuse a body nested deeper
    # than the API's JSON parser accepts, whoever parsed ``data`` (the plain reading
    # above accepts only shallow shapes). NUL in text is the fields' to refuse.
    check_json_value(data, refuse_nul=False)
    serializer = OrderInput(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class CancelLineInput(serializers.Serializer):
    line_number = serializers.IntegerField(min_value=1)
    quantity = serializers.IntegerField(min_value=1)


class CancelInput(serializers.Serializer):
    reason = serializers.CharField(max_length=500)
    lines = CancelLineInput(many=True, required=False, allow_empty=False)


class ChangeAddressInput(serializers.Serializer):
    shipping_address = AddressInput()


class ChangeShippingMethodInput(serializers.Serializer):
    shipping_method = serializers.CharField(max_length=32)


def iso_datetime(value: dt.datetime | None) -> str | None:
    """As DRF's ``DateTimeField`` writes it: ISO 8601 in the current time zone, UTC as Z."""
    if value is None:
        return None
    text = timezone.localtime(value).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _cents(value: Decimal) -> str:
    return f"{value:.2f}"


def line_representation(line: OrderLine) -> dict[str, Any]:
    """One order line as ``LineOutput`` declares it."""
    return {
        "line_number": line.line_number,
        "sku": line.sku,
        "description": line.description,
        "quantity": line.quantity_ordered,
        "unit_price": _cents(line.unit_price),
        "line_total": _cents(line.line_total),
        "tax_total": _cents(line.tax_total),
        "customization": line.customization,
        "quantity_allocated": line.quantity_allocated,
        "quantity_backordered": line.quantity_backordered,
        "quantity_shipped": line.quantity_shipped,
        "quantity_delivered": line.quantity_delivered,
        "quantity_cancelled": line.quantity_cancelled,
        "quantity_return_requested": line.quantity_return_requested,
        "quantity_returned": line.quantity_returned,
    }


def hold_representation(hold: OrderHold) -> dict[str, Any]:
    return {"kind": hold.kind, "reason": hold.reason, "placed_at": iso_datetime(hold.placed_at)}


def shipping_address(order: Order) -> dict[str, str]:
    return {
        "name": order.ship_name,
        "line1": order.ship_line1,
        "line2": order.ship_line2,
        "city": order.ship_city,
        "region": order.ship_region,
        "postal_code": order.ship_postal_code,
        "country": order.ship_country,
        "phone": order.ship_phone,
    }


def totals(order: Order) -> dict[str, str]:
    # Two decimals always: an unsaved order's defaults (Decimal("0")) must read the
    # same as the saved row, or a create response and a read would differ.
    return {
        "currency": order.currency,
        "subtotal": _cents(order.subtotal),
        "shipping": _cents(order.shipping_total),
        "discount": _cents(order.discount_total),
        "tax": _cents(order.tax_total),
        "grand_total": _cents(order.grand_total),
    }


class LineOutput(serializers.ModelSerializer):
    quantity = serializers.IntegerField(source="quantity_ordered")

    class Meta:
        model = OrderLine
        fields = [
            "line_number",
            "sku",
            "description",
            "quantity",
            "unit_price",
            "line_total",
            "tax_total",
            "customization",
            "quantity_allocated",
            "quantity_backordered",
            "quantity_shipped",
            "quantity_delivered",
            "quantity_cancelled",
            "quantity_return_requested",
            "quantity_returned",
        ]


class HoldOutput(serializers.ModelSerializer):
    class Meta:
        model = OrderHold
        fields = ["kind", "reason", "placed_at"]


class AddressOutput(serializers.Serializer):
    name = serializers.CharField()
    line1 = serializers.CharField()
    line2 = serializers.CharField()
    city = serializers.CharField()
    region = serializers.CharField()
    postal_code = serializers.CharField()
    country = serializers.CharField()
    phone = serializers.CharField()


class TotalsOutput(serializers.Serializer):
    """Amounts as strings of two decimals, in ``currency``."""

    currency = serializers.CharField()
    subtotal = serializers.DecimalField(max_digits=12, decimal_places=2)
    shipping = serializers.DecimalField(max_digits=12, decimal_places=2)
    discount = serializers.DecimalField(max_digits=12, decimal_places=2)
    tax = serializers.DecimalField(max_digits=12, decimal_places=2)
    grand_total = serializers.DecimalField(max_digits=12, decimal_places=2)
