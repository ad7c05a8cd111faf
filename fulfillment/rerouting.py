"""Changing where an order goes: a new ship-to address or shipping method, with its
fulfillment orders moved to match, in one transaction.

An order's destination may change until a location starts on it: a fulfillment order
in progress (being picked or packed), any unit shipped, or a partner (3PL, dropship
vendor) that accepted the request. After that the change is refused, naming the
fulfillment order and whom to call. Before that, the change

1. cancels the order's unshipped fulfillment orders (open, or on hold) and gives their
   units back: deallocated at the location and committed to the network again, through
   the ledger, as a rejection does;
2. sets the new address (tax at the new destination) or method (its charge), re-derives
   the totals and runs the hold rules again;
3. routes the order again (``route_order``), for the new destination; when the order
   still has an open hold the new fulfillment orders are put on hold at once, as the
   ones they replace were;
4. sets the delivery promise to the day the last new fulfillment order arrives, read on
   each location's clock;
5. records one timeline event with the destination, the fulfillment orders and their
   locations, the promise and the totals before and after.

A change to what the order already has records nothing. The order-level pieces are in
``orders.changes``; this module sits above them because it moves fulfillment orders.

Locks: the order row, then the network rows of all the order's products, then every
location holding them (FOR KEY SHARE) and their stock rows, all in the global order,
before anything is written. Routing, called inside, can then only take locks this
transaction already holds (unless stock appears at a new location in between), so the
two stock passes of a re-route cannot wait on each other in a cycle.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.utils import timezone

from core import outbox
from core.actors import Actor
from inventory.commitments import commit_demand, lock_network_rows
from inventory.locks import location_activity_for_share, stock_levels_for_update
from inventory.models import MovementReason, NetworkStock, StockBucket, StockLevel
from inventory.services import StockChangeSet
from orders.changes import (
    destination_of,
    ensure_editable,
    lock_order,
    record_edit,
    save_edit,
    set_shipping_address,
    set_shipping_method,
)
from orders.errors import OrderNotEditable
from orders.models import Order, OrderHold, OrderLine
from orders.placement import promise_order

from .holds import sync_fulfillment_holds
from .models import (
    FulfillmentOrder,
    FulfillmentOrderLine,
    FulfillmentStatus,
    RequestStatus,
)
from .promise import routed_delivery_date
from .routing import route_order

# Fulfillment orders a change of destination replaces (when none has started).
REPLACEABLE = (FulfillmentStatus.OPEN, FulfillmentStatus.ON_HOLD)


class FulfillmentStarted(OrderNotEditable):
    """A location or partner has started on the order: its destination stays."""

    code = "fulfillment_started"


def _contact(fo: FulfillmentOrder) -> str:
    location = fo.location
    reach = location.phone or location.contact_email
    return f"{location.name} ({reach})" if reach else location.name


def _refuse_if_started(fo: FulfillmentOrder, lines: list[FulfillmentOrderLine], what: str) -> None:
    """Raise ``FulfillmentStarted`` naming the fulfillment order, its location and whom
    to call, when the location or partner has started on it."""
    location = fo.location
    status = fo.status_before_hold if fo.status == FulfillmentStatus.ON_HOLD else fo.status
    if any(line.quantity_shipped for line in lines):
        why = "has already shipped units"
    elif status == FulfillmentStatus.IN_PROGRESS:
        why = "is being picked"
    elif fo.request_status == RequestStatus.ACCEPTED and fo.status in REPLACEABLE:
        why = "was accepted by the partner"
    else:
        return
    raise FulfillmentStarted(
        f"The {what} cannot change: {fo.number} at {location.code} {why}; call {_contact(fo)}.",
        fulfillment_order=fo.number,
        location=location.code,
    )


def _replaceable(order: Order, what: str) -> list[FulfillmentOrder]:
    """The fulfillment orders to replace, after checking that none has started."""
    fos = list(
        FulfillmentOrder.objects.filter(order=order)
        .exclude(status=FulfillmentStatus.CANCELLED)
        .select_related("location")
        .prefetch_related("lines")
        .order_by("id")
    )
    for fo in fos:
        _refuse_if_started(fo, list(fo.lines.all()), what)
    return [fo for fo in fos if fo.status in REPLACEABLE]


def _lock_stock(
    lines: list[OrderLine],
) -> tuple[dict[int, NetworkStock], dict[int, bool], dict[tuple[int, int], StockLevel]]:
    """Network rows of the order's products, then every location that stocks them and
    their stock rows: all the rows withdrawing and routing again may change."""
    product_ids = sorted({line.product_id for line in lines})
    networks = lock_network_rows(product_ids)
    pairs = sorted(
        StockLevel.objects.filter(product_id__in=product_ids).values_list(
            "location_id", "product_id"
        )
    )
    active = location_activity_for_share({loc for loc, _ in pairs})
    levels = stock_levels_for_update(pairs) if pairs else {}
    return networks, active, levels


def _withdraw(
    order: Order, lines: list[OrderLine], fos: list[FulfillmentOrder], *, actor: Actor
) -> None:
    """Cancel ``fos`` and give their open units back: deallocated at their locations,
    committed to the network again (backordered if the network cannot cover them, as
    when a location has closed meanwhile)."""
    networks, active, levels = _lock_stock(lines)
    if not fos:
        return
    by_line = {line.pk: line for line in lines}
    at_location: dict[tuple[int, int], int] = defaultdict(int)
    per_product: dict[int, int] = defaultdict(int)
    per_line: dict[int, int] = defaultdict(int)
    fo_lines = []
    for fo in fos:
        for fo_line in fo.lines.all():
            units = fo_line.quantity_open
            if not units:
                continue
            line = by_line[fo_line.order_line_id]
            fo_line.quantity_cancelled += units
            line.quantity_allocated -= units
            at_location[(fo.location_id, line.product_id)] += units
            per_product[line.product_id] += units
            per_line[line.pk] += units
            fo_lines.append(fo_line)
    if at_location:
        changes = StockChangeSet(
            actor=actor,
            reference=order.number,
            note="shipping details changed",
            networks=networks,
            active_locations=active,
        )
        for pair, units in sorted(at_location.items()):
            changes.change(levels[pair], StockBucket.ALLOCATED, -units, MovementReason.DEALLOCATION)
        changes.commit()
        result = commit_demand(dict(per_product), backorderable=set(per_product), networks=networks)
        short = dict(result.backordered)
        for line in lines:
            take = min(short.get(line.product_id, 0), per_line[line.pk])
            if take:
                line.quantity_backordered += take
                short[line.product_id] -= take
        FulfillmentOrderLine.objects.bulk_update(fo_lines, ["quantity_cancelled"])
    now = timezone.now()
    for fo in fos:
        fo.status = FulfillmentStatus.CANCELLED
        fo.hold_reason = ""
        fo.status_before_hold = ""
        fo.closed_at = now
        fo.updated_at = now  # bulk_update does not touch auto_now fields
    FulfillmentOrder.objects.bulk_update(
        fos, ["status", "hold_reason", "status_before_hold", "closed_at", "updated_at"]
    )


def _where(order: Order) -> list[str]:
    return [
        f"{number} at {code}"
        for number, code in FulfillmentOrder.objects.filter(order=order)
        .exclude(status__in=[FulfillmentStatus.CANCELLED, FulfillmentStatus.CLOSED])
        .order_by("id")
        .values_list("number", "location__code")
    ]


def _redirect(
    order_id: int, *, actor: Actor, subject: str, change: Callable[[Order], bool]
) -> Order:
    """The workflow of the module docstring; ``change`` sets the new destination on the
    locked order in memory and says whether it differs from the old one."""
    order, lines = lock_order(order_id)
    ensure_editable(order)
    before = {**destination_of(order), "fulfillment_orders": _where(order)}
    total_before = order.grand_total
    if not change(order):
        return order  # the destination it already has: nothing to record
    replaced = _replaceable(order, subject)
    _withdraw(order, lines, replaced, actor=actor)
    holds = save_edit(
        order,
        lines,
        total_before=total_before,
        line_fields=["quantity_allocated", "quantity_backordered"],
    )
    held = OrderHold.objects.filter(order=order, released_at__isnull=True).exists()
    # A held order is routed again only to replace the fulfillment orders it had, and
    # the new ones go on hold at once; one never routed waits for its release.
    route_order(order_id=order.pk, actor=actor, while_held=held and bool(replaced))
    if held:
        sync_fulfillment_holds(order=order, actor=actor)
    order, lines = lock_order(order_id)  # routing changed the lines and the status
    now = timezone.now()
    unrouted = any(line.quantity_open > line.quantity_backordered for line in lines)
    order.promised_delivery_date = (
        routed_delivery_date(order, now=now, unrouted=unrouted)
        or promise_order(order, now=now).delivery_date
    )
    order.save(update_fields=["promised_delivery_date", "updated_at"])
    after = {**destination_of(order), "fulfillment_orders": _where(order)}
    what = (
        f"Shipping method {before['shipping_method']} → {after['shipping_method']}"
        if subject == "shipping method"
        else f"Shipping address changed to {order.ship_to_one_line}"
    )
    record_edit(order, actor=actor, what=what[:300], before=before, after=after, holds=holds)
    if subject == "shipping address":
        # The customer hears of every change of where the order goes (oms.notifications).
        outbox.emit("order.address_changed", {"order_id": order.pk})
    return order


@transaction.atomic
def change_shipping_address(*, order_id: int, address: dict[str, Any], actor: Actor) -> Order:
    """Send a placed order to another address, moving its fulfillment orders.

    Preconditions: the order is placed or processing, not a pickup order, and no
    location or partner has started on it (else ``FulfillmentStarted``, 409
    ``fulfillment_started``, naming the fulfillment order and whom to call); the address
    passes ``clean_postal_address`` (a US ZIP code must be in the given state).
    Side effects, in one transaction: the unshipped fulfillment orders are cancelled
    and their stock deallocated and committed again (ledger rows), the order is taxed
    at the new destination, its holds re-decided, routed again for the new address and
    promised a new date; one ``edited`` event shows before and after, and
    ``fulfillment.created`` / ``order.edited`` go to the outbox. The address the order
    already has changes nothing and records nothing.
    """
    return _redirect(
        order_id,
        actor=actor,
        subject="shipping address",
        change=lambda order: set_shipping_address(order, address),
    )


@transaction.atomic
def change_shipping_method(*, order_id: int, code: str, actor: Actor) -> Order:
    """Ship a placed order by another method, moving its fulfillment orders.

    As ``change_shipping_address``: refused once a location or partner has started;
    otherwise the unshipped fulfillment orders are replaced (their ship-by date and the
    partner's request follow the method's cut-off and service), the shipping charge,
    totals and promise follow the new method, and one event shows before and after.
    Store pickup is neither a method to switch to nor from (a new order). The method
    the order already has records nothing.
    """
    return _redirect(
        order_id,
        actor=actor,
        subject="shipping method",
        change=lambda order: set_shipping_method(order, code),
    )
