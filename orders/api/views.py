"""B2B order endpoints. Reads are generic views over a company-scoped selector;
commands are one view per verb calling one service."""

import json
from typing import Any

from django.db import transaction
from django.http import HttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.schema import problem_responses
from core.errors import DomainError
from customers.api.authentication import ApiClient
from customers.models import Customer
from customers.services import register_shopper
from fulfillment import rerouting
from fulfillment.changes import cancel_order
from orders.models import Order
from orders.placement import LineRequest, OrderRequest, PlacedOrder, place_order
from orders.selectors import list_company_orders

from .filters import OrderFilter
from .idempotency import (
    clean_key,
    request_fingerprint,
    store_response,
    stored_response,
    update_response,
)
from .serializers import (
    CancelInput,
    ChangeAddressInput,
    ChangeShippingMethodInput,
    OrderInput,
    OrderOutput,
    read_order_input,
)

IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    required=True,
    description="Any unique string; retries with the same key and body return the same order.",
)


def _client(request: Request) -> ApiClient:
    user = request.user
    assert isinstance(user, ApiClient)  # noqa: S101 - guaranteed by IsApiClient
    return user


def _tenant_orders(client: ApiClient) -> Any:
    return list_company_orders(client.orders_company_id)


def _json(status_code: int, body: str) -> HttpResponse:
    return HttpResponse(body, status=status_code, content_type="application/json")


class OrderListCreateView(generics.ListAPIView):
    queryset = Order.objects.none()  # for the schema; get_queryset scopes it
    serializer_class = OrderOutput
    filterset_class = OrderFilter

    def get_queryset(self) -> Any:
        return _tenant_orders(_client(self.request))

    @extend_schema(
        request=OrderInput, responses={201: OrderOutput}, parameters=[IDEMPOTENCY_HEADER]
    )
    @problem_responses(409, 422)
    def post(self, request: Request) -> HttpResponse:
        client = _client(request)
        key = clean_key(request.headers.get("Idempotency-Key"))
        data = request.data
        fingerprint = request_fingerprint(data)
        scope = client.scope
        company_id = client.orders_company_id
        rendered: dict[str, str] = {}

        def remember(placed: PlacedOrder) -> None:
            order = placed.order
            body = OrderOutput(
                order,
                context={
                    "lines": {order.pk: placed.lines},
                    "holds": {order.pk: placed.holds},
                    "shipments": {order.pk: []},
                },
            ).data
            stored = "body" in rendered
            rendered["body"] = json.dumps(body, separators=(",", ":"))
            if stored:
                # Called again once backorders changed the lines: the key is ours.
                update_response(scope=scope, key=key, body=rendered["body"])
                return
            store_response(
                scope=scope,
                company_id=company_id,
                key=key,
                fingerprint=fingerprint,
                status=status.HTTP_201_CREATED,
                body=rendered["body"],
                order_id=order.pk,
            )

        try:
            validated = read_order_input(data)
            if client.is_storefront:
                self._place_for_shopper(client, validated, remember)
            else:
                place_order(
                    request=self._order_request(client, client.buyer, validated),
                    actor=client.actor,
                    before_commit=remember,
                )
        except (DomainError, ValidationError):
            # A retry of a request that already succeeded gets that success back,
            # even if it would fail now (stock sold since, for instance).
            replay = stored_response(scope=scope, key=key, fingerprint=fingerprint)
            if replay is not None:
                return _json(*replay)
            raise
        return _json(status.HTTP_201_CREATED, rendered["body"])

    def _place_for_shopper(self, client: ApiClient, data: dict[str, Any], remember: Any) -> None:
        """Storefront orders name their shopper; a first-time shopper is registered in
        the same transaction, so a refused order leaves no customer behind."""
        shopper = data.get("customer")
        if not shopper:
            raise ValidationError({"customer": ["Storefront orders name their customer."]})
        with transaction.atomic():
            customer = register_shopper(
                email=shopper["email"],
                first_name=shopper["first_name"],
                last_name=shopper["last_name"],
                phone=shopper["phone"],
            )
            place_order(
                request=self._order_request(client, customer, data, channel="web"),
                actor=client.actor,
                before_commit=remember,
            )

    @staticmethod
    def _order_request(
        client: ApiClient, customer: Customer, data: dict[str, Any], channel: str = "b2b_api"
    ) -> OrderRequest:
        return OrderRequest(
            customer=customer,
            channel=channel,
            shipping_method_code=data["shipping_method"],
            pickup_location_code=data["pickup_location"],
            shipping_address=data.get("shipping_address"),
            billing_address=data.get("billing_address"),
            po_number=data["po_number"],
            notes=data["notes"],
            lines=[
                LineRequest(
                    sku=li["sku"], quantity=li["quantity"], customization=li["customization"]
                )
                for li in data["lines"]
            ],
        )


class OrderDetailView(generics.RetrieveAPIView):
    queryset = Order.objects.none()  # for the schema; get_queryset scopes it
    serializer_class = OrderOutput
    lookup_field = "number"

    def get_queryset(self) -> Any:
        return _tenant_orders(_client(self.request))


class OrderCancelView(APIView):
    @extend_schema(request=CancelInput, responses={200: OrderOutput})
    @problem_responses(409, 422)
    def post(self, request: Request, number: str) -> Response:
        client = _client(request)
        # Drafts are not the client's to see (the detail view answers 404), nor to cancel.
        order_id = _tenant_orders(client).filter(number=number).values_list("pk", flat=True).first()
        if order_id is None:
            raise NotFound()
        serializer = CancelInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        lines = serializer.validated_data.get("lines")
        cancel_order(
            order_id=order_id,
            reason=serializer.validated_data["reason"],
            actor=client.actor,
            lines={li["line_number"]: li["quantity"] for li in lines} if lines else None,
        )
        fresh = _tenant_orders(client).get(pk=order_id)
        return Response(OrderOutput(fresh).data)


def _order_id(client: ApiClient, number: str) -> int:
    """The id of the client's order ``number``; 404 for anything it may not see."""
    order_id = _tenant_orders(client).filter(number=number).values_list("pk", flat=True).first()
    if order_id is None:
        raise NotFound()
    return int(order_id)


class OrderChangeAddressView(APIView):
    """Send the order to another address. Its fulfillment orders move with it until a
    location starts picking or a partner accepts (then 409 ``fulfillment_started``,
    naming the fulfillment order and whom to call); tax, totals and the delivery
    promise follow. The address it already has changes nothing."""

    @extend_schema(request=ChangeAddressInput, responses={200: OrderOutput})
    @problem_responses(409, 422)
    def post(self, request: Request, number: str) -> Response:
        client = _client(request)
        order_id = _order_id(client, number)
        serializer = ChangeAddressInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        rerouting.change_shipping_address(
            order_id=order_id,
            address=dict(serializer.validated_data["shipping_address"]),
            actor=client.actor,
        )
        return Response(OrderOutput(_tenant_orders(client).get(pk=order_id)).data)


class OrderChangeShippingMethodView(APIView):
    """Ship the order by another method, on the same terms as a change of address."""

    @extend_schema(request=ChangeShippingMethodInput, responses={200: OrderOutput})
    @problem_responses(409, 422)
    def post(self, request: Request, number: str) -> Response:
        client = _client(request)
        order_id = _order_id(client, number)
        serializer = ChangeShippingMethodInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        rerouting.change_shipping_method(
            order_id=order_id,
            code=serializer.validated_data["shipping_method"],
            actor=client.actor,
        )
        return Response(OrderOutput(_tenant_orders(client).get(pk=order_id)).data)
