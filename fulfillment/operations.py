"""Work on fulfillment orders: accept or reject a request, reject lines, ship, hand over
pickups, and record tracking.

Each service locks in the global order: order row → network rows → location rows →
stock rows; fulfillment-order rows hang off the order row and are changed under it.
"""

from __future__ import annotations

import hmac
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import TextChoices
from django.utils import timezone

from core import outbox
from core.actors import Actor
from core.errors import Conflict, InvalidInput, NotFound
from inventory.commitments import commit_demand, lock_network_rows
from inventory.locks import location_activity_for_share, stock_levels_for_update
from inventory.models import MovementReason, NetworkStock, StockBucket, StockLevel
from inventory.services import StockChangeSet
from orders.changes import settle_order_status
from orders.events import record_order_event
from orders.models import (
    Order,
    OrderEventType,
    OrderLine,
    derive_fulfillment_status,
)
from orders.pricing import apply_totals
from orders.store_credit import settle_store_credit
from shipping.models import Carrier, ServiceLevel

from .carriers import gateway_for
from .holds import refuse_while_held
from .models import (
    FULFILLMENT_TRANSITIONS,
    FulfillmentOrder,
    FulfillmentOrderLine,
    FulfillmentStatus,
    RequestStatus,
    Shipment,
    ShipmentLine,
    ShipmentStatus,
    TrackingEvent,
)


class FulfillmentConflict(Conflict):
    code = "fulfillment_conflict"


class RejectionReason(TextChoices):
    OUT_OF_STOCK = "out_of_stock", "Out of stock (units not found)"
    DAMAGED = "damaged", "Damaged"
    CANNOT_FULFIL = "cannot_fulfil", "Cannot fulfill (capacity, other)"
    PARTNER_REJECTED = "partner_rejected", "Rejected by the partner (3PL / vendor)"


@dataclass
class _Locked:
    order: Order
    fo: FulfillmentOrder
    fo_lines: list[FulfillmentOrderLine]
    order_lines: dict[int, OrderLine]


def _lock(fo_id: int) -> _Locked:
    fo_ref = FulfillmentOrder.objects.filter(pk=fo_id).values_list("order_id", flat=True).first()
    if fo_ref is None:
        raise NotFound("No such fulfillment order.")
    order = Order.objects.select_for_update(no_key=True).get(pk=fo_ref)
    fo = FulfillmentOrder.objects.select_related("location").get(pk=fo_id)
    fo_lines = list(fo.lines.select_related("order_line__product").order_by("id"))
    order_lines = {line.pk: line for line in order.lines.all()}
    return _Locked(order, fo, fo_lines, order_lines)


def _move(fo: FulfillmentOrder, status: str) -> None:
    if fo.status == status:
        return
    if status not in FULFILLMENT_TRANSITIONS[fo.status]:
        raise FulfillmentConflict(f"{fo.number} cannot go from {fo.status} to {status}.")
    if fo.status == FulfillmentStatus.ON_HOLD:
        fo.hold_reason = ""
        fo.status_before_hold = ""
    fo.status = status
    if status in (FulfillmentStatus.CLOSED, FulfillmentStatus.CANCELLED):
        fo.closed_at = timezone.now()


def _settle_fo(fo: FulfillmentOrder, fo_lines: list[FulfillmentOrderLine]) -> None:
    if any(line.quantity_open for line in fo_lines):
        # A held one stays held while units remain (units given back do not release it).
        if fo.status != FulfillmentStatus.ON_HOLD and any(
            line.quantity_shipped for line in fo_lines
        ):
            _move(fo, FulfillmentStatus.IN_PROGRESS)
        return
    shipped = any(line.quantity_shipped for line in fo_lines)
    rejected = any(line.quantity_rejected for line in fo_lines)
    if shipped and rejected:
        _move(fo, FulfillmentStatus.INCOMPLETE)
        _move(fo, FulfillmentStatus.CLOSED)
    else:
        _move(fo, FulfillmentStatus.CLOSED if shipped else FulfillmentStatus.CANCELLED)


def _settle_order(order: Order, lines: list[OrderLine]) -> None:
    order.fulfillment_status = derive_fulfillment_status(lines)
    settle_order_status(order, lines)
    order.save()


def _pick(
    locked: _Locked, quantities: dict[int, int] | None
) -> list[tuple[FulfillmentOrderLine, int]]:
    """Resolve {fulfillment line id: units} (None: every open unit) and check it."""
    by_id = {line.pk: line for line in locked.fo_lines}
    if quantities is None:
        picked = [(line, line.quantity_open) for line in locked.fo_lines if line.quantity_open]
    else:
        unknown = sorted(set(quantities) - set(by_id))
        if unknown:
            raise InvalidInput(f"{locked.fo.number} has no line {unknown[0]}.")
        picked = []
        for line_id, quantity in quantities.items():
            line = by_id[line_id]
            if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
                raise InvalidInput("Quantities must be positive whole numbers.")
            if quantity > line.quantity_open:
                raise FulfillmentConflict(
                    f"{line.order_line.sku}: only {line.quantity_open} units are open on "
                    f"{locked.fo.number}."
                )
            picked.append((line, quantity))
    if not picked:
        raise FulfillmentConflict(f"Nothing is open on {locked.fo.number}.")
    return picked


def _stock_changes(
    locked: _Locked, product_ids: list[int], actor: Actor, note: str
) -> tuple[dict[int, NetworkStock], dict[tuple[int, int], StockLevel], StockChangeSet]:
    networks = lock_network_rows(product_ids)
    location = locked.fo.location
    active = location_activity_for_share([location.pk])
    levels = stock_levels_for_update((location.pk, pid) for pid in product_ids)
    changes = StockChangeSet(
        actor=actor,
        reference=locked.fo.number,
        note=note,
        networks=networks,
        active_locations=active,
    )
    return networks, levels, changes


# --- partner requests ------------------------------------------------------------


@transaction.atomic
def accept_fulfillment_request(*, fo_id: int, actor: Actor) -> FulfillmentOrder:
    """A 3PL or dropship vendor takes the fulfillment order on."""
    locked = _lock(fo_id)
    fo = locked.fo
    if fo.request_status == RequestStatus.ACCEPTED:
        return fo
    refuse_while_held(fo, "accepted")
    if fo.request_status != RequestStatus.SUBMITTED:
        raise FulfillmentConflict(f"{fo.number} has no pending request ({fo.request_status}).")
    fo.request_status = RequestStatus.ACCEPTED
    fo.save(update_fields=["request_status", "updated_at"])
    record_order_event(
        order=locked.order,
        type=OrderEventType.NOTE,
        actor=actor,
        message=f"{fo.location.code} accepted {fo.number}",
        payload={"fulfillment_order": fo.number},
    )
    return fo


# --- rejection -----------------------------------------------------------------------


def _give_back_stock(
    locked: _Locked, per_product: dict[int, int], *, reason: str, actor: Actor, note: str
) -> dict[int, NetworkStock]:
    """Deallocate rejected units at the location and correct its stock as the reason
    says: not found is written off, damaged moves to unsellable."""
    networks, levels, changes = _stock_changes(
        locked, sorted(per_product), actor, note or RejectionReason(reason).label
    )
    location_id = locked.fo.location_id
    for product_id, quantity in per_product.items():
        level = levels[(location_id, product_id)]
        changes.change(level, StockBucket.ALLOCATED, -quantity, MovementReason.DEALLOCATION)
        if reason == RejectionReason.OUT_OF_STOCK:
            changes.change(level, StockBucket.ON_HAND, -quantity, MovementReason.ADJUSTMENT)
        elif reason == RejectionReason.DAMAGED:
            changes.change(level, StockBucket.ON_HAND, -quantity, MovementReason.DAMAGE)
            changes.change(level, StockBucket.UNSELLABLE, quantity, MovementReason.DAMAGE)
    changes.commit()
    return networks


@transaction.atomic
def reject_fulfillment_lines(
    *,
    fo_id: int,
    reason: str,
    actor: Actor,
    quantities: dict[int, int] | None = None,
    note: str = "",
) -> FulfillmentOrder:
    """A location gives units back. Its stock is corrected as the reason implies
    (not found: on hand written off; damaged: moved to unsellable), the units are
    committed to the network again (or backordered) and the order is routed again."""
    if reason not in RejectionReason.values:
        raise InvalidInput(f"Unknown rejection reason {reason!r}.")
    locked = _lock(fo_id)
    fo = locked.fo
    if fo.status in (FulfillmentStatus.CLOSED, FulfillmentStatus.CANCELLED):
        raise FulfillmentConflict(f"{fo.number} is {fo.status}.")
    picked = _pick(locked, quantities)
    per_product: dict[int, int] = defaultdict(int)
    for fo_line, quantity in picked:
        per_product[fo_line.order_line.product_id] += quantity
    networks = _give_back_stock(locked, per_product, reason=reason, actor=actor, note=note)
    # A pickup can only happen at its store: units its store gives back are cancelled
    # (the customer is told); anything else goes back to the network to be routed.
    pickup = fo.is_pickup
    backordered: dict[int, int] = {}
    if not pickup:
        result = commit_demand(dict(per_product), backorderable=set(per_product), networks=networks)
        backordered = dict(result.backordered)
    for fo_line, quantity in picked:
        fo_line.quantity_rejected += quantity
        line = locked.order_lines[fo_line.order_line_id]
        line.quantity_allocated -= quantity
        if pickup:
            line.quantity_cancelled += quantity
            continue
        short = min(backordered.get(line.product_id, 0), quantity)
        if short:
            line.quantity_backordered += short
            backordered[line.product_id] -= short
    FulfillmentOrderLine.objects.bulk_update([li for li, _ in picked], ["quantity_rejected"])
    lines = list(locked.order_lines.values())
    if pickup:
        apply_totals(locked.order, lines)
        settle_order_status(locked.order, lines)
    OrderLine.objects.bulk_update(
        lines, ["quantity_allocated", "quantity_backordered", "quantity_cancelled", "tax_total"]
    )
    if fo.request_status == RequestStatus.SUBMITTED and reason == RejectionReason.PARTNER_REJECTED:
        fo.request_status = RequestStatus.REJECTED
    _settle_fo(fo, locked.fo_lines)
    fo.save()
    locked.order.fulfillment_status = derive_fulfillment_status(lines)
    locked.order.save()
    record_order_event(
        order=locked.order,
        type=OrderEventType.LINES_CANCELLED if pickup else OrderEventType.NOTE,
        actor=actor,
        message=f"{fo.location.code} rejected "
        + ", ".join(f"{li.order_line.sku}×{q}" for li, q in picked)
        + f" ({RejectionReason(reason).label})",
        payload={"fulfillment_order": fo.number, "reason": reason, "note": note},
    )
    if pickup:
        # The store's units are cancelled: a store-credit order gets their value back.
        settle_store_credit(locked.order, actor=actor)
        outbox.emit("order.cancelled", {"order_id": locked.order.pk, "whole": False})
    else:
        outbox.emit("order.released", {"order_id": locked.order.pk, "after": "rejection"})
    return fo


# --- shipping ---------------------------------------------------------------------------


@transaction.atomic
def ship_fulfillment_order(
    *,
    fo_id: int,
    actor: Actor,
    carrier_code: str = "",
    service_level: str = "",
    tracking_number: str = "",
    quantities: dict[int, int] | None = None,
) -> Shipment:
    """Ship some or all open units. Consumes the allocation and the on-hand units
    through the ledger, updates line buckets and the derived statuses, and announces
    the shipment (the customer's e-mail with tracking)."""
    locked = _lock(fo_id)
    fo = locked.fo
    refuse_while_held(fo, "shipped")
    if fo.status in (FulfillmentStatus.CLOSED, FulfillmentStatus.CANCELLED):
        raise FulfillmentConflict(f"{fo.number} is {fo.get_status_display().lower()}.")
    if fo.request_status == RequestStatus.SUBMITTED:
        raise FulfillmentConflict(f"{fo.location.code} has not accepted {fo.number} yet.")
    if fo.is_pickup:
        raise FulfillmentConflict("Pickup orders are handed over, not shipped.")
    method = locked.order.shipping_method
    carrier = None
    code = (carrier_code or (method.carrier.code if method.carrier else "")).strip().upper()
    if code:
        carrier = Carrier.objects.filter(code=code, is_active=True).first()
        if carrier is None:
            raise InvalidInput(f"Unknown carrier {carrier_code!r}.")
    if carrier is None:
        raise InvalidInput("A carrier is required to ship.")
    level = service_level or method.service_level
    if level not in ServiceLevel.values:
        raise InvalidInput(f"Unknown service level {service_level!r}.")
    picked = _pick(locked, quantities)
    tracking = tracking_number.strip() or gateway_for(carrier).create_tracking_number()
    if Shipment.objects.filter(carrier=carrier, tracking_number=tracking).exists():
        raise FulfillmentConflict(f"Tracking number {tracking} is already used.")
    return _ship(locked, picked, carrier=carrier, level=level, tracking=tracking, actor=actor)


def _ship(
    locked: _Locked,
    picked: list[tuple[FulfillmentOrderLine, int]],
    *,
    carrier: Carrier | None,
    level: str,
    tracking: str,
    actor: Actor,
    status: str = ShipmentStatus.LABEL_CREATED,
) -> Shipment:
    fo = locked.fo
    per_product: dict[int, int] = defaultdict(int)
    for fo_line, quantity in picked:
        per_product[fo_line.order_line.product_id] += quantity
    _, levels, changes = _stock_changes(locked, sorted(per_product), actor, "shipment")
    for product_id, quantity in per_product.items():
        stock = levels[(fo.location_id, product_id)]
        changes.change(stock, StockBucket.ALLOCATED, -quantity, MovementReason.SHIPMENT)
        changes.change(stock, StockBucket.ON_HAND, -quantity, MovementReason.SHIPMENT)
    changes.commit()
    now = timezone.now()
    delivered = status == ShipmentStatus.PICKED_UP
    shipment = Shipment.objects.create(
        fulfillment_order=fo,
        order=locked.order,
        carrier=carrier,
        service_level=level,
        tracking_number=tracking,
        status=status,
        shipped_at=now,
        delivered_at=now if delivered else None,
    )
    ShipmentLine.objects.bulk_create(
        [ShipmentLine(shipment=shipment, fulfillment_line=li, quantity=q) for li, q in picked]
    )
    for fo_line, quantity in picked:
        fo_line.quantity_shipped += quantity
        line = locked.order_lines[fo_line.order_line_id]
        line.quantity_allocated -= quantity
        line.quantity_shipped += quantity
        if delivered:
            line.quantity_delivered += quantity
    FulfillmentOrderLine.objects.bulk_update([li for li, _ in picked], ["quantity_shipped"])
    lines = list(locked.order_lines.values())
    OrderLine.objects.bulk_update(
        lines, ["quantity_allocated", "quantity_shipped", "quantity_delivered"]
    )
    _settle_fo(fo, locked.fo_lines)
    fo.save()
    _settle_order(locked.order, lines)
    units = ", ".join(f"{li.order_line.sku}×{q}" for li, q in picked)
    record_order_event(
        order=locked.order,
        type=OrderEventType.DELIVERED if delivered else OrderEventType.SHIPPED,
        actor=actor,
        message=(
            f"Picked up at {fo.location.code}: {units}"
            if delivered
            else f"Shipped from {fo.location.code} via {carrier} {tracking}: {units}"
        ),
        payload={"shipment_id": shipment.pk, "tracking_number": tracking},
    )
    outbox.emit(
        "shipment.picked_up" if delivered else "shipment.created",
        {"order_id": locked.order.pk, "shipment_id": shipment.pk},
    )
    return shipment


# --- pickup -------------------------------------------------------------------------------


@transaction.atomic
def mark_ready_for_pickup(*, fo_id: int, actor: Actor) -> FulfillmentOrder:
    locked = _lock(fo_id)
    fo = locked.fo
    if not fo.is_pickup:
        raise FulfillmentConflict(f"{fo.number} is not a pickup order.")
    refuse_while_held(fo, "made ready for pickup")
    if fo.status not in (FulfillmentStatus.OPEN, FulfillmentStatus.IN_PROGRESS):
        raise FulfillmentConflict(f"{fo.number} is {fo.status}.")
    if fo.ready_for_pickup_at is not None:
        return fo
    fo.ready_for_pickup_at = timezone.now()
    _move(fo, FulfillmentStatus.IN_PROGRESS)
    fo.save()
    record_order_event(
        order=locked.order,
        type=OrderEventType.NOTE,
        actor=actor,
        message=f"Ready for pickup at {fo.location.code}",
        payload={"fulfillment_order": fo.number},
    )
    outbox.emit("pickup.ready", {"order_id": locked.order.pk, "fulfillment_order_id": fo.pk})
    return fo


class WrongPickupCode(InvalidInput):
    code = "wrong_pickup_code"


@transaction.atomic
def confirm_pickup(*, fo_id: int, code: str, actor: Actor) -> Shipment:
    """Hand a ready pickup order to the customer who gives its code."""
    locked = _lock(fo_id)
    fo = locked.fo
    refuse_while_held(fo, "handed over")
    if not fo.is_pickup or fo.ready_for_pickup_at is None:
        raise FulfillmentConflict(f"{fo.number} is not ready for pickup.")
    if not hmac.compare_digest(fo.pickup_code, (code or "").strip()):
        raise WrongPickupCode("The pickup code does not match.")
    picked = _pick(locked, None)
    return _ship(
        locked,
        picked,
        carrier=None,
        level=ServiceLevel.PICKUP,
        tracking="",
        actor=actor,
        status=ShipmentStatus.PICKED_UP,
    )


# --- tracking --------------------------------------------------------------------------

PROGRESS: dict[str, int] = {
    ShipmentStatus.LABEL_CREATED: 0,
    ShipmentStatus.IN_TRANSIT: 1,
    ShipmentStatus.EXCEPTION: 1,
    ShipmentStatus.OUT_FOR_DELIVERY: 2,
    ShipmentStatus.DELIVERED: 3,
    ShipmentStatus.PICKED_UP: 3,
}


@transaction.atomic
def record_tracking_event(
    *,
    shipment_id: int,
    status: str,
    occurred_at: datetime,
    external_id: str,
    description: str = "",
    location: str = "",
) -> TrackingEvent | None:
    """Store a carrier scan once (``external_id``); move the shipment forward; on
    delivery, count the units delivered. Returns None for a repeated event."""
    if status not in ShipmentStatus.values or status == ShipmentStatus.PICKED_UP:
        raise InvalidInput(f"Unknown tracking status {status!r}.")
    if not external_id.strip():
        raise InvalidInput("A tracking event needs its carrier's event id.")
    order_id = Shipment.objects.filter(pk=shipment_id).values_list("order_id", flat=True).first()
    if order_id is None:
        raise NotFound("No such shipment.")
    order = Order.objects.select_for_update(no_key=True).get(pk=order_id)
    shipment = Shipment.objects.select_related("carrier").get(pk=shipment_id)
    try:
        with transaction.atomic():
            event = TrackingEvent.objects.create(
                shipment=shipment,
                status=status,
                occurred_at=occurred_at,
                external_id=external_id.strip()[:100],
                description=description[:300],
                location=location[:120],
            )
    except IntegrityError:
        return None
    if shipment.status == ShipmentStatus.DELIVERED:
        return event  # late scans after delivery are kept but change nothing
    if PROGRESS[status] < PROGRESS[shipment.status] and status != ShipmentStatus.EXCEPTION:
        return event  # out-of-order scan
    shipment.status = status
    if status == ShipmentStatus.DELIVERED:
        shipment.delivered_at = occurred_at
        lines = {li.pk: li for li in order.lines.all()}
        for ship_line in shipment.lines.select_related("fulfillment_line"):
            line = lines[ship_line.fulfillment_line.order_line_id]
            line.quantity_delivered = min(
                line.quantity_delivered + ship_line.quantity, line.quantity_shipped
            )
        OrderLine.objects.bulk_update(list(lines.values()), ["quantity_delivered"])
        order.fulfillment_status = derive_fulfillment_status(list(lines.values()))
        order.save(update_fields=["fulfillment_status", "updated_at"])
    shipment.save(update_fields=["status", "delivered_at"])
    record_order_event(
        order=order,
        type=OrderEventType.DELIVERED
        if status == ShipmentStatus.DELIVERED
        else OrderEventType.NOTE,
        actor=Actor.system(f"carrier {shipment.carrier.code if shipment.carrier else ''}".strip()),
        message=f"{shipment.tracking_number}: {ShipmentStatus(status).label}"
        + (f" — {description}" if description else ""),
        payload={"shipment_id": shipment.pk, "status": status, "location": location},
    )
    outbox.emit(f"tracking.{status}", {"order_id": order.pk, "shipment_id": shipment.pk})
    return event
