"""Batch intake for B2B and EDI: ``POST /api/v1/orders/batch/`` places up to
``MAX_BATCH_ORDERS`` orders in one request.

The batch is read whole first: an envelope or an order that breaks the schema (what
would make a single order's request a 400 ``invalid_input``) refuses the whole batch
(422 ``invalid_batch``, naming each bad order by index) and nothing is placed, so a
client's mapping error never leaves half a batch placed. Then each order is placed
with the outcome ``POST /api/v1/orders/`` would give it after the orders before it
(same tenancy, holds, stock and payment rules), under its own idempotency key: an order
the rules refuse writes nothing and leaves the others placed, and a retry of the whole
batch with the same keys replays the orders already placed instead of placing them
twice. The answer is 200 with one result per order, in request order: ``status`` 201
and the order's representation, or the problem (problem+json fields) that refused it.

A company's orders are placed set-based, a chunk of up to ``CHUNK_SIZE`` per
transaction (``orders.batch_placement``: one statement per step for the whole chunk);
the idempotency records of a chunk are claimed, filled and (for an order refused after
claiming) removed here, in the chunk's transaction, as ``orders.api.views`` does for
one order. Pickup and store-credit orders, and the storefront's, are placed one at a
time. The view is fulfillment's (``fulfillment.api`` renders the order with its
shipments); this module is the endpoint's logic.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import InterfaceError, OperationalError, connection
from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import APIException, ParseError, ValidationError
from rest_framework.request import Request
from rest_framework.views import APIView

from core import rows
from core.api.errors import handle_exception
from core.api.schema import problem_responses
from core.errors import DomainError, InvalidInput
from customers.api.authentication import ApiClient
from orders import batch_placement, sql
from orders.batch_placement import place_order_chunk
from orders.models import IdempotencyKey
from orders.placement import OrderRequest, PlacedOrder

from .idempotency import IdempotencyKeyReused, clean_key, request_fingerprint
from .serializers import OrderInput, read_order_input
from .views import order_request, place_order_for_client, request_client

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


@dataclass(frozen=True)
class BatchItem:
    """One order of a batch, as read: its key, its body as sent (whose fingerprint its
    key remembers) and the body validated (``read_order_input``)."""

    key: str
    body: Any
    order: dict[str, Any]


def read_envelope(data: Any) -> list[BatchItem]:
    """The request's orders, or the refusal of the batch as a whole: 413 past
    ``MAX_BATCH_ORDERS``; 422 when it is not ``{"orders": [...]}`` with 1 or more items
    each ``{"idempotency_key": ..., "order": {...}}`` whose order has the shape
    ``POST /api/v1/orders/`` takes."""
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
    read: list[BatchItem] = []
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


def _item(value: Any) -> BatchItem:
    """One item read; raises ``ValidationError`` for a bad shape (the order's as
    ``POST /api/v1/orders/`` words it), ``InvalidInput`` for a bad key."""
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
        validated = read_order_input(value["order"])
    except ValidationError as exc:
        raise ValidationError({"order": exc.detail}) from exc
    return BatchItem(clean_key(raw), value["order"], validated)


Render = Callable[[PlacedOrder], dict[str, Any]]


class _Results:
    """The batch's answer, one JSON text per order in request order."""

    def __init__(self, size: int, context: dict[str, Any]) -> None:
        self.texts: list[str] = [""] * size
        self.placed = 0
        self.context = context

    def order(self, index: int, key: str, code: int, body: str) -> None:
        self.placed += 1
        # The order's body is already JSON (stored with its key): spliced in as is.
        head = json.dumps({"index": index, "idempotency_key": key, "status": code})
        self.texts[index] = head[:-1] + ',"order":' + body + "}"

    def problem(self, index: int, key: str, exc: Exception) -> None:
        # Its problem, as a single order would have got it (a database that could not
        # be reached: 503, send that order again with the same key).
        problem = _problem(exc, self.context)
        head = {"index": index, "idempotency_key": key, "status": problem["status"]}
        self.texts[index] = json.dumps({**head, "problem": problem})


class _ChunkKeys:
    """The idempotency records of a chunk's orders (``batch_placement.RequestKeys``):
    claimed together before any stock row is locked, each placed order's response
    stored before commit, as ``place_order_for_client`` stores one order's."""

    def __init__(self, client: ApiClient, items: list[BatchItem], render: Render) -> None:
        self.scope = client.scope
        self.company_id = client.orders_company_id
        self.items = items
        self.fingerprints = [request_fingerprint(item.body) for item in items]
        self.render = render
        self.bodies: dict[int, str] = {}

    def claim(self, indexes: Sequence[int]) -> set[int]:
        keys = [self.items[i].key for i in indexes]
        hashes = [self.fingerprints[i] for i in indexes]
        params = [self.scope, self.company_id, timezone.now(), keys, hashes]
        inserted = {row[0] for row in rows.fetch(sql.idempotency_keys_claim_sql(), params)}
        return {i for i in indexes if self.items[i].key not in inserted}

    def record(self, placed: Mapping[int, PlacedOrder], released: Sequence[int]) -> None:
        with connection.cursor() as cursor:
            if placed:
                for index, outcome in placed.items():
                    body = json.dumps(self.render(outcome), separators=(",", ":"))
                    self.bodies[index] = body
                responses = [
                    [self.items[i].key, self.bodies[i], placed[i].order.pk] for i in sorted(placed)
                ]
                cursor.execute(
                    sql.idempotency_responses_update_sql(), [json.dumps(responses), self.scope]
                )
            if released:
                cursor.execute(
                    sql.idempotency_keys_release_sql(),
                    [self.scope, [self.items[i].key for i in released]],
                )

    def stored(self, indexes: Sequence[int]) -> dict[int, tuple[int, str] | Exception]:
        """What the keys of these refused orders remember, once the chunk is over: the
        response to replay, or the refusal of a key used with another body (as
        ``stored_response`` answers a single order)."""
        keys = {self.items[i].key for i in indexes}
        found = {
            row["key"]: row
            for row in IdempotencyKey.objects.filter(scope=self.scope, key__in=keys).values(
                "key", "request_hash", "response_status", "response_body"
            )
        }
        answers: dict[int, tuple[int, str] | Exception] = {}
        for index in indexes:
            row = found.get(self.items[index].key)
            if row is None:
                continue
            if row["request_hash"] != self.fingerprints[index]:
                answers[index] = IdempotencyKeyReused(
                    "This Idempotency-Key was already used with a different request body."
                )
            else:
                answers[index] = (row["response_status"], row["response_body"])
        return answers


def _place_one(
    client: ApiClient, index: int, item: BatchItem, render: Render, results: _Results
) -> None:
    try:
        code, body = place_order_for_client(client, item.key, item.body, render)
    except (DomainError, APIException, OperationalError, InterfaceError) as exc:
        results.problem(index, item.key, exc)
        return
    results.order(index, item.key, code, body)


def _place_chunk(
    client: ApiClient,
    chunk: list[tuple[int, BatchItem, OrderRequest]],
    render: Render,
    results: _Results,
) -> None:
    items = [item for _, item, _ in chunk]
    keys = _ChunkKeys(client, items, render)
    try:
        outcomes = place_order_chunk(
            requests=[request for _, _, request in chunk], actor=client.actor, keys=keys
        )
    except (OperationalError, InterfaceError) as exc:
        for index, item, _ in chunk:
            results.problem(index, item.key, exc)
        return
    refused = [i for i, outcome in enumerate(outcomes) if not isinstance(outcome, PlacedOrder)]
    # A retry of an order that already succeeded gets that success back, even if it
    # would fail now (as for a single order).
    stored = keys.stored(refused) if refused else {}
    for position, ((index, item, _), outcome) in enumerate(zip(chunk, outcomes, strict=True)):
        answer = stored.get(position)
        if isinstance(outcome, PlacedOrder):
            results.order(index, item.key, status.HTTP_201_CREATED, keys.bodies[position])
        elif isinstance(answer, tuple):
            results.order(index, item.key, *answer)
        else:
            results.problem(index, item.key, answer or outcome)


def place_batch(request: Request, render: Render, context: dict[str, Any]) -> dict[str, Any]:
    """Place the request's orders and answer their results in request order.

    A company's orders are placed set-based, up to ``CHUNK_SIZE`` per transaction
    (``orders.batch_placement``), each with the outcome it would have had placed alone
    after the ones before it; pickup and store-credit orders, the storefront's (each
    names its shopper) and every order on a database without the chunks' statements
    are placed one at a time, each in its own transaction. A chunk ends before an order
    whose key an order of it already has, so the second is answered as a retry of
    the first."""
    client = request_client(request)
    items = read_envelope(request.data)
    results = _Results(len(items), context)
    if client.is_storefront or not batch_placement.supported():
        for index, item in enumerate(items):
            _place_one(client, index, item, render, results)
        return {"placed": results.placed, "results": results.texts}
    buyer = client.buyer
    chunk: list[tuple[int, BatchItem, OrderRequest]] = []
    keys: set[str] = set()

    def flush() -> None:
        if chunk:
            _place_chunk(client, list(chunk), render, results)
        chunk.clear()
        keys.clear()

    for index, item in enumerate(items):
        order = order_request(client, buyer, item.order)
        if batch_placement.sets_apart(order):
            flush()
            _place_one(client, index, item, render, results)
            continue
        if item.key in keys or len(chunk) >= batch_placement.CHUNK_SIZE:
            flush()
        chunk.append((index, item, order))
        keys.add(item.key)
    flush()
    return {"placed": results.placed, "results": results.texts}


class OrderBatchView(APIView):
    """``POST /api/v1/orders/batch/``; the subclass in ``fulfillment.api.orders`` gives
    ``render`` (the create response of one order)."""

    @staticmethod
    def render(placed: PlacedOrder) -> dict[str, Any]:
        raise NotImplementedError

    @extend_schema(
        summary="Place up to 500 orders in one request",
        description=(
            "Each order gets the outcome `POST /api/v1/orders/` would give it after the "
            "orders before it, under its own idempotency key: a refused order writes "
            "nothing and leaves the others placed. The answer is 200 with one result per "
            "order, in request order. Send a batch that failed as a whole (5xx, a dropped "
            "connection) again with the same keys: placed orders are replayed, not placed "
            "twice."
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
