"""Webhook API payloads."""

from typing import Any

from rest_framework import serializers

from ..models import EventType, WebhookSubscription
from ..urls_safety import UnsafeUrl, check_url


class StrictBooleanField(serializers.BooleanField):
    """A JSON ``true`` or ``false`` only: not ``0``, ``1`` or ``"yes"``, which the
    schema does not allow."""

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


class SubscriptionInput(serializers.Serializer):
    url = serializers.URLField(max_length=500)
    event_types = serializers.ListField(
        child=serializers.ChoiceField(choices=EventType.choices),
        min_length=1,
        max_length=len(EventType.choices),
    )
    is_active = StrictBooleanField(
        required=False,
        help_text="False stops deliveries; true enables a subscription again (also one "
        "disabled after repeated failure).",
    )

    def validate_url(self, value: str) -> str:
        try:
            check_url(value)
        except UnsafeUrl as exc:
            raise serializers.ValidationError(str(exc)) from exc
        return value

    def validate_event_types(self, value: list[str]) -> list[str]:
        return sorted(set(value))


class SubscriptionOutput(serializers.Serializer):
    """A subscription. The secret is shown once, when it is created or rotated."""

    id = serializers.IntegerField()
    url = serializers.URLField()
    event_types = serializers.ListField(child=serializers.CharField())
    is_active = serializers.BooleanField()
    disabled_reason = serializers.CharField()
    consecutive_failures = serializers.IntegerField()
    previous_secret_until = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class SubscriptionWithSecret(SubscriptionOutput):
    secret = serializers.CharField(
        help_text="The signing secret (whsec_...): verify deliveries with it. Shown once."
    )


class ReplayInput(serializers.Serializer):
    event_id = serializers.CharField(max_length=40, help_text="The event's id (msg_...).")


class ReplayOutput(serializers.Serializer):
    event_id = serializers.CharField()
    queued = serializers.BooleanField()


class DeliveryOutput(serializers.Serializer):
    """One attempt to deliver an event."""

    id = serializers.IntegerField()
    event_id = serializers.CharField(source="event.event_id")
    event_type = serializers.CharField(source="event.type")
    attempt = serializers.IntegerField()
    succeeded = serializers.BooleanField()
    status_code = serializers.IntegerField(allow_null=True)
    response_ms = serializers.IntegerField(allow_null=True)
    body_excerpt = serializers.CharField()
    error = serializers.CharField()
    created_at = serializers.DateTimeField()


def output(subscription: WebhookSubscription, *, secret: bool = False) -> dict[str, Any]:
    serializer = SubscriptionWithSecret if secret else SubscriptionOutput
    return dict(serializer(subscription).data)
