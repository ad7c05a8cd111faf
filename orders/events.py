"""Append rows to an order's timeline. Call inside the transaction of the change."""

from typing import Any

from core.actors import Actor

from .models import Order, OrderEvent


def record_order_event(
    *,
    order: Order,
    type: str,
    actor: Actor,
    message: str = "",
    payload: dict[str, Any] | None = None,
) -> OrderEvent:
    return OrderEvent.objects.create(
        order=order, type=type, message=message[:300], payload=payload or {}, **actor.as_fields()
    )
