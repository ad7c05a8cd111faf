"""Append a step to a return's history and to its order's timeline, in the transaction
of the change."""

from typing import Any

from core.actors import Actor
from orders.events import record_order_event
from orders.models import OrderEventType

from .models import ReturnEvent, ReturnEventType, ReturnRequest

# Each step of a return has its own type on the order's timeline.
ORDER_EVENT_TYPES: dict[str, str] = {
    ReturnEventType.REQUESTED: OrderEventType.RETURN_REQUESTED,
    ReturnEventType.APPROVED: OrderEventType.RETURN_APPROVED,
    ReturnEventType.REJECTED: OrderEventType.RETURN_REJECTED,
    ReturnEventType.CANCELLED: OrderEventType.RETURN_CANCELLED,
    ReturnEventType.IN_TRANSIT: OrderEventType.RETURN_IN_TRANSIT,
    ReturnEventType.RECEIVED: OrderEventType.RETURN_RECEIVED,
    ReturnEventType.CLOSED: OrderEventType.RETURN_CLOSED,
    ReturnEventType.TRACKING: OrderEventType.RETURN_TRACKING,
    ReturnEventType.PICKUP: OrderEventType.RETURN_TRACKING,
    ReturnEventType.REFUNDED: OrderEventType.RETURN_REFUNDED,
    ReturnEventType.REFUND_BLOCKED: OrderEventType.NOTE,
    ReturnEventType.EXCHANGE: OrderEventType.RETURN_EXCHANGE,
}


def record_return_event(
    *,
    request: ReturnRequest,
    type: str,
    actor: Actor,
    message: str,
    payload: dict[str, Any] | None = None,
) -> ReturnEvent:
    payload = {"return": request.number, "step": type, **(payload or {})}
    record_order_event(
        order=request.order,
        type=ORDER_EVENT_TYPES[type],
        actor=actor,
        message=f"Return {request.number}: {message}",
        payload=payload,
    )
    return ReturnEvent.objects.create(
        request=request, type=type, message=message[:300], payload=payload, **actor.as_fields()
    )
