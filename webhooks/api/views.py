"""The webhooks API: a company's subscriptions, their delivery log, replays and secret
rotation.

Company keys only (``IsCompanyClient``). A key reaches its own company's
subscriptions; another company's id answers 404, like an unknown one. The secret is in
the answer to the creation and to a rotation, nowhere else.
"""

from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from customers.api.authentication import ApiClient, IsCompanyClient

from .. import services
from ..models import WebhookDelivery, WebhookEvent, WebhookSubscription
from .serializers import (
    DeliveryOutput,
    ReplayInput,
    ReplayOutput,
    SubscriptionInput,
    SubscriptionOutput,
    SubscriptionWithSecret,
    output,
)


def _company_id(request: Request) -> int:
    user = request.user
    assert isinstance(user, ApiClient)  # noqa: S101 - guaranteed by IsCompanyClient
    company_id = user.api_key.company_id
    assert company_id is not None  # noqa: S101 - guaranteed by IsCompanyClient
    return company_id


def _subscription(request: Request, pk: int) -> WebhookSubscription:
    found = WebhookSubscription.objects.filter(company_id=_company_id(request), pk=pk).first()
    if found is None:
        raise NotFound()
    return found


class WebhookListView(generics.ListAPIView):
    """The company's webhook subscriptions, newest first."""

    queryset = WebhookSubscription.objects.none()  # for the schema; get_queryset scopes it
    permission_classes = [IsCompanyClient]
    serializer_class = SubscriptionOutput

    def get_queryset(self) -> QuerySet[WebhookSubscription]:
        return WebhookSubscription.objects.filter(company_id=_company_id(self.request))

    @extend_schema(
        request=SubscriptionInput,
        responses={201: SubscriptionWithSecret},
        description="Subscribe a URL to event types. The answer carries the signing "
        "secret, shown this once. In production the URL must be https and resolve to "
        "public addresses.",
    )
    def post(self, request: Request) -> Response:
        data = SubscriptionInput(data=request.data)
        data.is_valid(raise_exception=True)
        values: dict[str, Any] = data.validated_data
        subscription = WebhookSubscription.objects.create(
            company_id=_company_id(request),
            url=values["url"],
            event_types=values["event_types"],
            is_active=values.get("is_active", True),
        )
        return Response(output(subscription, secret=True), status=status.HTTP_201_CREATED)


class WebhookDetailView(APIView):
    permission_classes = [IsCompanyClient]

    @extend_schema(responses={200: SubscriptionOutput})
    def get(self, request: Request, pk: int) -> Response:
        return Response(output(_subscription(request, pk)))

    @extend_schema(
        request=SubscriptionInput(partial=True),
        responses={200: SubscriptionOutput},
        description="Change the URL, the event types, or `is_active` (true enables a "
        "subscription again, also one disabled after repeated failure).",
    )
    def patch(self, request: Request, pk: int) -> Response:
        subscription = _subscription(request, pk)
        data = SubscriptionInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        values: dict[str, Any] = data.validated_data
        with transaction.atomic():
            for field in ("url", "event_types"):
                if field in values:
                    setattr(subscription, field, values[field])
            subscription.save()
            if "is_active" in values and values["is_active"] != subscription.is_active:
                services.set_active(subscription, values["is_active"])
        return Response(output(subscription))

    @extend_schema(responses={204: None})
    def delete(self, request: Request, pk: int) -> Response:
        _subscription(request, pk).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


class RotateSecretView(APIView):
    permission_classes = [IsCompanyClient]

    @extend_schema(
        request=None,
        responses={200: SubscriptionWithSecret},
        description="A new signing secret, shown once. The previous one keeps signing "
        "until `previous_secret_until` (deliveries carry both signatures meanwhile).",
    )
    def post(self, request: Request, pk: int) -> Response:
        subscription = services.rotate_secret(_subscription(request, pk))
        return Response(output(subscription, secret=True))


class DeliveryListView(generics.ListAPIView):
    """The subscription's delivery log, newest first: every attempt at every event."""

    queryset = WebhookDelivery.objects.none()  # for the schema; get_queryset scopes it
    permission_classes = [IsCompanyClient]
    serializer_class = DeliveryOutput

    def get_queryset(self) -> QuerySet[WebhookDelivery]:
        subscription = _subscription(self.request, self.kwargs["pk"])
        return WebhookDelivery.objects.filter(subscription=subscription).select_related("event")


class ReplayView(APIView):
    permission_classes = [IsCompanyClient]

    @extend_schema(
        request=ReplayInput,
        responses={202: ReplayOutput},
        description="Send one of the company's events to this subscription again, with "
        "its original id (receivers deduplicate on it). One attempt, in the log.",
    )
    def post(self, request: Request, pk: int) -> Response:
        subscription = _subscription(request, pk)
        data = ReplayInput(data=request.data)
        data.is_valid(raise_exception=True)
        event_id = data.validated_data["event_id"]
        event = WebhookEvent.objects.filter(
            company_id=subscription.company_id, event_id=event_id
        ).first()
        if event is None:
            raise NotFound("No such event.")
        services.replay(subscription, event)
        return Response({"event_id": event.event_id, "queued": True}, status=202)
