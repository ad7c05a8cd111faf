"""The returns endpoints: a company (or the storefront, for its shoppers) asks to return
units of an order, reads its returns and prints a return's label.

Tenancy is the orders': a key reaches its company's orders and returns (the storefront,
B2C web orders); anything else answers 404, exactly like an unknown number. Asking is
idempotent per ``Idempotency-Key``: a retry with the same key and body gets the same
return back; the same key with another body is 422.
"""

from __future__ import annotations

from typing import Any, NoReturn

from django.db import IntegrityError
from django.db.models import QuerySet
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from billing.api.views import PdfContentNegotiation
from core.api.schema import problem_responses
from core.errors import InvalidInput
from customers.api.authentication import ApiClient
from fulfillment.api.views import CarrierEventView as FulfillmentCarrierEventView
from inventory.models import Location
from orders.api.idempotency import clean_key, request_fingerprint
from orders.api.views import IDEMPOTENCY_HEADER
from orders.models import Order
from orders.selectors import list_company_orders
from shipping.models import Carrier

from .. import services
from ..destination import list_drop_off_stores
from ..documents import return_label_pdf
from ..models import ReturnMethod, ReturnRequest
from ..resolution import ExchangeLineInput
from ..selectors import list_client_returns
from ..tracking import find_tracked_return, record_return_scan
from .serializers import DropOffStoreOutput, ReturnInput, ReturnOutput

PDF_CONTENT_TYPE = "application/pdf"


def _client(request: Request) -> ApiClient:
    user = request.user
    assert isinstance(user, ApiClient)  # noqa: S101 - guaranteed by the permission class
    return user


def _client_order(client: ApiClient, number: str) -> Order:
    order = (
        list_company_orders(client.orders_company_id)
        .filter(number=number)
        .prefetch_related(None)
        .first()
    )
    if order is None:
        raise NotFound()
    return order


def _returns(request: Request) -> QuerySet[ReturnRequest]:
    return list_client_returns(_client(request).orders_company_id)


class OrderReturnsView(APIView):
    @extend_schema(
        request=ReturnInput,
        parameters=[IDEMPOTENCY_HEADER],
        responses={201: ReturnOutput},
        description="Ask to return delivered units of the order. The policy decides at "
        "once: 422 `return_window_closed` or `not_returnable`, 409 "
        "`quantity_exceeds_returnable`; nothing is written on a refusal. The return is "
        "`approved` at once when the policy trusts its reason or amount, else `requested` "
        "until an agent decides. `resolution`: `refund` (default), `exchange` with "
        "`exchange_lines` (422 `exchange_costs_more` when the replacement costs more than "
        "the units returned, 400 `unknown_sku`; the replacement order is placed on "
        "approval, 409 `insufficient_stock` if it cannot be), or `store_credit`.",
    )
    @problem_responses(409, 422)
    def post(self, request: Request, number: str) -> Response:
        client = _client(request)
        key = clean_key(request.headers.get("Idempotency-Key"))
        # The order is part of the request: the same body for another order is another request.
        fingerprint = request_fingerprint({"order": number, "body": request.data})
        order = _client_order(client, number)
        data = ReturnInput(data=request.data)
        data.is_valid(raise_exception=True)
        values: dict[str, Any] = data.validated_data
        by_number: dict[int, Any] = {line.line_number: line.pk for line in order.lines.all()}
        lines = []
        for item in values["lines"]:
            line_id = by_number.get(item["line_number"])
            if line_id is None:
                return_line_unknown(item["line_number"])
            lines.append(
                services.ReturnLineInput(
                    order_line_id=int(line_id),
                    quantity=item["quantity"],
                    reason_code=item["reason"],
                    note=item["note"],
                )
            )
        store = None
        if values["method"] == ReturnMethod.DROP_OFF and values["drop_off_location"]:
            store = Location.objects.filter(code=values["drop_off_location"]).first()
            if store is None:
                raise InvalidInput(
                    "No store has that code; choose one of the drop-off stores listed.",
                    fields={"drop_off_location": ["Unknown store."]},
                )
        exchange = [
            ExchangeLineInput(sku=item["sku"], quantity=item["quantity"])
            for item in values["exchange_lines"]
        ]
        try:
            rma = services.request_return(
                order=order,
                lines=lines,
                method=values["method"],
                actor=client.actor,
                note=values["note"],
                drop_off_location=store,
                client_scope=client.scope,
                idempotency_key=key,
                request_hash=fingerprint,
                resolution=values["resolution"],
                exchange_lines=exchange,
            )
        except IntegrityError:
            # The same key was used at the same moment for another order's return.
            rma = services.replay_return(
                client_scope=client.scope, idempotency_key=key, request_hash=fingerprint
            )
        rma = _returns(request).get(pk=rma.pk)
        return Response(ReturnOutput(rma).data, status=status.HTTP_201_CREATED)


def return_line_unknown(line_number: int) -> NoReturn:
    raise InvalidInput(
        f"The order has no line {line_number}.",
        fields={"lines": [f"No line {line_number} on this order."]},
    )


class DropOffStoresView(generics.ListAPIView):
    """The open stores nearest the order's ship-to address that accept returns: where a
    drop-off return may go (`drop_off_location`)."""

    serializer_class = DropOffStoreOutput
    pagination_class = None
    queryset = Location.objects.none()  # for the schema; the list comes from the rule

    def get_queryset(self) -> Any:
        order = _client_order(_client(self.request), self.kwargs["number"])
        products = {line.product_id for line in order.lines.all()}
        return list_drop_off_stores(order, products)


class ReturnListView(generics.ListAPIView):
    """The key's returns, newest first (cursor-paged)."""

    queryset = ReturnRequest.objects.none()  # for the schema; get_queryset scopes it
    serializer_class = ReturnOutput

    def get_queryset(self) -> QuerySet[ReturnRequest]:
        return _returns(self.request)


class ReturnDetailView(generics.RetrieveAPIView):
    """One return by its RMA number."""

    queryset = ReturnRequest.objects.none()  # for the schema; get_queryset scopes it
    serializer_class = ReturnOutput
    lookup_field = "number"
    lookup_url_kwarg = "rma"

    def get_queryset(self) -> QuerySet[ReturnRequest]:
        return _returns(self.request)


class ReturnLabelView(APIView):
    content_negotiation_class = PdfContentNegotiation

    @extend_schema(
        responses={
            (200, PDF_CONTENT_TYPE): OpenApiResponse(
                OpenApiTypes.BINARY,
                description="The return label: RMA number as Code128 and QR, where to send "
                "it, the lines.",
            )
        }
    )
    def get(self, request: Request, rma: str) -> HttpResponse:
        found = _returns(request).filter(number=rma).first()
        if found is None:
            raise NotFound()
        response = HttpResponse(return_label_pdf(found), content_type=PDF_CONTENT_TYPE)
        response["Content-Disposition"] = f'attachment; filename="{found.number}.pdf"'
        return response


class CarrierEventView(FulfillmentCarrierEventView):
    """The carriers' tracking webhook: a scan of a return parcel (its label's tracking
    number) updates the return; any other goes to the shipment it tracks."""

    def record(self, carrier: Carrier, values: dict[str, Any]) -> Response:
        request_id = find_tracked_return(carrier, values["tracking_number"])
        if request_id is None:
            return super().record(carrier, values)
        event = record_return_scan(
            request_id=request_id,
            status=values["status"],
            occurred_at=values["occurred_at"],
            external_id=values["event_id"],
            description=values["description"],
            location=values["location"],
        )
        if event is None:
            return Response({"status": "duplicate"}, status=status.HTTP_200_OK)
        return Response({"status": "recorded"}, status=status.HTTP_202_ACCEPTED)
