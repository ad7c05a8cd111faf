"""Changes to a placed order: cancellation (whole or partial) and agent edits.

Every function here locks the order row first (the top of the global lock order),
then network rows, then stock rows. Line rows are only ever changed under their
order's lock, so they need no lock of their own.

Units of a line are, in order of release: backordered (nothing held), committed to
the network (``NetworkStock.committed``), allocated at a location. Allocations of a
pickup order sit at its store and are released here; allocations made by routing
belong to fulfillment orders and are cancelled through them.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from core import outbox
from core.actors import Actor
from core.addresses import clean_postal_address
from core.errors import InvalidInput
from fulfillment.models import FulfillmentOrder, FulfillmentOrderLine, FulfillmentStatus
from inventory.commitments import commit_demand, lock_network_rows, release_demand
from inventory.errors import InsufficientStock, UnknownSku
from inventory.locks import location_activity_for_share, stock_levels_for_update
from inventory.models import MovementReason, Product, StockBucket
from inventory.services import StockChangeSet

from . import holds as hold_rules
from .errors import InvalidOrder, OrderNotCancellable, OrderNotEditable
from .events import record_order_event
from .models import (
    HoldKind,
    Order,
    OrderEventType,
    OrderHold,
    OrderLine,
    OrderStatus,
    can_transition,
    derive_fulfillment_status,
)
from .placement import (
    cached_tax_rate,
    clean_customization,
    get_active_shipping_method,
    promise_order,
    snapshot_address,
)
from .pricing import apply_totals, contract_prices, money, unit_price_for

OPEN = (OrderStatus.PLACED, OrderStatus.PROCESSING)
AUTO_RELEASABLE = (HoldKind.CREDIT_LIMIT, HoldKind.B2B_APPROVAL, HoldKind.ADDRESS)


def _lock(order_id: int) -> tuple[Order, list[OrderLine]]:
    order = (
        Order.objects.select_for_update(no_key=True, of=("self",))
        .select_related("company", "customer", "shipping_method", "pickup_location")
        .get(pk=order_id)
    )
    lines = list(order.lines.select_related("product").order_by("line_number"))
    return order, lines


@dataclass
class _Release:
    """What giving back ``quantity`` units of a line frees, bucket by bucket."""

    backordered: int = 0
    committed: int = 0
    allocated: int = 0


def _plan_release(order: Order, line: OrderLine, quantity: int) -> _Release:
    """Units leave in this order: backordered, committed, then allocated (unshipped
    units at a location, released from their fulfillment order or pickup store)."""
    plan = _Release()
    plan.backordered = min(quantity, line.quantity_backordered)
    rest = quantity - plan.backordered
    committed_now = line.quantity_open - line.quantity_backordered
    plan.committed = min(rest, committed_now)
    rest -= plan.committed
    plan.allocated = min(rest, line.quantity_allocated)
    rest -= plan.allocated
    if rest:
        raise OrderNotCancellable(
            f"Line {line.line_number} ({line.sku}): {rest} units have shipped.",
            line=line.line_number,
        )
    return plan


def _deallocations(
    order: Order, plans: list[tuple[OrderLine, _Release]]
) -> tuple[dict[tuple[int, int], int], list[FulfillmentOrderLine]]:
    """Where the allocated units to release sit: (location, product) -> units, taken
    from open fulfillment-order lines first, then a pickup store's pre-routing hold."""
    wanted = {line.pk: plan.allocated for line, plan in plans if plan.allocated}
    if not wanted:
        return {}, []
    fo_lines = list(
        FulfillmentOrderLine.objects.filter(order_line_id__in=list(wanted))
        .exclude(
            fulfillment_order__status__in=[FulfillmentStatus.CLOSED, FulfillmentStatus.CANCELLED]
        )
        .select_related("fulfillment_order")
        .order_by("-id")
    )
    product_of = {line.pk: line.product_id for line, _ in plans}
    where: dict[tuple[int, int], int] = defaultdict(int)
    touched = []
    for fo_line in fo_lines:
        need = wanted.get(fo_line.order_line_id, 0)
        take = min(need, fo_line.quantity_open)
        if take <= 0:
            continue
        fo_line.quantity_cancelled += take
        wanted[fo_line.order_line_id] -= take
        where[(fo_line.fulfillment_order.location_id, product_of[fo_line.order_line_id])] += take
        touched.append(fo_line)
    for line_id, rest in wanted.items():
        if rest and order.pickup_location_id:
            where[(order.pickup_location_id, product_of[line_id])] += rest
        elif rest:
            raise OrderNotCancellable(f"{rest} allocated units could not be found to release.")
    return dict(where), touched


def _close_emptied_fulfillment_orders(fo_lines: list[FulfillmentOrderLine]) -> None:
    FulfillmentOrderLine.objects.bulk_update(fo_lines, ["quantity_cancelled"])
    for fo_id in {li.fulfillment_order_id for li in fo_lines}:
        fo = FulfillmentOrder.objects.get(pk=fo_id)
        lines = list(fo.lines.all())
        if any(li.quantity_open for li in lines):
            continue
        shipped = any(li.quantity_shipped for li in lines)
        fo.status = FulfillmentStatus.CLOSED if shipped else FulfillmentStatus.CANCELLED
        fo.hold_reason = ""
        fo.status_before_hold = ""
        fo.closed_at = timezone.now()
        fo.save(
            update_fields=["status", "hold_reason", "status_before_hold", "closed_at", "updated_at"]
        )


def _apply_releases(
    order: Order, plans: list[tuple[OrderLine, _Release]], *, actor: Actor, reason: str
) -> None:
    """Release network commitments and allocations (through the ledger), then update
    the buckets and any fulfillment orders the units came from."""
    network_release: dict[int, int] = defaultdict(int)
    for line, plan in plans:
        if plan.committed:
            network_release[line.product_id] += plan.committed
    deallocate, fo_lines = _deallocations(order, plans)
    product_ids = sorted({*network_release, *(pid for _, pid in deallocate)})
    if product_ids:
        networks = lock_network_rows(product_ids)
        if network_release:
            release_demand(dict(network_release), networks=networks)
        if deallocate:
            # Lock order: location rows, then stock rows.
            active = location_activity_for_share({loc for loc, _ in deallocate})
            levels = stock_levels_for_update(deallocate)
            changes = StockChangeSet(
                actor=actor,
                reference=order.number,
                note=reason,
                networks=networks,
                active_locations=active,
            )
            for pair, quantity in deallocate.items():
                changes.change(
                    levels[pair], StockBucket.ALLOCATED, -quantity, MovementReason.DEALLOCATION
                )
            changes.commit()
    if fo_lines:
        _close_emptied_fulfillment_orders(fo_lines)
    for line, plan in plans:
        line.quantity_backordered -= plan.backordered
        line.quantity_allocated -= plan.allocated


def settle_order_status(order: Order, lines: list[OrderLine]) -> str | None:
    """Move the order to cancelled (nothing live) or completed (everything live shipped)
    when its lines say so and the transition table allows it; returns the new status."""
    live = sum(line.quantity_live for line in lines)
    shipped = sum(line.quantity_shipped for line in lines)
    target = OrderStatus.CANCELLED if live == 0 else OrderStatus.COMPLETED
    if (live and shipped < live) or not can_transition(order.status, target):
        return None
    order.status = target
    if target == OrderStatus.CANCELLED:
        order.cancelled_at = timezone.now()
    else:
        order.completed_at = timezone.now()
    return target


def _save(order: Order, lines: list[OrderLine], *, line_fields: list[str]) -> None:
    order.fulfillment_status = derive_fulfillment_status(lines)
    OrderLine.objects.bulk_update(lines, [*line_fields, "tax_total"])
    order.save()


@transaction.atomic
def cancel_order(
    *,
    order_id: int,
    reason: str,
    actor: Actor,
    lines: dict[int, int] | None = None,
) -> Order:
    """Cancel a whole order (``lines=None``) or some units of some lines.

    ``lines`` maps line numbers to quantities. Any unit not yet shipped can be
    cancelled (allocated ones are taken back from their fulfillment order); asking for
    more gives ``OrderNotCancellable`` (409) and nothing changes. Releases network
    commitments and allocations through the ledger, re-derives totals and status,
    records the event and emits ``order.cancelled`` (the customer's e-mail).
    """
    if not reason.strip():
        raise InvalidInput("A cancellation needs a reason.", fields={"reason": "required"})
    order, order_lines = _lock(order_id)
    if order.status == OrderStatus.DRAFT:
        # A draft commits nothing (its reservation is its own), and a cancelled order
        # must have been placed (a CHECK constraint): releasing "its" units would take
        # them from other orders, and saving would fail.
        raise OrderNotCancellable(f"Order {order.number} is a draft; it was never placed.")
    if order.status not in OPEN:
        raise OrderNotCancellable(f"Order {order.number} is {order.get_status_display().lower()}.")
    by_number = {line.line_number: line for line in order_lines}
    if lines is None:
        wanted = {
            line.line_number: line.quantity_ordered
            - line.quantity_cancelled
            - line.quantity_shipped
            for line in order_lines
        }
        wanted = {n: q for n, q in wanted.items() if q > 0}
        if not wanted:
            raise OrderNotCancellable(f"Nothing left to cancel on order {order.number}.")
    else:
        wanted = dict(lines)
        unknown = sorted(set(wanted) - set(by_number))
        if unknown or not wanted:
            raise InvalidOrder(
                f"Order {order.number} has no line {unknown[0] if unknown else '(none given)'}.",
                fields={"lines": "unknown line"},
            )
        for number, quantity in wanted.items():
            if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
                raise InvalidOrder(
                    "Quantities to cancel must be positive whole numbers.",
                    fields={f"lines.{number}": "invalid"},
                )
            line = by_number[number]
            cancellable = line.quantity_ordered - line.quantity_cancelled - line.quantity_shipped
            if quantity > cancellable:
                raise OrderNotCancellable(
                    f"Line {number} ({line.sku}) has only {cancellable} units left to cancel.",
                    line=number,
                )
    plans = [(by_number[n], _plan_release(order, by_number[n], q)) for n, q in wanted.items()]
    _apply_releases(order, plans, actor=actor, reason=reason)
    for number, quantity in wanted.items():
        by_number[number].quantity_cancelled += quantity
    before_total = order.grand_total
    apply_totals(order, order_lines)
    new_status = settle_order_status(order, order_lines)
    _save(
        order,
        order_lines,
        line_fields=["quantity_cancelled", "quantity_backordered", "quantity_allocated"],
    )
    whole = new_status == OrderStatus.CANCELLED
    record_order_event(
        order=order,
        type=OrderEventType.CANCELLED if whole else OrderEventType.LINES_CANCELLED,
        actor=actor,
        message=("Order cancelled" if whole else "Lines cancelled") + f": {reason.strip()}",
        payload={
            "reason": reason.strip(),
            "lines": {by_number[n].sku + f"#{n}": q for n, q in wanted.items()},
            "grand_total_before": str(before_total),
            "grand_total_after": str(order.grand_total),
        },
    )
    outbox.emit("order.cancelled", {"order_id": order.pk, "whole": whole})
    return order


# --- edits ----------------------------------------------------------------------


def _editable(order: Order) -> None:
    """Refuse unless the order is open. Every edit calls it right after locking the
    order and before any stock row: an edit decides the credit hold again, so it takes
    its company's credit slots here, in their place in the lock order."""
    if order.status not in OPEN:
        raise OrderNotEditable(f"Order {order.number} is {order.status}; it cannot be edited.")
    hold_rules.lock_credit_decisions(order.company)


def _reevaluate_holds(order: Order, *, total_before: Decimal) -> list[str]:
    """Re-run the hold rules after an edit: add holds that now apply, release automatic
    holds whose condition has cleared. Fraud and manual holds stay for a person."""
    wanted = {
        d.kind: d.reason
        for d in hold_rules.decide_holds(order, after_edit=True, counted_total=total_before)
        if d.kind != HoldKind.FRAUD_REVIEW
    }
    open_holds = {
        h.kind: h for h in OrderHold.objects.filter(order=order, released_at__isnull=True)
    }
    changes = []
    system = Actor.system("hold rules")
    for kind, reason in wanted.items():
        if kind not in open_holds:
            OrderHold.objects.create(order=order, kind=kind, reason=reason, placed_by_label="rules")
            record_order_event(
                order=order,
                type=OrderEventType.HOLD_PLACED,
                actor=system,
                message=f"{HoldKind(kind).label} hold: {reason}",
                payload={"kind": kind},
            )
            changes.append(f"+{kind}")
    for kind, hold in open_holds.items():
        if kind in AUTO_RELEASABLE and kind not in wanted:
            hold.released_at = timezone.now()
            hold.release_reason = "Condition cleared after an edit."
            hold.save(update_fields=["released_at", "release_reason"])
            record_order_event(
                order=order,
                type=OrderEventType.HOLD_RELEASED,
                actor=system,
                message=f"{hold.get_kind_display()} hold released: condition cleared",
                payload={"kind": kind, "hold_id": hold.pk},
            )
            changes.append(f"-{kind}")
    return changes


def _commit_more(order: Order, line: OrderLine, extra: int) -> None:
    """Commit ``extra`` more units of a line (backordering where allowed)."""
    company = order.company
    product: Product = line.product
    backorderable = (
        {product.pk} if product.allow_backorder or (company and company.allow_backorders) else set()
    )
    if order.pickup_location_id:
        raise OrderNotEditable(
            "Quantities of a pickup order are changed by cancelling and reordering."
        )
    try:
        result = commit_demand({product.pk: extra}, backorderable=backorderable)
    except InsufficientStock as exc:
        short = exc.details["shortages"][0]
        raise InsufficientStock(
            f"Not enough stock for {line.sku} ({short['available']} available).",
            lines=[
                {
                    "line": line.line_number,
                    "sku": line.sku,
                    "requested": extra,
                    "available": short["available"],
                }
            ],
        ) from exc
    line.quantity_backordered += result.backordered.get(product.pk, 0)


def _finish_edit(
    order: Order,
    lines: list[OrderLine],
    *,
    actor: Actor,
    what: str,
    before: dict[str, Any],
    after: dict[str, Any],
    line_fields: list[str],
) -> Order:
    total_before = order.grand_total
    before["grand_total"] = str(total_before)
    apply_totals(order, lines)
    after["grand_total"] = str(order.grand_total)
    _save(order, lines, line_fields=line_fields)
    holds = _reevaluate_holds(order, total_before=total_before)
    if holds:
        # A hold that opened or closed with the edit stops or restarts the order's
        # fulfillment orders in this same transaction.
        # fulfillment.holds imports orders.services, which imports this module: the edit
        # becomes a fulfillment workflow (issue 11, step S7), which removes this import.
        from fulfillment.holds import sync_fulfillment_holds  # noqa: PLC0415 - cycle, until S7

        sync_fulfillment_holds(order=order, actor=actor)
    record_order_event(
        order=order,
        type=OrderEventType.EDITED,
        actor=actor,
        message=what,
        payload={"before": before, "after": after, "holds": holds},
    )
    outbox.emit("order.edited", {"order_id": order.pk})
    return order


@transaction.atomic
def change_line_quantity(*, order_id: int, line_number: int, quantity: int, actor: Actor) -> Order:
    """Set a line's ordered quantity. It cannot drop below what is cancelled, shipped
    or allocated; more units are committed (or refused with 409), fewer released.
    The line is re-priced at the new quantity (contract price breaks)."""
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
        raise InvalidOrder("The quantity must be a positive whole number.")
    order, lines = _lock(order_id)
    _editable(order)
    line = next((li for li in lines if li.line_number == line_number), None)
    if line is None:
        raise InvalidOrder(f"Order {order.number} has no line {line_number}.")
    floor = line.quantity_cancelled + line.quantity_shipped + line.quantity_allocated + 1
    if quantity < floor:
        raise OrderNotEditable(
            f"Line {line_number} cannot go below {floor} units (shipped, allocated or "
            "cancelled units stay)."
        )
    before = {
        "line": line_number,
        "quantity": line.quantity_ordered,
        "unit_price": str(line.unit_price),
    }
    delta = quantity - line.quantity_ordered
    if delta > 0:
        _commit_more(order, line, delta)
    elif delta < 0:
        plan = _plan_release(order, line, -delta)
        _apply_releases(order, [(line, plan)], actor=actor, reason="quantity reduced")
    line.quantity_ordered = quantity
    breaks = contract_prices(order.company, [line.product_id]).get(line.product_id, [])
    line.unit_price = unit_price_for(line.product, quantity, breaks)
    line.line_total = money(line.unit_price * quantity) - line.discount_total
    after = {"line": line_number, "quantity": quantity, "unit_price": str(line.unit_price)}
    return _finish_edit(
        order,
        lines,
        actor=actor,
        what=f"Line {line_number} quantity {before['quantity']} → {quantity}",
        before=before,
        after=after,
        line_fields=[
            "quantity_ordered",
            "quantity_backordered",
            "quantity_allocated",
            "unit_price",
            "line_total",
        ],
    )


@transaction.atomic
def add_line(
    *,
    order_id: int,
    sku: str,
    quantity: int,
    actor: Actor,
    customization: dict[str, Any] | None = None,
) -> Order:
    """Add a SKU to an open order, priced and committed like at placement."""
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
        raise InvalidOrder("The quantity must be a positive whole number.")
    order, lines = _lock(order_id)
    _editable(order)
    product = Product.objects.filter(sku=sku.strip().upper(), is_active=True).first()
    if product is None:
        raise UnknownSku(f"Unknown SKU {sku!r}.", skus=[sku])
    number = max((li.line_number for li in lines), default=0) + 1
    breaks = contract_prices(order.company, [product.pk]).get(product.pk, [])
    unit_price = unit_price_for(product, quantity, breaks)
    line = OrderLine(
        order=order,
        line_number=number,
        product=product,
        sku=product.sku,
        description=product.name,
        unit_price=unit_price,
        line_total=money(unit_price * quantity),
        customization=clean_customization(number - 1, product, customization or {}),
        quantity_ordered=quantity,
    )
    _commit_more(order, line, quantity)
    line.save(force_insert=True)
    lines.append(line)
    return _finish_edit(
        order,
        lines,
        actor=actor,
        what=f"Added line {number}: {quantity} × {product.sku}",
        before={"lines": len(lines) - 1},
        after={
            "line": number,
            "sku": product.sku,
            "quantity": quantity,
            "unit_price": str(unit_price),
        },
        line_fields=["tax_total"],
    )


# --- where the order goes ---------------------------------------------------------
#
# The pieces below change an order's destination (ship-to address, shipping method).
# ``change_shipping_address`` / ``change_shipping_method`` here serve orders not yet
# routed; a routed order's fulfillment orders must move too, which is the workflow of
# ``fulfillment.rerouting`` (it uses these pieces, under the same order lock).

SHIP_TO_FIELDS = (
    "ship_name",
    "ship_line1",
    "ship_line2",
    "ship_city",
    "ship_region",
    "ship_postal_code",
    "ship_country",
    "ship_phone",
    "ship_latitude",
    "ship_longitude",
)


def lock_order(order_id: int) -> tuple[Order, list[OrderLine]]:
    """The order under its row lock (the top of the global lock order), and its lines."""
    return _lock(order_id)


def ensure_editable(order: Order) -> None:
    """Refuse (409 ``order_not_editable``) unless the order is placed or processing."""
    _editable(order)


def destination_of(order: Order) -> dict[str, Any]:
    """What a change of destination shows before and after, for the timeline."""
    promised = order.promised_delivery_date
    return {
        "name": order.ship_name,
        "address": order.ship_to_one_line,
        "shipping_method": order.shipping_method.code,
        "shipping_total": str(order.shipping_total),
        "tax_total": str(order.tax_total),
        "grand_total": str(order.grand_total),
        "promised_delivery_date": promised.isoformat() if promised else None,
    }


def set_shipping_address(order: Order, address: dict[str, Any]) -> bool:
    """Point ``order`` (in memory) at a new ship-to address, checked by
    ``clean_postal_address``, taxed at the new destination's rate. Returns False, with
    nothing to save, when it is the address the order already has."""
    if order.pickup_location_id:
        raise OrderNotEditable("A pickup order has no shipping address.")
    cleaned = clean_postal_address(address)
    before = [getattr(order, name) for name in SHIP_TO_FIELDS]
    snapshot_address(order, cleaned, order.customer)
    if [getattr(order, name) for name in SHIP_TO_FIELDS] == before:
        return False
    if not (order.company and order.company.tax_exempt):
        rate = cached_tax_rate(order.ship_country, order.ship_region)
        order.tax_rate = rate.rate if rate else Decimal("0")
        order.tax_shipping = bool(rate and rate.taxes_shipping)
    return True


def set_shipping_method(order: Order, code: str) -> bool:
    """Switch ``order`` (in memory) to another delivery method; the shipping charge
    follows. Returns False, with nothing to save, when it is the method it has."""
    method = get_active_shipping_method(code)
    if method.is_pickup or order.pickup_location_id:
        raise OrderNotEditable("Switching to or from store pickup means a new order.")
    if method.pk == order.shipping_method_id:
        return False
    order.shipping_method = method
    order.shipping_total = method.price
    return True


def save_destination_change(
    order: Order, lines: list[OrderLine], *, total_before: Decimal, line_fields: list[str]
) -> list[str]:
    """Totals from the lines (tax at the new rate, the new shipping charge), the order
    and its lines saved, and the hold rules run again; returns the holds added (+kind)
    and released (-kind)."""
    apply_totals(order, lines)
    _save(order, lines, line_fields=line_fields)
    return _reevaluate_holds(order, total_before=total_before)


def record_destination_change(
    order: Order,
    *,
    actor: Actor,
    what: str,
    before: dict[str, Any],
    after: dict[str, Any],
    holds: list[str],
) -> None:
    """One timeline event showing the destination before and after, and
    ``order.edited`` for what follows an edit."""
    record_order_event(
        order=order,
        type=OrderEventType.EDITED,
        actor=actor,
        message=what,
        payload={"before": before, "after": after, "holds": holds},
    )
    outbox.emit("order.edited", {"order_id": order.pk})


def _nothing_shipped_or_routed(order: Order, lines: list[OrderLine], what: str) -> None:
    if any(li.quantity_shipped for li in lines) or (
        not order.pickup_location_id and any(li.quantity_allocated for li in lines)
    ):
        raise OrderNotEditable(
            f"The {what} of order {order.number} cannot change once it is routed or shipped."
        )


@transaction.atomic
def change_shipping_address(*, order_id: int, address: dict[str, Any], actor: Actor) -> Order:
    """Replace the ship-to address of an order not yet routed; tax, totals and the
    delivery promise follow the new destination. The same address records nothing.
    Raises ``OrderNotEditable`` (409) once it is routed or shipped."""
    order, lines = _lock(order_id)
    _editable(order)
    if order.pickup_location_id:
        raise OrderNotEditable("A pickup order has no shipping address.")
    _nothing_shipped_or_routed(order, lines, "shipping address")
    before = destination_of(order)
    total_before = order.grand_total
    if not set_shipping_address(order, address):
        return order
    return _finish_destination_change(
        order,
        lines,
        actor=actor,
        what="Shipping address changed",
        before=before,
        total_before=total_before,
    )


@transaction.atomic
def change_shipping_method(*, order_id: int, code: str, actor: Actor) -> Order:
    """Switch the delivery method of an order not yet routed; the shipping charge,
    totals and the delivery promise follow. The same method records nothing. Raises
    ``OrderNotEditable`` (409) once it is routed or shipped."""
    order, lines = _lock(order_id)
    _editable(order)
    _nothing_shipped_or_routed(order, lines, "shipping method")
    before = destination_of(order)
    total_before = order.grand_total
    if not set_shipping_method(order, code):
        return order
    return _finish_destination_change(
        order,
        lines,
        actor=actor,
        what=f"Shipping method {before['shipping_method']} → {order.shipping_method.code}",
        before=before,
        total_before=total_before,
    )


def _finish_destination_change(
    order: Order,
    lines: list[OrderLine],
    *,
    actor: Actor,
    what: str,
    before: dict[str, Any],
    total_before: Decimal,
) -> Order:
    order.promised_delivery_date = promise_order(order, now=timezone.now()).delivery_date
    holds = save_destination_change(order, lines, total_before=total_before, line_fields=[])
    record_destination_change(
        order, actor=actor, what=what, before=before, after=destination_of(order), holds=holds
    )
    return order
