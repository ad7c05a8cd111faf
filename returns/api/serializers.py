"""What the returns API reads and writes. Output is read-only; input is validated here
and decided by ``returns.services``."""

from __future__ import annotations

from rest_framework import serializers

from ..models import ReturnMethod, ReturnStatus


class ReturnLineInput(serializers.Serializer):
    line_number = serializers.IntegerField(min_value=1, max_value=32767)
    quantity = serializers.IntegerField(min_value=1, max_value=1_000_000)
    reason = serializers.CharField(max_length=32, help_text="A return reason's code.")
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


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
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class DropOffStoreOutput(serializers.Serializer):
    code = serializers.CharField(source="location.code")
    name = serializers.CharField(source="location.name")
    address = serializers.CharField(source="location.one_line")
    distance_km = serializers.FloatField(allow_null=True)
