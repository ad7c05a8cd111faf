"""The pieces every return step shares: the locks, the transition check, the order's
return buckets and the outbox. The services (``returns.services``,
``returns.resolution``, ``returns.tracking``) call them inside their transaction."""

from __future__ import annotations

from django.contrib.auth import get_user_model

from core import outbox
from core.actors import Actor, ActorKind
from core.errors import InvalidTransition, NotAllowed, NotFound
from orders.models import Order, OrderLine, derive_return_status
from orders.services import order_for_update

from .models import ReturnRequest, ReturnStatus, can_transition


class ReturnNotFound(NotFound):
    code = "return_not_found"


def check_permission(actor: Actor, permission: str) -> None:
    """Staff users need the permission; the system and API clients act by their rules."""
    if actor.kind != ActorKind.USER:
        return
    user = get_user_model().objects.filter(pk=actor.user_id or 0, is_active=True).first()
    if user is None or not user.has_perm(permission):
        raise NotAllowed("You are not allowed to do this to return requests.")


def locked_request(request_id: int) -> ReturnRequest:
    """The order's row lock, then the request read under it."""
    order_id = (
        ReturnRequest.objects.filter(pk=request_id).values_list("order_id", flat=True).first()
    )
    if order_id is None:
        raise ReturnNotFound("No such return request.")
    order = order_for_update(order_id)
    request = ReturnRequest.objects.select_related("destination").get(pk=request_id)
    request.order = order
    return request


def set_return_status(order: Order) -> None:
    lines = list(OrderLine.objects.filter(order=order))
    status = derive_return_status(lines)
    if order.return_status != status:
        order.return_status = status
        order.save(update_fields=["return_status", "updated_at"])


def release_requested(request: ReturnRequest) -> None:
    """Give the units still expected back to the lines' returnable quantity."""
    changed = []
    for line in request.lines.select_related("order_line"):
        outstanding = line.quantity_outstanding
        if outstanding:
            order_line = line.order_line
            order_line.quantity_return_requested -= outstanding
            changed.append(order_line)
    if changed:
        OrderLine.objects.bulk_update(changed, ["quantity_return_requested"])


def move_return(request: ReturnRequest, new: str) -> None:
    """Move the request to ``new`` if its transition table allows it (under the lock)."""
    if not can_transition(request.status, new):
        raise InvalidTransition(
            f"Return {request.number} is {request.get_status_display().lower()}; it cannot "
            f"become {ReturnStatus(new).label.lower()}.",
            status=request.status,
        )
    request.status = new
    request.save(update_fields=["status", "updated_at"])


def emit_return(topic: str, request: ReturnRequest) -> None:
    outbox.emit(
        topic,
        {"return_id": request.pk, "number": request.number, "order_id": request.order_id},
    )
