"""API input and output shapes for orders. Output serializers only read; input
serializers only validate shape — the services decide everything else."""

import datetime as dt
from decimal import Decimal
from typing import Any

from django.utils import timezone
from rest_framework import serializers

from orders.models import Order, OrderHold, OrderLine


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


class CancelLineInput(serializers.Serializer):
    line_number = serializers.IntegerField(min_value=1)
    quantity = serializers.IntegerField(min_value=1)


class CancelInput(serializers.Serializer):
    reason = serializers.CharField(max_length=500)
    lines = CancelLineInput(many=True, required=False, allow_empty=False)


def _datetime(value: dt.datetime | None) -> str | None:
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
    return {"kind": hold.kind, "reason": hold.reason, "placed_at": _datetime(hold.placed_at)}


def shipping_address(order: Order) -> dict[str, Any]:
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


class OrderOutput(serializers.Serializer):
    """The order as an integrator sees it. Built from prefetched or in-memory rows.

    The fields below declare the shape (the OpenAPI schema is generated from them);
    ``to_representation`` writes it directly, since every order endpoint, the create
    response included, renders through here and DRF's per-field machinery costs more
    than the rest of a read."""

    number = serializers.CharField()
    status = serializers.CharField()
    fulfillment_status = serializers.CharField()
    return_status = serializers.CharField()
    channel = serializers.CharField()
    po_number = serializers.CharField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    shipping_method = serializers.SerializerMethodField()
    pickup_location = serializers.SerializerMethodField()
    shipping_address = serializers.SerializerMethodField()
    promised_delivery_date = serializers.DateField()
    totals = serializers.SerializerMethodField()
    lines = serializers.SerializerMethodField()
    holds = serializers.SerializerMethodField()
    shipments = serializers.SerializerMethodField()

    def to_representation(self, instance: Order) -> dict[str, Any]:
        order = instance
        promised = order.promised_delivery_date
        return {
            "number": order.number,
            "status": order.status,
            "fulfillment_status": order.fulfillment_status,
            "return_status": order.return_status,
            "channel": order.channel,
            "po_number": order.po_number,
            "created_at": _datetime(order.created_at),
            "updated_at": _datetime(order.updated_at),
            "shipping_method": self.get_shipping_method(order),
            "pickup_location": self.get_pickup_location(order),
            "shipping_address": shipping_address(order),
            "promised_delivery_date": promised.isoformat() if promised else None,
            "totals": totals(order),
            "lines": self.get_lines(order),
            "holds": self.get_holds(order),
            "shipments": self.get_shipments(order),
        }

    def get_shipping_method(self, order: Order) -> str:
        return order.shipping_method.code

    def get_pickup_location(self, order: Order) -> str | None:
        return order.pickup_location.code if order.pickup_location else None

    def get_shipping_address(self, order: Order) -> dict[str, Any]:
        return shipping_address(order)

    def get_totals(self, order: Order) -> dict[str, str]:
        return totals(order)

    def get_lines(self, order: Order) -> list[dict[str, Any]]:
        lines = self.context.get("lines", {}).get(order.pk)
        if lines is None:
            lines = list(order.lines.all())
        return [line_representation(line) for line in lines]

    def get_holds(self, order: Order) -> list[dict[str, Any]]:
        holds = self.context.get("holds", {}).get(order.pk)
        if holds is None:
            holds = [h for h in order.holds.all() if h.released_at is None]
        return [hold_representation(hold) for hold in holds]

    def get_shipments(self, order: Order) -> list[dict[str, Any]]:
        shipments = self.context.get("shipments", {}).get(order.pk)
        if shipments is None:
            shipments = list(order.shipments.all())
        if not shipments:
            return []
        from fulfillment.api.serializers import ShipmentOutput

        return ShipmentOutput(shipments, many=True).data  # type: ignore[return-value]
