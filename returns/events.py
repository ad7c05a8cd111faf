"""Append a step to a return's history and to its order's timeline, in the transaction
of the change."""

from typing import Any

from core.actors import Actor
from orders.events import record_order_event
from orders.models import OrderEventType

from .models import ReturnEvent, ReturnRequest


def record_return_event(
    *,
    request: ReturnRequest,
    type: str,
    actor: Actor,
    message: str,
    payload: dict[str, Any] | None = None,
) -> ReturnEvent:
    payload = {"return": request.number, "step": type, **(payload or {})}
    # The order's timeline has no return event types of its own: the step is a note
    # whose payload names the return and the step.
    record_order_event(
        order=request.order,
        type=OrderEventType.NOTE,
        actor=actor,
        message=f"Return {request.number}: {message}",
        payload=payload,
    )
    return ReturnEvent.objects.create(
        request=request, type=type, message=message[:300], payload=payload, **actor.as_fields()
    )
