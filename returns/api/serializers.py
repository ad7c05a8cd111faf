"""What the returns API reads and writes. Output is read-only; input is validated here
and decided by ``returns.services``."""

from __future__ import annotations

from rest_framework import serializers

from ..models import Resolution, ReturnMethod, ReturnRefund, ReturnStatus


class ReturnLineInput(serializers.Serializer):
    line_number = serializers.IntegerField(min_value=1, max_value=32767)
    quantity = serializers.IntegerField(min_value=1, max_value=1_000_000)
    reason = serializers.CharField(max_length=32, help_text="A return reason's code.")
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class ExchangeLineInput(serializers.Serializer):
    sku = serializers.CharField(max_length=64, help_text="The replacement's SKU.")
    quantity = serializers.IntegerField(min_value=1, max_value=1_000_000)


class ReturnInput(serializers.Serializer):
    method = serializers.ChoiceField(choices=ReturnMethod.choices)
    lines = serializers.ListField(child=ReturnLineInput(), allow_empty=False, max_length=500)
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    drop_off_location = serializers.CharField(
        max_length=32,
        required=False,
        allow_blank=True,
        default="",
        help_text="Drop-off only: the code of the store chosen (see drop-off-stores); "
        "empty for the nearest.",
    )
    resolution = serializers.ChoiceField(
        choices=Resolution.choices,
        required=False,
        default=Resolution.REFUND,
        help_text="What the customer gets: a refund to the original payment (default), an "
        "exchange for `exchange_lines`, or store credit.",
    )
    exchange_lines = serializers.ListField(
        child=ExchangeLineInput(),
        required=False,
        default=list,
        max_length=100,
        help_text="Exchange only: the replacements (SKU and quantity), worth at most what "
        "the returned units were sold at.",
    )


class DestinationOutput(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    address = serializers.CharField(source="one_line")


class ReturnLineOutput(serializers.Serializer):
    line_number = serializers.IntegerField(source="order_line.line_number")
    sku = serializers.CharField(source="order_line.sku")
    quantity = serializers.IntegerField()
    quantity_received = serializers.IntegerField()
    reason = serializers.CharField(source="reason.code")
    note = serializers.CharField()
    quantity_refunded = serializers.IntegerField()


class ExchangeLineOutput(serializers.Serializer):
    sku = serializers.CharField()
    quantity = serializers.IntegerField()


class ReturnRefundOutput(serializers.Serializer):
    amount = serializers.DecimalField(max_digits=12, decimal_places=2)
    restocking_fee = serializers.DecimalField(max_digits=12, decimal_places=2)
    status = serializers.CharField(source="refund.status")
    credit_notes = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()

    def get_credit_notes(self, obj: ReturnRefund) -> list[str]:
        return [note.number for note in obj.refund.credit_notes.all()]


class TrackingOutput(serializers.Serializer):
    carrier = serializers.CharField(source="carrier.code", allow_null=True)
    tracking_number = serializers.CharField()
    status = serializers.CharField(source="tracking_status")
    delivered_at = serializers.DateTimeField(allow_null=True)


class PickupOutput(serializers.Serializer):
    carrier = serializers.CharField(source="carrier.code", allow_null=True)
    confirmation = serializers.CharField(
        source="pickup_confirmation", help_text="Empty until the carrier has booked the pickup."
    )
    date = serializers.DateField(source="pickup_date", allow_null=True)


class ReturnOutput(serializers.Serializer):
    number = serializers.CharField()
    order = serializers.CharField(source="order.number")
    status = serializers.ChoiceField(choices=ReturnStatus.choices)
    # A plain string here: the input's choice set keeps the schema's one enum of it.
    method = serializers.CharField(help_text="mail, drop_off or pickup.")
    auto_approved = serializers.BooleanField()
    destination = DestinationOutput()
    destination_reason = serializers.CharField()
    note = serializers.CharField()
    decision_note = serializers.CharField()
    lines = ReturnLineOutput(many=True)
    resolution = serializers.CharField(help_text="refund, exchange or store_credit.")
    keep_items = serializers.BooleanField(
        help_text="Refunded without return: the customer keeps the items."
    )
    exchange_lines = ExchangeLineOutput(many=True)
    exchange_order = serializers.CharField(source="exchange_order.number", allow_null=True)
    refunds = ReturnRefundOutput(many=True)
    tracking = TrackingOutput(source="*")
    pickup = PickupOutput(source="*", help_text="The carrier pickup of a return by pickup.")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class DropOffStoreOutput(serializers.Serializer):
    code = serializers.CharField(source="location.code")
    name = serializers.CharField(source="location.name")
    address = serializers.CharField(source="location.one_line")
    distance_km = serializers.FloatField(allow_null=True)
