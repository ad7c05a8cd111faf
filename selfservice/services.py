"""What the customer does on the status page that no other app's service records: their
confirmation that a held order's address is right.

Every other action of the page calls the service the console uses (cancel, re-route,
request a return, authorise a card) with ``customer_actor``, so the order's timeline
shows the customer as who acted.
"""

from __future__ import annotations

from django.db import transaction

from core.actors import Actor, ActorKind
from core.errors import Conflict
from orders.events import record_order_event
from orders.models import HoldKind, Order, OrderEvent, OrderEventType, OrderHold, OrderStatus
from orders.services import order_for_update

OPEN = (OrderStatus.PLACED, OrderStatus.PROCESSING)


class NoAddressToConfirm(Conflict):
    code = "no_address_to_confirm"


def customer_actor(order: Order) -> Actor:
    """The customer of ``order``, as the page knows them: by the order's e-mail."""
    return Actor(kind=ActorKind.CUSTOMER, label=order.email[:150] or order.number)


@transaction.atomic
def confirm_address(*, order_id: int, actor: Actor) -> OrderEvent:
    """The customer says the held order's delivery address is right as it stands.

    Preconditions: the order is placed or processing and has an open address hold
    (else ``NoAddressToConfirm``, 409). The hold stays: address holds are released by an
    agent or a manager (``orders.models.HOLD_RELEASED_BY``), and the hold rules release
    one themselves only when a changed address clears the condition, which a
    confirmation does not. Side effect: one note on the order's timeline, by ``actor``,
    with the address confirmed, for the agent who releases the hold."""
    order = order_for_update(order_id)
    hold = OrderHold.objects.filter(
        order=order, kind=HoldKind.ADDRESS, released_at__isnull=True
    ).first()
    if order.status not in OPEN or hold is None:
        raise NoAddressToConfirm(f"Order {order.number} has no delivery address to confirm.")
    return record_order_event(
        order=order,
        type=OrderEventType.NOTE,
        actor=actor,
        message=f"The customer confirmed the delivery address: {order.ship_to_one_line}"[:300],
        payload={"address_confirmed": True, "hold_id": hold.pk, "hold_reason": hold.reason},
    )
