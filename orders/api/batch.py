"""Batch intake for B2B and EDI: ``POST /api/v1/orders/batch/`` places up to
``MAX_BATCH_ORDERS`` orders in one request.

The batch is read whole first: an envelope or an order that breaks the schema (what
would make a single order's request a 400 ``invalid_input``) refuses the whole batch
(422 ``invalid_batch``, naming each bad order by index) and nothing is placed, so a
client's mapping error never leaves half a batch placed. Then each order is placed
exactly as ``POST /api/v1/orders/`` places one (same tenancy, holds, stock and payment
rules), under its own idempotency key and in its own transaction: an order the rules
refuse leaves the others placed, and a retry of the whole batch with the same keys
replays the orders already placed instead of placing them twice. The answer is 200 with
one result per order, in request order: ``status`` 201 and the order's representation,
or the problem (problem+json fields) that refused it.

What a batch shares is everything around the orders: one request, one authentication
and throttle check, one JSON body read, and the reference data placement caches per
process (shipping methods, tax rates). The view is fulfillment's (``fulfillment.api``
renders the order with its shipments); this module is the endpoint's logic.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import APIException, ParseError, ValidationError
from rest_framework.request import Request
from rest_framework.views import APIView

from core.api.errors import handle_exception
from core.api.schema import problem_responses
from core.errors import DomainError, InvalidInput
from orders.placement import PlacedOrder

from .idempotency import clean_key
from .serializers import OrderInput, read_order_input
from .views import place_order_for_client, request_client

MAX_BATCH_ORDERS = 500


class InvalidBatch(InvalidInput):
    """The envelope is not ``{"orders": [...]}``: nothing was placed."""

    code = "invalid_batch"
    status = 422


class BatchTooLarge(InvalidInput):
    """More orders than one batch takes: nothing was placed."""

    code = "batch_too_large"
    status = 413


class BatchItemInput(serializers.Serializer):
    idempotency_key = serializers.CharField(
        max_length=255,
        help_text="This order's own key: a retry with the same key and order replays its "
        "result instead of placing it again (shared with `POST /api/v1/orders/`).",
    )
    order = OrderInput(help_text="The order, as `POST /api/v1/orders/` takes it.")


class BatchInput(serializers.Serializer):
    # At most MAX_BATCH_ORDERS (413 past it): said in words, so that the schema's own
    # limit is not one the API answers with another status than 400 or 422.
    orders = BatchItemInput(
        many=True, allow_empty=False, help_text=f"1 to {MAX_BATCH_ORDERS} orders."
    )


class BatchResultOutput(serializers.Serializer):
    index = serializers.IntegerField(help_text="The order's position in the request.")
    idempotency_key = serializers.CharField()
    status = serializers.IntegerField(
        help_text="201: placed (or replayed); otherwise the problem's status."
    )
    order = serializers.DictField(
        required=False, help_text="With 201: the order, as `POST /api/v1/orders/` answers it."
    )
    problem = serializers.DictField(
        required=False,
        help_text="Otherwise: the problem+json body a single order would have got.",
    )


class BatchOutput(serializers.Serializer):
    placed = serializers.IntegerField(help_text="Results with status 201.")
    refused = serializers.IntegerField(help_text="Results with any other status.")
    results = BatchResultOutput(many=True, help_text="One per order, in request order.")


def read_envelope(data: Any) -> list[tuple[str, Any]]:
    """The request's orders as (idempotency key, order body), or the refusal of the
    batch as a whole: 413 past ``MAX_BATCH_ORDERS``; 422 when it is not ``{"orders":
    [...]}`` with 1 or more items each ``{"idempotency_key": ..., "order": {...}}``
    whose order has the shape ``POST /api/v1/orders/`` takes."""
    if not isinstance(data, dict) or not isinstance(data.get("orders"), list):
        raise InvalidBatch(
            'The body must be {"orders": [...]}, a list of orders.',
            fields={"orders": "a list is required"},
        )
    unknown = sorted(set(data) - {"orders"})
    if unknown:
        raise InvalidBatch(
            f"Unknown member(s): {', '.join(unknown)}.",
            fields=dict.fromkeys(unknown, "unknown member"),
        )
    items = data["orders"]
    if not items:
        raise InvalidBatch("At least one order is required.", fields={"orders": "empty"})
    if len(items) > MAX_BATCH_ORDERS:
        raise BatchTooLarge(
            f"At most {MAX_BATCH_ORDERS} orders per batch ({len(items)} sent): split it.",
            limit=MAX_BATCH_ORDERS,
        )
    read: list[tuple[str, Any]] = []
    errors: dict[str, Any] = {}
    for index, value in enumerate(items):
        try:
            read.append(_item(value))
        except ValidationError as exc:
            errors[f"orders[{index}]"] = exc.detail
        except ParseError as exc:  # nested deeper than the API reads
            errors[f"orders[{index}].order"] = str(exc.detail)
        except InvalidInput as exc:
            errors[f"orders[{index}].idempotency_key"] = exc.message
    if errors:
        raise InvalidBatch(
            f"{len(errors)} of the {len(items)} orders are not valid: nothing was placed.",
            fields=errors,
        )
    return read


def _problem(exc: Exception, context: dict[str, Any]) -> dict[str, Any]:
    response = handle_exception(exc, context)
    assert response is not None  # noqa: S101 - every exception caught below has one
    return dict(response.data)


def _item(value: Any) -> tuple[str, Any]:
    """(idempotency key, order body) of one item; raises ``ValidationError`` for a bad
    shape (the order's as ``POST /api/v1/orders/`` words it), ``InvalidInput`` for a
    bad key."""
    if not isinstance(value, dict):
        raise ValidationError({"non_field_errors": ["Each item is an object."]})
    unknown = sorted(set(value) - {"idempotency_key", "order"})
    if unknown:
        raise ValidationError({name: ["Unknown member."] for name in unknown})
    raw = value.get("idempotency_key")
    if not isinstance(raw, str):
        raise ValidationError({"idempotency_key": ["A string is required."]})
    if "order" not in value:
        raise ValidationError({"order": ["This field is required."]})
    try:
        read_order_input(value["order"])
    except ValidationError as exc:
        raise ValidationError({"order": exc.detail}) from exc
    return clean_key(raw), value["order"]


def place_batch(
    request: Request, render: Callable[[PlacedOrder], dict[str, Any]], context: dict[str, Any]
) -> dict[str, Any]:
    """Place each order of the request in turn (each in its own transaction) and answer
    their results in request order."""
    client = request_client(request)
    results: list[str] = []
    placed = 0
    for index, (key, order) in enumerate(read_envelope(request.data)):
        head = {"index": index, "idempotency_key": key}
        try:
            code, body = place_order_for_client(client, key, order, render)
        except (DomainError, APIException, OperationalError, InterfaceError) as exc:
            # Its problem, as a single order would have got it (a database that could
            # not be reached: 503, send that order again with the same key).
            problem = _problem(exc, context)
            results.append(json.dumps({**head, "status": problem["status"], "problem": problem}))
            continue
        placed += 1
        # The order's body is already JSON (stored with its key): spliced in as is.
        results.append(json.dumps({**head, "status": code})[:-1] + ',"order":' + body + "}")
    return {"placed": placed, "results": results}


class OrderBatchView(APIView):
    """``POST /api/v1/orders/batch/``; the subclass in ``fulfillment.api.orders`` gives
    ``render`` (the create response of one order)."""

    @staticmethod
    def render(placed: PlacedOrder) -> dict[str, Any]:
        raise NotImplementedError

    @extend_schema(
        summary="Place up to 500 orders in one request",
        description=(
            "Each order is placed as `POST /api/v1/orders/` places one, under its own "
            "idempotency key and in its own transaction: a refused order leaves the others "
            "placed. The answer is 200 with one result per order, in request order. Send a "
            "batch that failed as a whole (5xx, a dropped connection) again with the same "
            "keys: placed orders are replayed, not placed twice."
        ),
        request=BatchInput,
        responses={200: BatchOutput},
    )
    @problem_responses(422)
    def post(self, request: Request) -> HttpResponse:
        outcome = place_batch(request, type(self).render, self.get_exception_handler_context())
        results = outcome["results"]
        placed = outcome["placed"]
        body = (
            f'{{"placed":{placed},"refused":{len(results) - placed},"results":['
            + ",".join(results)
            + "]}"
        )
        return HttpResponse(body, status=status.HTTP_200_OK, content_type="application/json")
