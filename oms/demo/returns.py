"""The demo's returns: the return requests behind its history's returned units, and a
handful of open returns in every state.

Historical orders (``orders.services.import_historical_order``) arrive with their
returned units already counted (``OrderLine.quantity_returned``) and the order's return
status derived from them. Each such order gets the return request it had: one RMA for
its returned lines, with a reason from the seeded list, sent by mail to the location the
destination rule picks (``returns.destination.choose_destination``), received there and
inspected (damaged units set aside as damaged, the others restocked), and closed unless
it came back in the last days. These are records of the past, written as rows rather
than through ``returns.services``: the services would refuse them (the return window of
old orders has closed), move the order lines' buckets a second time, emit outbox events
(e-mails to customers about returns long done) and move stock through the ledger, where
the import moved none for these orders. So the requests, lines, receipts, inspections
and the steps of the return's history are written dated when they happened, and no
stock moves; on the order's timeline the steps are entries of the seed, as the import's
own entry is, each dated and saying the day it happened.

The open returns are real: recent delivered orders get returns asked, approved, sent
back, received, rejected and closed through ``returns.services`` by the demo's agent and
warehouse users, so their units, stock and outbox events are those of any return. Each
carries an idempotency key of the seed; they are seeded once, so a second run (or one
asking for more orders) adds none.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import models, transaction
from django.db.models import Case, Value, When

from core.actors import Actor
from orders.models import Order, OrderEvent, OrderEventType, OrderLine, OrderStatus
from orders.models import ReturnStatus as OrderReturnStatus
from returns import services
from returns.destination import choose_destination
from returns.events import ORDER_EVENT_TYPES
from returns.models import (
    Condition,
    Disposition,
    ReturnEvent,
    ReturnEventType,
    ReturnInspection,
    ReturnLine,
    ReturnMethod,
    ReturnReason,
    ReturnReceipt,
    ReturnRequest,
    ReturnStatus,
)

from . import live
from .common import SEED_ACTOR, StepResult, batched, pick, rng

HISTORY_BATCH = 200
# Why the history's units came back, weighted.
HISTORY_REASONS = (
    ("size_fit", 30),
    ("no_longer_needed", 30),
    ("damaged", 15),
    ("not_as_described", 15),
    ("wrong_item", 10),
)
# A historical return received this recently is inspected but not closed yet.
CLOSE_AFTER = dt.timedelta(days=2)
HISTORY_NOTE = "Recorded from the order history of the previous system."

# The open returns: the state each is left in and the reason it is asked for.
OPEN_RETURNS = (
    ("requested", "no_longer_needed"),
    ("requested", "size_fit"),
    ("approved", "damaged"),  # the policy approves it
    ("approved", "not_as_described"),  # an agent approves it
    ("in_transit", "size_fit"),
    ("in_transit", "wrong_item"),
    ("received", "damaged"),
    ("received", "no_longer_needed"),
    ("rejected", "no_longer_needed"),
    ("rejected", "size_fit"),
    ("closed", "wrong_item"),
)
OPEN_CLIENT_SCOPE = "demo seed"
# Open returns are asked on orders delivered this recently, well within the window.
OPEN_DELIVERED_WITHIN = dt.timedelta(days=20)


def seed_returns(result: StepResult, *, now: dt.datetime) -> None:
    history_returns(result, now=now)
    open_returns(result, now=now)


# --- the history --------------------------------------------------------------------


def history_to_return() -> list[int]:
    """Imported orders with returned units and no return request: oldest first."""
    return list(
        Order.objects.filter(
            events__type=OrderEventType.IMPORTED,
            events__actor_label=SEED_ACTOR.label,
            lines__quantity_returned__gt=0,
            return_requests__isnull=True,
        )
        .distinct()
        .order_by("placed_at", "id")
        .values_list("pk", flat=True)
    )


def history_returns(result: StepResult, *, now: dt.datetime) -> None:
    result.existing += ReturnRequest.objects.filter(decision_note=HISTORY_NOTE).count()
    reasons = {reason.code: reason for reason in ReturnReason.objects.all()}
    for chunk in batched(history_to_return(), HISTORY_BATCH):
        with transaction.atomic():
            result.created += _record_history(chunk, reasons, now)


@dataclass
class _Past:
    """One historical return being written: its rows and when each step happened."""

    order: Order
    request: ReturnRequest
    lines: list[ReturnLine]
    requested_at: dt.datetime
    received_at: dt.datetime
    closed_at: dt.datetime | None


def _plan(order: Order, reasons: dict[str, ReturnReason], now: dt.datetime) -> _Past:
    r = rng("return", order.number)
    returned = [line for line in order.lines.all() if line.quantity_returned > 0]
    delivered = order.completed_at or order.placed_at or order.created_at
    latest = now - dt.timedelta(hours=1)
    requested_at = min(
        delivered + dt.timedelta(days=r.randint(1, 10), hours=r.randint(0, 9)), latest
    )
    received_at = min(requested_at + dt.timedelta(days=r.randint(3, 8)), latest)
    closed_at = received_at + CLOSE_AFTER if received_at + CLOSE_AFTER <= now else None
    destination, reason = choose_destination(
        order, {line.product_id for line in returned}, [line.sku for line in returned]
    )
    request = ReturnRequest(
        number=f"history-{order.pk}",
        order=order,
        customer_id=order.customer_id,
        company_id=order.company_id,
        status=ReturnStatus.CLOSED if closed_at else ReturnStatus.INSPECTED,
        method=ReturnMethod.MAIL,
        destination=destination,
        destination_reason=reason,
        decision_note=HISTORY_NOTE,
    )
    lines = [
        ReturnLine(
            request=request,
            order_line=line,
            quantity=line.quantity_returned,
            quantity_received=line.quantity_returned,
            reason=reasons[pick(r, HISTORY_REASONS)],
        )
        for line in returned
    ]
    return _Past(order, request, lines, requested_at, received_at, closed_at)


def _inspection(line: ReturnLine, receipt: ReturnReceipt) -> ReturnInspection:
    damaged = line.reason.code == "damaged"
    return ReturnInspection(
        receipt=receipt,
        line=line,
        quantity=line.quantity,
        condition=Condition.DAMAGED if damaged else Condition.OPENED,
        disposition=Disposition.DAMAGED if damaged else Disposition.RESTOCK,
    )


def _steps(past: _Past) -> list[tuple[str, str, dict[str, Any], dt.datetime]]:
    """The return's steps: type, message, payload, when."""
    request = past.request
    units = ", ".join(f"{line.order_line.sku} × {line.quantity}" for line in past.lines)
    steps: list[tuple[str, str, dict[str, Any], dt.datetime]] = [
        (
            ReturnEventType.REQUESTED,
            "requested for "
            + ", ".join(
                f"{line.order_line.sku} × {line.quantity} ({line.reason.label})"
                for line in past.lines
            )
            + f"; to {request.destination.code}",
            {
                "lines": [
                    {
                        "sku": line.order_line.sku,
                        "quantity": line.quantity,
                        "reason": line.reason.code,
                    }
                    for line in past.lines
                ],
                "method": request.method,
                "destination": request.destination.code,
                "destination_reason": request.destination_reason,
            },
            past.requested_at,
        ),
        (ReturnEventType.APPROVED, "approved", {"auto": False}, past.requested_at),
        (
            ReturnEventType.RECEIVED,
            f"received at {request.destination.code}: {units} (no stock moved: history)",
            {
                "receipt": f"history-{request.pk}",
                "location": request.destination.code,
            },
            past.received_at,
        ),
    ]
    if past.closed_at is not None:
        steps.append((ReturnEventType.CLOSED, "closed", {}, past.closed_at))
    return steps


def _date(model: type[models.Model], field: str, when: dict[int, dt.datetime]) -> None:
    """Set ``field`` of the rows by id, in one query a batch (``auto_now_add`` fields)."""
    for chunk in batched(list(when), HISTORY_BATCH):
        model._default_manager.filter(pk__in=chunk).update(
            **{
                field: Case(
                    *[When(pk=pk, then=Value(when[pk])) for pk in chunk],
                    output_field=models.DateTimeField(),
                )
            }
        )


def _record_history(
    order_ids: Sequence[int], reasons: dict[str, ReturnReason], now: dt.datetime
) -> int:
    orders = (
        Order.objects.filter(pk__in=order_ids)
        .prefetch_related(models.Prefetch("lines", OrderLine.objects.order_by("line_number")))
        .order_by("placed_at", "id")
    )
    pasts = [_plan(order, reasons, now) for order in orders]
    requests = ReturnRequest.objects.bulk_create([p.request for p in pasts])
    for past in pasts:
        past.request.number = f"RMA-{past.requested_at.year}-{past.request.pk:06d}"
    ReturnRequest.objects.bulk_update(requests, ["number"])
    ReturnLine.objects.bulk_create([line for p in pasts for line in p.lines])
    receipts = {
        p.request.pk: ReturnReceipt(
            request=p.request,
            token=f"history-{p.request.pk}",
            location=p.request.destination,
            **SEED_ACTOR.as_fields(),
        )
        for p in pasts
    }
    ReturnReceipt.objects.bulk_create(receipts.values())
    ReturnInspection.objects.bulk_create(
        [_inspection(line, receipts[p.request.pk]) for p in pasts for line in p.lines]
    )
    return_events: list[tuple[ReturnEvent, dt.datetime]] = []
    order_events: list[OrderEvent] = []
    for past in pasts:
        for type, message, extra, when in _steps(past):
            payload = {"return": past.request.number, "step": type, **extra}
            return_events.append(
                (
                    ReturnEvent(
                        request=past.request,
                        type=type,
                        message=message[:300],
                        payload=payload,
                        **SEED_ACTOR.as_fields(),
                    ),
                    when,
                )
            )
            # On the order's timeline, like the import's own entry, the step is an
            # entry of the seed dated when it happened.
            order_events.append(
                OrderEvent(
                    order=past.order,
                    type=ORDER_EVENT_TYPES[type],
                    message=f"Return {past.request.number} ({when:%Y-%m-%d}): {message}"[:300],
                    payload={**payload, "at": when.isoformat()},
                    **SEED_ACTOR.as_fields(),
                )
            )
    ReturnEvent.objects.bulk_create([event for event, _ in return_events])
    OrderEvent.objects.bulk_create(order_events)
    _date(
        OrderEvent,
        "created_at",
        {entry.pk: when for entry, (_, when) in zip(order_events, return_events, strict=True)},
    )
    _date(ReturnRequest, "created_at", {p.request.pk: p.requested_at for p in pasts})
    _date(ReturnRequest, "updated_at", {p.request.pk: p.closed_at or p.received_at for p in pasts})
    _date(ReturnReceipt, "created_at", {receipts[p.request.pk].pk: p.received_at for p in pasts})
    _date(ReturnEvent, "created_at", {event.pk: when for event, when in return_events})
    return len(pasts)


# --- open returns, through the services -----------------------------------------------


def _open_candidates(now: dt.datetime) -> list[Order]:
    """Recently delivered historical orders with nothing returned or asked back: newest
    first."""
    return list(
        Order.objects.filter(
            events__type=OrderEventType.IMPORTED,
            events__actor_label=SEED_ACTOR.label,
            status=OrderStatus.COMPLETED,
            completed_at__gte=now - OPEN_DELIVERED_WITHIN,
            return_status=OrderReturnStatus.NONE,
            return_requests__isnull=True,
            lines__product__is_returnable=True,
            lines__quantity_delivered__gt=0,
        )
        .distinct()
        .order_by("-completed_at", "-id")
        .prefetch_related("lines__product")
    )


def _returnable_line(order: Order) -> OrderLine | None:
    lines = [
        line
        for line in order.lines.all()
        if line.product.is_returnable and line.quantity_delivered > line.quantity_returned
    ]
    return max(lines, key=lambda line: (line.quantity_delivered, -line.pk)) if lines else None


def open_returns(result: StepResult, *, now: dt.datetime) -> None:
    keys = [f"demo-return-{index}" for index in range(len(OPEN_RETURNS))]
    done = set(
        ReturnRequest.objects.filter(
            client_scope=OPEN_CLIENT_SCOPE, idempotency_key__in=keys
        ).values_list("idempotency_key", flat=True)
    )
    result.existing += len(done)
    if done:
        # Seeded once: a second run, or one asking for more orders, leaves them be
        # (what a small data set could not place stays unplaced).
        return
    users = live.staff_users()
    agent = live.staff_actor(users, "agent")
    warehouse = live.staff_actor(users, "warehouse")
    candidates = [
        (order, line) for order in _open_candidates(now) if (line := _returnable_line(order))
    ]
    for key, (state, reason) in zip(keys, OPEN_RETURNS, strict=True):
        if key in done:
            continue
        if not candidates:
            return  # a small demo has fewer recent orders than open returns
        # A partly received return wants a line of two units or more, if there is one.
        wanted = 2 if state == "received" else 1
        index = next(
            (
                i
                for i, (_, line) in enumerate(candidates)
                if line.quantity_delivered - line.quantity_returned >= wanted
            ),
            0,
        )
        order, line = candidates.pop(index)
        with transaction.atomic():
            _open_return(order, line, key, state, reason, agent=agent, warehouse=warehouse)
        result.created += 1


def _open_return(
    order: Order,
    line: OrderLine,
    key: str,
    state: str,
    reason: str,
    *,
    agent: Actor,
    warehouse: Actor,
) -> None:
    r = rng("open return", key)
    returnable = line.quantity_delivered - line.quantity_returned
    # A partly received return asks for two units and one arrives.
    quantity = min(returnable, 2) if state == "received" else r.randint(1, min(returnable, 2))
    request = services.request_return(
        order=order,
        lines=[
            services.ReturnLineInput(order_line_id=line.pk, quantity=quantity, reason_code=reason)
        ],
        method=ReturnMethod.MAIL,
        actor=agent,
        note="Asked on the phone.",
        client_scope=OPEN_CLIENT_SCOPE,
        idempotency_key=key,
    )
    if state == "requested":
        return
    if state == "rejected":
        services.reject_return(
            request_id=request.pk, actor=agent, reason="The item shows signs of use."
        )
        return
    if request.status == ReturnStatus.REQUESTED:
        services.approve_return(request_id=request.pk, actor=agent)
    if state == "approved":
        return
    tracking = f"1Z{r.randint(10**15, 10**16 - 1)}"
    services.mark_return_in_transit(request_id=request.pk, actor=agent, tracking_number=tracking)
    if state == "in_transit":
        return
    damaged = reason == "damaged"
    return_line = request.lines.get()
    services.receive_return(
        request_id=request.pk,
        token=key,
        location=request.destination,
        units=[
            services.ReceivedUnits(
                line_id=return_line.pk,
                quantity=1 if state == "received" else quantity,
                condition=Condition.DAMAGED if damaged else Condition.OPENED,
                disposition=Disposition.DAMAGED if damaged else Disposition.RESTOCK,
            )
        ],
        actor=warehouse,
    )
    if state == "closed":
        services.close_return(request_id=request.pk, actor=agent)
