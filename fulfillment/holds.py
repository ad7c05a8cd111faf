"""Order holds stop the work: while an order has an open hold, every fulfillment order of
it that still has units to ship is on hold too.

The rule, applied by ``sync_fulfillment_holds`` under the order's row lock whenever a
hold opens or closes:

- an open or in-progress fulfillment order with units not yet shipped goes on hold; it
  remembers where it was (``status_before_hold``) and says which holds stop it;
- while on hold it is out of the warehouse queue and pick lists, and ship, hand over,
  ready-for-pickup, vendor ship and accept are refused (``OrderOnHold``, 409
  ``order_on_hold``); the location or partner may still give its units back;
- one in progress (being packed) when the hold lands stops before the ship step: the
  packed parcel waits beside the bench, the queue shows it under "On hold" with a banner;
- when the last hold is released, each goes back to where it was;
- partners (3PLs, dropship vendors) that have the request are told by e-mail to stop,
  and later to go on, and see ``on_hold`` with the reason in the vendor API.

Entry points call ``place_order_hold`` / ``release_order_hold`` / ``approve_order``
here, and ``fulfillment.changes.reject_order`` (a refusal cancels the order), not the
order-level services, so that no hold misses its fulfillment orders.
"""

from __future__ import annotations

from django.db import transaction

from core import outbox
from core.actors import Actor
from customers.models import Customer
from inventory.models import LocationKind
from orders import services as order_services
from orders.errors import OrderOnHold
from orders.events import record_order_event
from orders.models import HoldKind, Order, OrderEventType, OrderHold

from .models import FulfillmentOrder, FulfillmentStatus, RequestStatus

WORKING = (FulfillmentStatus.OPEN, FulfillmentStatus.IN_PROGRESS)
PARTNER_KINDS = (LocationKind.THIRD_PARTY, LocationKind.DROPSHIP_VENDOR)


def hold_reason_for(kinds: list[str]) -> str:
    """What a held fulfillment order says: the kinds, never the internal reasons (a
    fraud signal is not a partner's business)."""
    labels = ", ".join(HoldKind(kind).label.lower() for kind in kinds)
    return f"Order on hold ({labels}). Do not ship until it is released."[:200]


def _tells_partner(fo: FulfillmentOrder) -> bool:
    return fo.location.kind in PARTNER_KINDS and fo.request_status in (
        RequestStatus.SUBMITTED,
        RequestStatus.ACCEPTED,
    )


def _announce(order: Order, actor: Actor, fos: list[FulfillmentOrder], *, held: bool) -> None:
    """One timeline entry for the fulfillment orders that stopped or resumed, and a
    message to each partner that has the request."""
    if not fos:
        return
    record_order_event(
        order=order,
        type=OrderEventType.NOTE,
        actor=actor,
        message=("Fulfillment stopped by the hold: " if held else "Fulfillment resumed: ")
        + ", ".join(f"{fo.number} at {fo.location.code}" for fo in fos),
        payload={"fulfillment_orders": [fo.number for fo in fos], "held": held},
    )
    topic = "fulfillment.held" if held else "fulfillment.resumed"
    for fo in fos:
        if _tells_partner(fo):
            outbox.emit(topic, {"order_id": order.pk, "fulfillment_order_id": fo.pk})


def sync_fulfillment_holds(*, order: Order, actor: Actor) -> list[FulfillmentOrder]:
    """Make the order's fulfillment orders follow its holds (see the module docstring).

    The caller holds the order's row lock (fulfillment orders hang off it). Returns the
    fulfillment orders whose state changed."""
    kinds = list(
        OrderHold.objects.filter(order=order, released_at__isnull=True)
        .order_by("placed_at", "id")
        .values_list("kind", flat=True)
    )
    candidates = FulfillmentOrder.objects.filter(order=order).select_related("location")
    if not kinds:
        resumed = list(candidates.filter(status=FulfillmentStatus.ON_HOLD))
        for fo in resumed:
            fo.status = fo.status_before_hold or FulfillmentStatus.OPEN
            fo.status_before_hold = ""
            fo.hold_reason = ""
            fo.save(update_fields=["status", "status_before_hold", "hold_reason", "updated_at"])
        _announce(order, actor, resumed, held=False)
        return resumed
    reason = hold_reason_for(kinds)
    held = []
    affected = candidates.filter(status__in=[*WORKING, FulfillmentStatus.ON_HOLD])
    for fo in affected.prefetch_related("lines"):
        if fo.status == FulfillmentStatus.ON_HOLD:
            # Still held; its reason follows the holds that remain.
            if fo.hold_reason != reason:
                fo.hold_reason = reason
                fo.save(update_fields=["hold_reason", "updated_at"])
            continue
        if not any(line.quantity_open for line in fo.lines.all()):
            continue
        fo.status_before_hold = fo.status
        fo.status = FulfillmentStatus.ON_HOLD
        fo.hold_reason = reason
        fo.save(update_fields=["status", "status_before_hold", "hold_reason", "updated_at"])
        held.append(fo)
    _announce(order, actor, held, held=True)
    return held


def refuse_while_held(fo: FulfillmentOrder, what: str) -> None:
    """Refuse ``what`` (ship, hand over, accept…) on a held fulfillment order."""
    if fo.status == FulfillmentStatus.ON_HOLD:
        raise OrderOnHold(
            f"{fo.number} cannot be {what}: {fo.hold_reason or 'its order is on hold.'}",
            fulfillment_order=fo.number,
        )


@transaction.atomic
def place_order_hold(*, order: Order, kind: str, reason: str, actor: Actor) -> OrderHold:
    """Put ``order`` on hold and stop its fulfillment orders, in one transaction."""
    hold = order_services.place_hold(order=order, kind=kind, reason=reason, actor=actor)
    sync_fulfillment_holds(order=hold.order, actor=actor)
    return hold


@transaction.atomic
def release_order_hold(*, hold_id: int, reason: str, actor: Actor) -> OrderHold:
    """Release a hold (if ``actor`` may release its kind); when it was the last one, the
    order's fulfillment orders go back to work."""
    hold = order_services.release_hold(hold_id=hold_id, reason=reason, actor=actor)
    sync_fulfillment_holds(order=hold.order, actor=actor)
    return hold


@transaction.atomic
def approve_order(*, order_id: int, approver: Customer, reason: str, actor: Actor) -> OrderHold:
    """The company's approver releases the B2B approval hold (see
    ``orders.services.approve_order``); fulfillment follows the holds."""
    hold = order_services.approve_order(
        order_id=order_id,
        approver=approver,
        reason=reason,
        actor=actor,
    )
    sync_fulfillment_holds(order=hold.order, actor=actor)
    return hold
