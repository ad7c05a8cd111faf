"""Cancelling and editing a placed order, with its fulfillment orders: the entry points
for the admin, the API and the demo.

A cancellation or a smaller quantity can take back units a location already holds for a
fulfillment order; an edit can open or close a hold, which stops or restarts the order's
fulfillment orders. Each workflow here runs in one transaction and calls, in order, the
order-level pieces of ``orders.changes`` (what is left to cancel, which buckets the units
leave, totals, status, holds, events) and the fulfillment steps between them.

Locks, in the global order: the order row (``lock_order``), the company's credit slots
for an edit (``ensure_editable``), network rows, location rows, stock rows. Fulfillment
orders and their lines hang off the order row and are changed under its lock.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.db import transaction
from django.utils import timezone

from core.actors import Actor
from core.errors import InvalidInput
from customers.models import Customer
from orders import services as order_services
from orders.changes import (
    Release,
    append_line,
    commit_more,
    ensure_editable,
    line_to_resize,
    lock_order,
    plan_release,
    record_cancellation,
    record_edit,
    release_units,
    reprice_line,
    require_whole_quantity,
    save_edit,
    units_to_cancel,
)
from orders.errors import OrderNotCancellable
from orders.models import Order, OrderLine

from .holds import sync_fulfillment_holds
from .models import FulfillmentOrder, FulfillmentOrderLine, FulfillmentStatus


def _deallocations(
    order: Order, plans: list[tuple[OrderLine, Release]]
) -> tuple[dict[tuple[int, int], int], list[FulfillmentOrderLine]]:
    """Where the allocated units to release sit: (location, product) -> units, taken
    from open fulfillment-order lines first, then a pickup store's pre-routing hold.
    The fulfillment-order lines that give units are returned with their
    ``quantity_cancelled`` raised (in memory)."""
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


def _release(
    order: Order, plans: list[tuple[OrderLine, Release]], *, actor: Actor, reason: str
) -> None:
    """Release network commitments and allocations (through the ledger), then update
    the line buckets and the fulfillment orders the units came from."""
    deallocate, fo_lines = _deallocations(order, plans)
    release_units(order, plans, deallocate=deallocate, actor=actor, reason=reason)
    if fo_lines:
        _close_emptied_fulfillment_orders(fo_lines)


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
    cancelled (allocated ones are taken back from their fulfillment order, which closes
    when nothing is left on it); asking for more gives ``OrderNotCancellable`` (409) and
    nothing changes. Releases network commitments and allocations through the ledger,
    re-derives totals and status, records the event and emits ``order.cancelled`` (the
    customer's e-mail).
    """
    if not reason.strip():
        raise InvalidInput("A cancellation needs a reason.", fields={"reason": "required"})
    order, order_lines = lock_order(order_id)
    wanted = units_to_cancel(order, order_lines, lines)
    by_number = {line.line_number: line for line in order_lines}
    plans = [(by_number[n], plan_release(order, by_number[n], q)) for n, q in wanted.items()]
    _release(order, plans, actor=actor, reason=reason)
    return record_cancellation(order, order_lines, wanted, reason=reason, actor=actor)


@transaction.atomic
def reject_order(*, order_id: int, approver: Customer, reason: str, actor: Actor) -> Order:
    """The company's approver refuses the order: the approval hold is closed with the
    reason (``orders.services.refuse_approval``) and the whole order is cancelled (its
    stock released, the buyer told)."""
    order = order_services.refuse_approval(
        order_id=order_id, approver=approver, reason=reason, actor=actor
    )
    return cancel_order(
        order_id=order.pk, reason=f"Rejected by the approver: {reason.strip()}", actor=actor
    )


# --- edits ----------------------------------------------------------------------


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
    holds = save_edit(order, lines, total_before=total_before, line_fields=line_fields)
    after["grand_total"] = str(order.grand_total)
    if holds:
        # A hold that opened or closed with the edit stops or restarts the order's
        # fulfillment orders in this same transaction.
        sync_fulfillment_holds(order=order, actor=actor)
    record_edit(order, actor=actor, what=what, before=before, after=after, holds=holds)
    return order


@transaction.atomic
def change_line_quantity(*, order_id: int, line_number: int, quantity: int, actor: Actor) -> Order:
    """Set a line's ordered quantity. It cannot drop below what is cancelled, shipped
    or allocated; more units are committed (or refused with 409), fewer released.
    The line is re-priced at the new quantity (contract price breaks); holds are
    decided again and the fulfillment orders follow them."""
    require_whole_quantity(quantity)
    order, lines = lock_order(order_id)
    ensure_editable(order)
    line = line_to_resize(order, lines, line_number, quantity)
    before = {
        "line": line_number,
        "quantity": line.quantity_ordered,
        "unit_price": str(line.unit_price),
    }
    delta = quantity - line.quantity_ordered
    if delta > 0:
        commit_more(order, line, delta)
    elif delta < 0:
        plan = plan_release(order, line, -delta)
        _release(order, [(line, plan)], actor=actor, reason="quantity reduced")
    reprice_line(order, line, quantity)
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
    """Add a SKU to an open order, priced and committed like at placement; holds are
    decided again and the fulfillment orders follow them."""
    require_whole_quantity(quantity)
    order, lines = lock_order(order_id)
    ensure_editable(order)
    line = append_line(order, lines, sku=sku, quantity=quantity, customization=customization)
    return _finish_edit(
        order,
        lines,
        actor=actor,
        what=f"Added line {line.line_number}: {quantity} × {line.sku}",
        before={"lines": len(lines) - 1},
        after={
            "line": line.line_number,
            "sku": line.sku,
            "quantity": quantity,
            "unit_price": str(line.unit_price),
        },
        line_fields=["tax_total"],
    )
