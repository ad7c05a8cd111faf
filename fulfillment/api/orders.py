"""The order resource of the B2B API: a company's orders with their shipments, placing
one, cancelling and changing where it goes. Reads are generic views over a
company-scoped selector; commands are one view per verb calling one service.

It sits in fulfillment because an order as the API shows it includes its shipments, and
its commands move fulfillment orders; placement, idempotency and the lookup of an order
by number are orders' (``orders.api.views``)."""

from typing import Any

from django.db.models import QuerySet
from django.http import HttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework import generics
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.schema import problem_responses
from customers.api.authentication import ApiClient
from customers.store_credit import get_order_store_credit, get_store_credit_balance
from orders.api.batch import OrderBatchView as BaseOrderBatchView
from orders.api.filters import OrderFilter
from orders.api.serializers import (
    CancelInput,
    ChangeAddressInput,
    ChangeShippingMethodInput,
    OrderInput,
)
from orders.api.views import (
    IDEMPOTENCY_HEADER,
    client_order_id,
    place_order_from_request,
    request_client,
)
from orders.models import Order, PaymentMethod
from orders.placement import PlacedOrder

from .. import rerouting
from ..changes import cancel_order
from ..selectors import list_company_order_resources
from .serializers import OrderOutput


def store_credit_block(order: Order) -> dict[str, str]:
    """What a store-credit order took from the buyer's balance, gave back and got back
    as refunds, and the balance left (two small reads)."""
    credit = get_order_store_credit(order.number)
    balance, currency = get_store_credit_balance(order.customer_id)
    return {
        "spent": f"{credit.spent:.2f}",
        "given_back": f"{credit.given_back:.2f}",
        "refunded": f"{credit.refunded:.2f}",
        "balance": f"{balance:.2f}",
        "currency": currency,
    }


def _tenant_orders(client: ApiClient) -> QuerySet[Order]:
    return list_company_order_resources(client.orders_company_id)


def _created(placed: PlacedOrder) -> dict[str, Any]:
    """A new order as the create response shows it, from the rows placement has in hand
    (it has no shipments yet)."""
    order = placed.order
    return OrderOutput(
        order,
        context={
            "lines": {order.pk: placed.lines},
            "holds": {order.pk: placed.holds},
            "shipments": {order.pk: []},
        },
    ).data


class OrderListCreateView(generics.ListAPIView):
    queryset = Order.objects.none()  # for the schema; get_queryset scopes it
    serializer_class = OrderOutput
    filterset_class = OrderFilter

    def get_queryset(self) -> Any:
        return _tenant_orders(request_client(self.request))

    @extend_schema(
        request=OrderInput, responses={201: OrderOutput}, parameters=[IDEMPOTENCY_HEADER]
    )
    @problem_responses(409, 422)
    def post(self, request: Request) -> HttpResponse:
        return place_order_from_request(request, render=_created)


class OrderBatchView(BaseOrderBatchView):
    """Up to 500 orders in one request (``orders.api.batch``), each answered as
    ``OrderListCreateView.post`` answers one."""

    render = staticmethod(_created)


class OrderDetailView(generics.RetrieveAPIView):
    queryset = Order.objects.none()  # for the schema; get_queryset scopes it
    serializer_class = OrderOutput
    lookup_field = "number"

    def get_queryset(self) -> Any:
        return _tenant_orders(request_client(self.request))

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        order = self.get_object()
        data = self.get_serializer(order).data
        if order.payment_method == PaymentMethod.STORE_CREDIT:
            # The order's store credit and the buyer's balance now: on the detail only,
            # so lists stay at their fixed number of queries.
            data["store_credit"] = store_credit_block(order)
        return Response(data)


class OrderCancelView(APIView):
    @extend_schema(request=CancelInput, responses={200: OrderOutput})
    @problem_responses(409, 422)
    def post(self, request: Request, number: str) -> Response:
        client = request_client(request)
        # Drafts are not the client's to see (the detail view answers 404), nor to cancel.
        order_id = client_order_id(client, number)
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


class OrderChangeAddressView(APIView):
    """Send the order to another address. Its fulfillment orders move with it until a
    location starts picking or a partner accepts (then 409 ``fulfillment_started``,
    naming the fulfillment order and whom to call); tax, totals and the delivery
    promise follow. The address it already has changes nothing."""

    @extend_schema(request=ChangeAddressInput, responses={200: OrderOutput})
    @problem_responses(409, 422)
    def post(self, request: Request, number: str) -> Response:
        client = request_client(request)
        order_id = client_order_id(client, number)
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
        client = request_client(request)
        order_id = client_order_id(client, number)
        serializer = ChangeShippingMethodInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        rerouting.change_shipping_method(
            order_id=order_id,
            code=serializer.validated_data["shipping_method"],
            actor=client.actor,
        )
        return Response(OrderOutput(_tenant_orders(client).get(pk=order_id)).data)
