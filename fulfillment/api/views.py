"""Fulfillment endpoints: a company reads its shipments; a dropship vendor or 3PL reads,
accepts, rejects and ships its fulfillment orders; carriers post tracking events."""

import hmac
from typing import Any

from django.db.models import Prefetch, QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.exceptions import AuthenticationFailed, NotFound, Throttled
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.actors import Actor
from core.api.schema import problem_responses
from core.api.throttling import carrier_auth_failures
from core.security import client_ip
from customers.api.authentication import ApiClient, IsCompanyClient, IsVendorClient
from fulfillment import changes as order_changes
from fulfillment import holds as hold_workflows
from fulfillment import operations as ops
from fulfillment.models import FulfillmentOrder, FulfillmentOrderLine, FulfillmentStatus, Shipment
from orders.selectors import list_company_orders
from shipping.models import Carrier

from ..selectors import list_company_order_resources
from .serializers import (
    ApprovalDecisionInput,
    CarrierEventInput,
    FulfillmentOrderOutput,
    OrderOutput,
    RejectInput,
    ShipmentInput,
    ShipmentOutput,
)


def shipments_queryset() -> QuerySet[Shipment]:
    return Shipment.objects.select_related("carrier").prefetch_related(
        "events", "lines__fulfillment_line__order_line"
    )


def _client(request: Request) -> ApiClient:
    user = request.user
    assert isinstance(user, ApiClient)  # noqa: S101 - guaranteed by the permission class
    return user


class OrderShipmentsView(generics.ListAPIView):
    queryset = Shipment.objects.none()  # for the schema; get_queryset scopes it
    serializer_class = ShipmentOutput
    pagination_class = None

    def get_queryset(self) -> QuerySet[Shipment]:
        # The orders the key may read: its company's, or the storefront's B2C web
        # orders; anything else (another tenant's, a draft) is 404.
        client = _client(self.request)
        order_id = (
            list_company_orders(client.orders_company_id)
            .filter(number=self.kwargs["number"])
            .values_list("pk", flat=True)
            .first()
        )
        if order_id is None:
            raise NotFound()
        return shipments_queryset().filter(order_id=order_id).order_by("id")


def _vendor_orders(client: ApiClient) -> QuerySet[FulfillmentOrder]:
    return (
        FulfillmentOrder.objects.filter(location=client.vendor)
        .select_related("order", "order__shipping_method")
        .prefetch_related(
            Prefetch(
                "lines",
                queryset=FulfillmentOrderLine.objects.select_related("order_line").order_by("id"),
            )
        )
    )


class VendorFulfillmentListView(generics.ListAPIView):
    queryset = FulfillmentOrder.objects.none()  # for the schema; get_queryset scopes it
    permission_classes = [IsVendorClient]
    serializer_class = FulfillmentOrderOutput

    def get_queryset(self) -> QuerySet[FulfillmentOrder]:
        # Held work stays listed (status on_hold, with its reason) so the partner
        # knows to stop rather than wonder where it went.
        return _vendor_orders(_client(self.request)).filter(
            status__in=[
                FulfillmentStatus.OPEN,
                FulfillmentStatus.IN_PROGRESS,
                FulfillmentStatus.ON_HOLD,
            ]
        )


class VendorFulfillmentDetailView(generics.RetrieveAPIView):
    queryset = FulfillmentOrder.objects.none()  # for the schema; get_queryset scopes it
    permission_classes = [IsVendorClient]
    serializer_class = FulfillmentOrderOutput
    lookup_field = "number"

    def get_queryset(self) -> QuerySet[FulfillmentOrder]:
        return _vendor_orders(_client(self.request))


class _VendorCommand(APIView):
    permission_classes = [IsVendorClient]

    def fulfillment_order(self, request: Request, number: str) -> FulfillmentOrder:
        fo = _vendor_orders(_client(request)).filter(number=number).first()
        if fo is None:
            raise NotFound()
        return fo

    def respond(self, request: Request, fo: FulfillmentOrder) -> Response:
        fresh = _vendor_orders(_client(request)).get(pk=fo.pk)
        return Response(FulfillmentOrderOutput(fresh).data)


def _quantities(data: dict[str, Any]) -> dict[int, int] | None:
    lines = data.get("lines")
    return {li["line_id"]: li["quantity"] for li in lines} if lines else None


class VendorAcceptView(_VendorCommand):
    @extend_schema(request=None, responses={200: FulfillmentOrderOutput})
    @problem_responses(409)
    def post(self, request: Request, number: str) -> Response:
        fo = self.fulfillment_order(request, number)
        ops.accept_fulfillment_request(fo_id=fo.pk, actor=_client(request).actor)
        return self.respond(request, fo)


class VendorRejectView(_VendorCommand):
    @extend_schema(request=RejectInput, responses={200: FulfillmentOrderOutput})
    @problem_responses(409)
    def post(self, request: Request, number: str) -> Response:
        fo = self.fulfillment_order(request, number)
        data = RejectInput(data=request.data)
        data.is_valid(raise_exception=True)
        ops.reject_fulfillment_lines(
            fo_id=fo.pk,
            reason=data.validated_data["reason"],
            note=data.validated_data["note"],
            quantities=_quantities(data.validated_data),
            actor=_client(request).actor,
        )
        return self.respond(request, fo)


class VendorShipView(_VendorCommand):
    """The vendor confirms a shipment; accepting the request is implied."""

    @extend_schema(request=ShipmentInput, responses={201: ShipmentOutput})
    @problem_responses(409)
    def post(self, request: Request, number: str) -> Response:
        fo = self.fulfillment_order(request, number)
        data = ShipmentInput(data=request.data)
        data.is_valid(raise_exception=True)
        actor = _client(request).actor
        if fo.request_status == "submitted":
            ops.accept_fulfillment_request(fo_id=fo.pk, actor=actor)
        shipment = ops.ship_fulfillment_order(
            fo_id=fo.pk,
            actor=actor,
            carrier_code=data.validated_data["carrier"],
            service_level=data.validated_data["service_level"],
            tracking_number=data.validated_data["tracking_number"],
            quantities=_quantities(data.validated_data),
        )
        return Response(
            ShipmentOutput(shipments_queryset().get(pk=shipment.pk)).data,
            status=status.HTTP_201_CREATED,
        )


class _ApprovalDecision(APIView):
    """A company's approver decides an order waiting for B2B approval, with the
    company's key of a buyer who has the approver (or account admin) role."""

    permission_classes = [IsCompanyClient]

    def decide(self, request: Request, number: str, *, approve: bool) -> Response:
        client = _client(request)
        order_id = (
            list_company_orders(client.company.pk)
            .filter(number=number)
            .values_list("pk", flat=True)
            .first()
        )
        if order_id is None:
            raise NotFound()
        data = ApprovalDecisionInput(data=request.data)
        data.is_valid(raise_exception=True)
        buyer = client.buyer
        actor = Actor.api_client(f"{client.actor.label} ({buyer.full_name})")
        decide = hold_workflows.approve_order if approve else order_changes.reject_order
        decide(order_id=order_id, approver=buyer, reason=data.validated_data["reason"], actor=actor)
        fresh = list_company_order_resources(client.company.pk).get(pk=order_id)
        return Response(OrderOutput(fresh).data)


class OrderApproveView(_ApprovalDecision):
    @extend_schema(
        request=ApprovalDecisionInput,
        responses={200: OrderOutput},
        description="Release the order's B2B approval hold (403 for a buyer who is not an "
        "approver, 409 when the order is not waiting for approval).",
    )
    @problem_responses(409)
    def post(self, request: Request, number: str) -> Response:
        return self.decide(request, number, approve=True)


class OrderRejectView(_ApprovalDecision):
    @extend_schema(
        request=ApprovalDecisionInput,
        responses={200: OrderOutput},
        description="Refuse an order waiting for B2B approval: it is cancelled.",
    )
    @problem_responses(409)
    def post(self, request: Request, number: str) -> Response:
        return self.decide(request, number, approve=False)


CARRIER_EVENT_OUTPUT = inline_serializer(
    "CarrierEventOutput",
    {"status": serializers.ChoiceField(choices=["recorded", "duplicate"])},
)


class CarrierEventView(APIView):
    """Tracking events pushed by a carrier, authenticated by its shared secret."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    throttle_classes: list[Any] = []

    def get_authenticate_header(self, request: Request) -> str:
        return 'X-Carrier-Token realm="carriers"'  # a 401, not a 403, for a wrong token

    @extend_schema(
        request=CarrierEventInput,
        parameters=[
            OpenApiParameter(
                "X-Carrier-Token",
                str,
                OpenApiParameter.HEADER,
                required=True,
                description="The carrier's webhook secret.",
            )
        ],
        # 202: recorded; 200: an event_id already recorded, nothing changes.
        responses={200: CARRIER_EVENT_OUTPUT, 202: CARRIER_EVENT_OUTPUT},
    )
    def post(self, request: Request, code: str) -> Response:
        # Guessing is slowed down: past OMS_CARRIER_AUTH_FAILURE_RATE failed tokens for
        # one carrier from one address, every request from there is refused with 429
        # until the rate allows one more, the right token included (else the answers
        # would still tell a guess that hit).
        failures = carrier_auth_failures()
        source = f"{code.upper()}|{client_ip(request)}"
        verdict = failures.peek(source)
        if not verdict.allowed:
            raise Throttled(
                wait=verdict.wait, detail="Too many failed authentications. Retry later."
            )
        carrier = Carrier.objects.filter(code=code.upper(), is_active=True).first()
        # Compared as bytes: a header is any text (a str compare_digest refuses
        # non-ASCII), and the comparison takes the same time whatever it holds.
        token = request.headers.get("X-Carrier-Token", "").encode("utf-8", "replace")
        if (
            carrier is None
            or not carrier.webhook_secret
            or not hmac.compare_digest(carrier.webhook_secret.encode(), token)
        ):
            failures.hit(source, refund=False)
            raise AuthenticationFailed("Unknown carrier or wrong X-Carrier-Token.")
        data = CarrierEventInput(data=request.data)
        data.is_valid(raise_exception=True)
        return self.record(carrier, data.validated_data)

    def record(self, carrier: Carrier, values: dict[str, Any]) -> Response:
        """Record an authenticated, validated scan of one of ``carrier``'s parcels. A
        higher app whose parcels the carrier also scans (returns) extends this view."""
        shipment = Shipment.objects.filter(
            carrier=carrier, tracking_number=values["tracking_number"]
        ).first()
        if shipment is None:
            raise NotFound(f"No shipment {values['tracking_number']} with {carrier.code}.")
        event = ops.record_tracking_event(
            shipment_id=shipment.pk,
            status=values["status"],
            occurred_at=values["occurred_at"],
            external_id=values["event_id"],
            description=values["description"],
            location=values["location"],
        )
        if event is None:
            return Response({"status": "duplicate"}, status=status.HTTP_200_OK)
        return Response({"status": "recorded"}, status=status.HTTP_202_ACCEPTED)
