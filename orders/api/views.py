"""What the order endpoints need of orders alone: placing an order from a request, at
most once per idempotency key, and finding a client's order by its number. The order
resource's views (reads, cancel, change of destination) are in ``fulfillment.api.orders``:
they render the order with its shipments."""

import json
from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.http import HttpResponse
from drf_spectacular.utils import OpenApiParameter
from rest_framework import status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request

from core.errors import DomainError
from customers.api.authentication import ApiClient
from customers.models import Customer
from customers.services import register_shopper
from orders.placement import LineRequest, OrderRequest, PlacedOrder, place_order
from orders.selectors import list_company_orders

from .idempotency import (
    clean_key,
    request_fingerprint,
    store_response,
    stored_response,
    update_response,
)
from .serializers import read_order_input

IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    required=True,
    description="Any unique string; retries with the same key and body return the same order.",
)


def request_client(request: Request) -> ApiClient:
    """The API client of an authenticated request (the views' permission class ensures one)."""
    user = request.user
    assert isinstance(user, ApiClient)  # noqa: S101 - guaranteed by IsApiClient
    return user


def client_order_id(client: ApiClient, number: str) -> int:
    """The id of the client's order ``number``; 404 for anything it may not see (another
    tenant's order, a draft)."""
    order_id = (
        list_company_orders(client.orders_company_id)
        .filter(number=number)
        .values_list("pk", flat=True)
        .first()
    )
    if order_id is None:
        raise NotFound()
    return int(order_id)


def _json(status_code: int, body: str) -> HttpResponse:
    return HttpResponse(body, status=status_code, content_type="application/json")


def place_order_from_request(
    request: Request, *, render: Callable[[PlacedOrder], dict[str, Any]]
) -> HttpResponse:
    """Place the order the request's body describes for its API client: 201 with
    ``render(placed)`` (the order resource's representation) as the body. The body is
    stored with the ``Idempotency-Key`` before the order commits, so a retry with the
    same key and body gets the same answer, even once the order could not be placed
    again (stock sold since); a refusal raises the domain or validation error."""
    key = clean_key(request.headers.get("Idempotency-Key"))
    return _json(*place_order_for_client(request_client(request), key, request.data, render))


def place_order_for_client(
    client: ApiClient,
    key: str,
    data: Any,
    render: Callable[[PlacedOrder], dict[str, Any]],
) -> tuple[int, str]:
    """``place_order_from_request`` without the HTTP around it: (status, JSON body) of
    the order ``data`` describes placed under idempotency key ``key`` (one transaction),
    or a replay of the key's stored answer; raises the refusal (``DomainError`` or
    ``ValidationError``). The batch endpoint calls it once per order."""
    fingerprint = request_fingerprint(data)
    scope = client.scope
    company_id = client.orders_company_id
    rendered: dict[str, str] = {}

    def remember(placed: PlacedOrder) -> None:
        body = render(placed)
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
            order_id=placed.order.pk,
        )

    try:
        validated = read_order_input(data)
        if client.is_storefront:
            _place_for_shopper(client, validated, remember)
        else:
            place_order(
                request=order_request(client, client.buyer, validated),
                actor=client.actor,
                before_commit=remember,
            )
    except (DomainError, ValidationError):
        # A retry of a request that already succeeded gets that success back,
        # even if it would fail now (stock sold since, for instance).
        replay = stored_response(scope=scope, key=key, fingerprint=fingerprint)
        if replay is not None:
            return replay
        raise
    return status.HTTP_201_CREATED, rendered["body"]


def _place_for_shopper(client: ApiClient, data: dict[str, Any], remember: Any) -> None:
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
            request=order_request(client, customer, data, channel="web"),
            actor=client.actor,
            before_commit=remember,
        )


def order_request(
    client: ApiClient, customer: Customer, data: dict[str, Any], channel: str = "b2b_api"
) -> OrderRequest:
    """The placement request of a validated order body (``read_order_input``)."""
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
            LineRequest(sku=li["sku"], quantity=li["quantity"], customization=li["customization"])
            for li in data["lines"]
        ],
        payment_method=data.get("payment", {}).get("method", ""),
        payment_token=data.get("payment", {}).get("token", ""),
        payment_authorisation=data.get("payment", {}).get("authorisation", ""),
    )
