from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from fulfillment.models import FulfillmentOrder, Shipment, ShipmentStatus
from orders.api.serializers import AddressOutput, shipping_address


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
