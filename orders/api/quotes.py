"""A buyer accepts a quote: ``POST /api/v1/quotes/{number}/accept/`` with the company's
API key and an ``Idempotency-Key``, as an order is created. The quote's draft is
submitted (``orders.quotes.accept_quote``) and the placed order comes back, 201, in the
order resource's shape. A retry with the same key and body gets the same answer; an
expired or closed quote, or stock gone since, is refused (409, nothing changed);
another company's quote, or any for a key without a company, is 404."""

import json
from typing import Any

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.views import APIView

from core.api.schema import problem_responses
from core.errors import DomainError
from orders import quotes
from orders.placement import PlacedOrder

from .idempotency import clean_key, request_fingerprint, store_response, stored_response
from .serializers import (
    AddressOutput,
    HoldOutput,
    LineOutput,
    TotalsOutput,
    hold_representation,
    iso_datetime,
    line_representation,
    shipping_address,
    totals,
)
from .views import IDEMPOTENCY_HEADER, request_client

NUMBER = OpenApiParameter(
    "number", str, OpenApiParameter.PATH, description="The quote's number, as on its PDF."
)


def _json(status_code: int, body: str) -> HttpResponse:
    return HttpResponse(body, status=status_code, content_type="application/json")


class AcceptQuoteInput(serializers.Serializer):
    """Nothing is needed; a note for the seller may come along."""

    note = serializers.CharField(max_length=500, required=False, allow_blank=True)


class AcceptedOrderOutput(serializers.Serializer):
    """The order the quote became, as the order resource shows it (no shipments yet)."""

    number = serializers.CharField()
    quote = serializers.CharField()
    status = serializers.CharField()
    fulfillment_status = serializers.CharField()
    return_status = serializers.CharField()
    channel = serializers.CharField()
    po_number = serializers.CharField()
    payment_method = serializers.CharField()
    payment_status = serializers.CharField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    shipping_method = serializers.CharField()
    pickup_location = serializers.CharField(allow_null=True)
    shipping_address = AddressOutput()
    promised_delivery_date = serializers.DateField(allow_null=True)
    totals = TotalsOutput()
    lines = LineOutput(many=True)
    holds = HoldOutput(many=True)
    shipments = serializers.ListField(child=serializers.DictField(), help_text="Always empty.")


def accepted_order(placed: PlacedOrder, quote_number: str) -> dict[str, Any]:
    order = placed.order
    promised = order.promised_delivery_date
    return {
        "number": order.number,
        "quote": quote_number,
        "status": order.status,
        "fulfillment_status": order.fulfillment_status,
        "return_status": order.return_status,
        "channel": order.channel,
        "po_number": order.po_number,
        "payment_method": order.payment_method,
        "payment_status": order.payment_status,
        "created_at": iso_datetime(order.created_at),
        "updated_at": iso_datetime(order.updated_at),
        "shipping_method": order.shipping_method.code,
        "pickup_location": order.pickup_location.code if order.pickup_location else None,
        "shipping_address": shipping_address(order),
        "promised_delivery_date": promised.isoformat() if promised else None,
        "totals": totals(order),
        "lines": [line_representation(line) for line in placed.lines],
        "holds": [hold_representation(hold) for hold in placed.holds],
        "shipments": [],
    }


class QuoteAcceptView(APIView):
    @extend_schema(
        operation_id="quotes_accept",
        summary="Accept a quote: its draft becomes an order",
        request=AcceptQuoteInput,
        responses={201: AcceptedOrderOutput},
        parameters=[NUMBER, IDEMPOTENCY_HEADER],
    )
    @problem_responses(409, 422)
    def post(self, request: Request, number: str) -> HttpResponse:
        client = request_client(request)
        key = clean_key(request.headers.get("Idempotency-Key"))
        body = AcceptQuoteInput(data=request.data if request.data else {})
        body.is_valid(raise_exception=True)
        scope = client.scope
        fingerprint = request_fingerprint({"accept_quote": number, **body.validated_data})
        rendered: dict[str, str] = {}

        def remember(placed: PlacedOrder) -> None:
            rendered["body"] = json.dumps(accepted_order(placed, number), separators=(",", ":"))
            store_response(
                scope=scope,
                company_id=client.orders_company_id,
                key=key,
                fingerprint=fingerprint,
                status=status.HTTP_201_CREATED,
                body=rendered["body"],
                order_id=placed.order.pk,
            )

        try:
            quotes.accept_quote(
                number=number,
                company_id=None if client.is_storefront else client.orders_company_id,
                actor=client.actor,
                before_commit=remember,
                note=body.validated_data.get("note", ""),
            )
        except quotes.QuoteNotFound as exc:
            raise NotFound() from exc
        except DomainError:
            # A retry of an acceptance that succeeded gets that success back.
            replay = stored_response(scope=scope, key=key, fingerprint=fingerprint)
            if replay is not None:
                return _json(*replay)
            raise
        return _json(status.HTTP_201_CREATED, rendered["body"])
