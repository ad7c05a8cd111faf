"""API output and input shapes of fulfillment, and the order resource: an order as an
integrator reads it, with its shipments."""

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from fulfillment.models import FulfillmentOrder, Shipment, ShipmentStatus
from orders.api.serializers import (
    AddressOutput,
    HoldOutput,
    LineOutput,
    TotalsOutput,
    hold_representation,
    iso_datetime,
    line_representation,
    shipping_address,
    totals,
)
from orders.models import Order


class TrackingEventOutput(serializers.Serializer):
    status = serializers.CharField()
    description = serializers.CharField()
    location = serializers.CharField()
    occurred_at = serializers.DateTimeField()


class ShipmentLineOutput(serializers.Serializer):
    sku = serializers.CharField()
    quantity = serializers.IntegerField()


class ShipmentOutput(serializers.Serializer):
    carrier = serializers.SerializerMethodField()
    service_level = serializers.CharField()
    tracking_number = serializers.CharField()
    tracking_url = serializers.CharField()
    status = serializers.CharField()
    shipped_at = serializers.DateTimeField()
    delivered_at = serializers.DateTimeField(allow_null=True)
    lines = serializers.SerializerMethodField()
    events = TrackingEventOutput(many=True)

    def get_carrier(self, shipment: Shipment) -> str | None:
        return shipment.carrier.code if shipment.carrier else None

    @extend_schema_field(ShipmentLineOutput(many=True))
    def get_lines(self, shipment: Shipment) -> list[dict[str, Any]]:
        return [
            {"sku": sl.fulfillment_line.order_line.sku, "quantity": sl.quantity}
            for sl in shipment.lines.all()
        ]


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
    payment_method = serializers.CharField()
    payment_status = serializers.CharField(
        help_text="Derived from the order's card payments; none for an order paid by invoice."
    )
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    shipping_method = serializers.SerializerMethodField()
    pickup_location = serializers.SerializerMethodField()
    shipping_address = serializers.SerializerMethodField()
    promised_delivery_date = serializers.DateField(allow_null=True)
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
            "payment_method": order.payment_method,
            "payment_status": order.payment_status,
            "created_at": iso_datetime(order.created_at),
            "updated_at": iso_datetime(order.updated_at),
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

    @extend_schema_field(AddressOutput)
    def get_shipping_address(self, order: Order) -> dict[str, Any]:
        return shipping_address(order)

    @extend_schema_field(TotalsOutput)
    def get_totals(self, order: Order) -> dict[str, str]:
        return totals(order)

    @extend_schema_field(LineOutput(many=True))
    def get_lines(self, order: Order) -> list[dict[str, Any]]:
        lines = self.context.get("lines", {}).get(order.pk)
        if lines is None:
            lines = list(order.lines.all())
        return [line_representation(line) for line in lines]

    @extend_schema_field(HoldOutput(many=True))
    def get_holds(self, order: Order) -> list[dict[str, Any]]:
        holds = self.context.get("holds", {}).get(order.pk)
        if holds is None:
            holds = [h for h in order.holds.all() if h.released_at is None]
        return [hold_representation(hold) for hold in holds]

    @extend_schema_field(ShipmentOutput(many=True))
    def get_shipments(self, order: Order) -> list[dict[str, Any]]:
        shipments = self.context.get("shipments", {}).get(order.pk)
        if shipments is None:
            shipments = list(order.shipments.all())
        if not shipments:
            return []
        return ShipmentOutput(shipments, many=True).data  # type: ignore[return-value]


class FulfillmentLineOutput(serializers.Serializer):
    id = serializers.IntegerField()
    sku = serializers.CharField(source="order_line.sku")
    description = serializers.CharField(source="order_line.description")
    customization = serializers.JSONField(source="order_line.customization")
    quantity = serializers.IntegerField()
    quantity_open = serializers.IntegerField()
    quantity_shipped = serializers.IntegerField()
    quantity_rejected = serializers.IntegerField()


class FulfillmentOrderOutput(serializers.Serializer):
    number = serializers.CharField()
    order_number = serializers.CharField(source="order.number")
    status = serializers.CharField()
    hold_reason = serializers.CharField(
        help_text="Why it is on hold (status on_hold): do not ship until it is released."
    )
    request_status = serializers.CharField()
    ship_by_date = serializers.DateField()
    shipping_method = serializers.CharField(source="order.shipping_method.code")
    ship_to = serializers.SerializerMethodField()
    lines = FulfillmentLineOutput(many=True)

    @extend_schema_field(AddressOutput)
    def get_ship_to(self, fo: FulfillmentOrder) -> dict[str, str]:
        return shipping_address(fo.order)


class LineQuantityInput(serializers.Serializer):
    line_id = serializers.IntegerField(min_value=1)
    quantity = serializers.IntegerField(min_value=1)


class ShipmentInput(serializers.Serializer):
    carrier = serializers.CharField(max_length=32)
    tracking_number = serializers.CharField(max_length=64)
    service_level = serializers.CharField(max_length=16, required=False, default="")
    lines = LineQuantityInput(many=True, required=False, allow_empty=False)


class RejectInput(serializers.Serializer):
    reason = serializers.ChoiceField(
        choices=["out_of_stock", "damaged", "cannot_fulfil", "partner_rejected"]
    )
    note = serializers.CharField(max_length=300, required=False, default="")
    lines = LineQuantityInput(many=True, required=False, allow_empty=False)


class CarrierEventInput(serializers.Serializer):
    tracking_number = serializers.CharField(max_length=64)
    status = serializers.ChoiceField(
        choices=[s for s in ShipmentStatus.values if s != ShipmentStatus.PICKED_UP]
    )
    occurred_at = serializers.DateTimeField()
    event_id = serializers.CharField(max_length=100)
    description = serializers.CharField(max_length=300, required=False, default="")
    location = serializers.CharField(max_length=120, required=False, default="")


class ApprovalDecisionInput(serializers.Serializer):
    reason = serializers.CharField(
        max_length=500, help_text="Why the approver decided so; kept on the order's timeline."
    )
