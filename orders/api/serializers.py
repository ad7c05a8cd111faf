"""API input and output shapes for orders. Output serializers only read; input
serializers only validate shape — the services decide everything else."""

from typing import Any

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
    """The order as an integrator sees it. Built from prefetched or in-memory rows."""

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

    def get_shipping_method(self, order: Order) -> str:
        return order.shipping_method.code

    def get_pickup_location(self, order: Order) -> str | None:
        return order.pickup_location.code if order.pickup_location else None

    def get_shipping_address(self, order: Order) -> dict[str, Any]:
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

    def get_totals(self, order: Order) -> dict[str, str]:
        # Two decimals always: an unsaved order's defaults (Decimal("0")) must read
        # the same as the saved row, or a create response and a read would differ.
        return {
            "currency": order.currency,
            "subtotal": f"{order.subtotal:.2f}",
            "shipping": f"{order.shipping_total:.2f}",
            "discount": f"{order.discount_total:.2f}",
            "tax": f"{order.tax_total:.2f}",
            "grand_total": f"{order.grand_total:.2f}",
        }

    def _lines(self, order: Order) -> list[OrderLine]:
        lines = self.context.get("lines", {}).get(order.pk)
        return lines if lines is not None else list(order.lines.all())

    def get_lines(self, order: Order) -> list[dict[str, Any]]:
        return LineOutput(self._lines(order), many=True).data  # type: ignore[return-value]

    def get_holds(self, order: Order) -> list[dict[str, Any]]:
        holds = self.context.get("holds", {}).get(order.pk)
        if holds is None:
            holds = [h for h in order.holds.all() if h.released_at is None]
        return HoldOutput(holds, many=True).data  # type: ignore[return-value]

    def get_shipments(self, order: Order) -> list[dict[str, Any]]:
        from fulfillment.api.serializers import ShipmentOutput

        shipments = self.context.get("shipments", {}).get(order.pk)
        if shipments is None:
            shipments = list(order.shipments.all())
        return ShipmentOutput(shipments, many=True).data  # type: ignore[return-value]
