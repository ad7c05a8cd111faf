"""Order-level rules for changing a placed order: which units a cancellation or a
smaller quantity gives back (bucket by bucket), what may be edited, and the totals,
status, holds and timeline events that follow.

The workflows that also take units back from fulfillment orders, or make fulfillment
orders follow the holds (``cancel_order``, ``change_line_quantity``, ``add_line``, and
a change of destination once routed), live in ``fulfillment.changes`` and
``fulfillment.rerouting``: they call the pieces here in order, in one transaction,
under the order lock taken by ``lock_order``.

The order row is locked first (the top of the global lock order), then network rows,
then stock rows. Line rows are only ever changed under their order's lock, so they
need no lock of their own.

Units of a line are, in order of release: backordered (nothing held), committed to
the network (``NetworkStock.committed``), allocated at a location. Allocations of a
pickup order sit at its store; allocations made by routing belong to fulfillment
orders, and ``fulfillment.changes`` says where they sit.
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
from .store_credit import settle_store_credit

OPEN = (OrderStatus.PLACED, OrderStatus.PROCESSING)
AUTO_RELEASABLE = (HoldKind.CREDIT_LIMIT, HoldKind.B2B_APPROVAL, HoldKind.ADDRESS)


def lock_order(order_id: int) -> tuple[Order, list[OrderLine]]:
    """The order under its row lock (the top of the global lock order), and its lines."""
    order = (
        Order.objects.select_for_update(no_key=True, of=("self",))
        .select_related("company", "customer", "shipping_method", "pickup_location")
        .get(pk=order_id)
    )
    lines = list(order.lines.select_related("product").order_by("line_number"))
    return order, lines


# --- cancellation -----------------------------------------------------------------


@dataclass
class Release:
    """What giving back ``quantity`` units of a line frees, bucket by bucket."""

    backordered: int = 0
    committed: int = 0
    allocated: int = 0


def plan_release(order: Order, line: OrderLine, quantity: int) -> Release:
    """Units leave in this order: backordered, committed, then allocated (unshipped
    units at a location, released from their fulfillment order or pickup store)."""
    plan = Release()
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


def units_to_cancel(
    order: Order, lines: list[OrderLine], requested: dict[int, int] | None
) -> dict[int, int]:
    """Line number -> units to cancel: every unit not yet shipped (``requested=None``),
    or the units asked for, each checked against what is left. Raises
    ``OrderNotCancellable`` (409) for a draft, an order no longer open or more units than
    are left, ``InvalidOrder`` (400) for an unknown line or a quantity that is not a
    positive whole number."""
    if order.status == OrderStatus.DRAFT:
        # A draft commits nothing (its reservation is its own), and a cancelled order
        # must have been placed (a CHECK constraint): releasing "its" units would take
        # them from other orders, and saving would fail.
        raise OrderNotCancellable(f"Order {order.number} is a draft; it was never placed.")
    if order.status not in OPEN:
        raise OrderNotCancellable(f"Order {order.number} is {order.get_status_display().lower()}.")
    by_number = {line.line_number: line for line in lines}
    if requested is None:
        wanted = {
            line.line_number: line.quantity_ordered
            - line.quantity_cancelled
            - line.quantity_shipped
            for line in lines
        }
        wanted = {n: q for n, q in wanted.items() if q > 0}
        if not wanted:
            raise OrderNotCancellable(f"Nothing left to cancel on order {order.number}.")
        return wanted
    wanted = dict(requested)
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
    return wanted


def release_units(
    order: Order,
    plans: list[tuple[OrderLine, Release]],
    *,
    deallocate: dict[tuple[int, int], int],
    actor: Actor,
    reason: str,
) -> None:
    """Release the planned network commitments and the allocations ``deallocate`` says
    where they sit ((location, product) -> units), through the ledger, then take the
    units out of the lines' buckets (in memory; the caller saves the lines)."""
    network_release: dict[int, int] = defaultdict(int)
    for line, plan in plans:
        if plan.committed:
            network_release[line.product_id] += plan.committed
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


def record_cancellation(
    order: Order, lines: list[OrderLine], wanted: dict[int, int], *, reason: str, actor: Actor
) -> Order:
    """Count ``wanted`` (line number -> units, released already) as cancelled,
    re-derive totals and status, save the order and its lines, record the event and
    emit ``order.cancelled`` (the customer's e-mail)."""
    by_number = {line.line_number: line for line in lines}
    for number, quantity in wanted.items():
        by_number[number].quantity_cancelled += quantity
    before_total = order.grand_total
    apply_totals(order, lines)
    new_status = settle_order_status(order, lines)
    _save(
        order,
        lines,
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
    # A store-credit order gives the cancelled value back to the customer's balance.
    settle_store_credit(order, actor=actor)
    outbox.emit(
        "order.cancelled",
        {"order_id": order.pk, "whole": whole, "amount": str(before_total - order.grand_total)},
    )
    return order


# --- edits ----------------------------------------------------------------------


def ensure_editable(order: Order) -> None:
    """Refuse (409 ``order_not_editable``) unless the order is placed or processing.
    Every edit calls it right after locking the order and before any stock row: an
    edit decides the credit hold again, so it takes its company's credit slots here,
    in their place in the lock order."""
    if order.status not in OPEN:
        raise OrderNotEditable(f"Order {order.number} is {order.status}; it cannot be edited.")
    hold_rules.lock_credit_decisions(order.company)


def require_whole_quantity(quantity: int) -> None:
    """Refuse (400) a quantity that is not a positive whole number."""
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
        raise InvalidOrder("The quantity must be a positive whole number.")


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
    added = [change[1:] for change in changes]
    if added:
        outbox.emit("order.on_hold", {"order_id": order.pk, "kinds": added})
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
    still_held = added or any(kind not in AUTO_RELEASABLE or kind in wanted for kind in open_holds)
    if open_holds and not still_held:
        # The edit cleared the last hold: the order goes on as a release would let it.
        outbox.emit("order.released", {"order_id": order.pk})
    return changes


def commit_more(order: Order, line: OrderLine, extra: int) -> None:
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


def line_to_resize(
    order: Order, lines: list[OrderLine], line_number: int, quantity: int
) -> OrderLine:
    """The line whose ordered quantity becomes ``quantity``; refused when there is no
    such line (400) or below what is cancelled, shipped or allocated (409)."""
    line = next((li for li in lines if li.line_number == line_number), None)
    if line is None:
        raise InvalidOrder(f"Order {order.number} has no line {line_number}.")
    floor = line.quantity_cancelled + line.quantity_shipped + line.quantity_allocated + 1
    if quantity < floor:
        raise OrderNotEditable(
            f"Line {line_number} cannot go below {floor} units (shipped, allocated or "
            "cancelled units stay)."
        )
    return line


def reprice_line(order: Order, line: OrderLine, quantity: int) -> None:
    """Set the line's ordered quantity and price it at that quantity (contract price
    breaks), in memory."""
    line.quantity_ordered = quantity
    breaks = contract_prices(order.company, [line.product_id]).get(line.product_id, [])
    line.unit_price = unit_price_for(line.product, quantity, breaks)
    line.line_total = money(line.unit_price * quantity) - line.discount_total


def append_line(
    order: Order,
    lines: list[OrderLine],
    *,
    sku: str,
    quantity: int,
    customization: dict[str, Any] | None,
) -> OrderLine:
    """Add a line for ``sku`` to the locked order, priced and committed like at
    placement; saved, and appended to ``lines``."""
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
    commit_more(order, line, quantity)
    line.save(force_insert=True)
    lines.append(line)
    return line


def save_edit(
    order: Order, lines: list[OrderLine], *, total_before: Decimal, line_fields: list[str]
) -> list[str]:
    """Totals from the lines (tax at the order's rate, its shipping charge), the order
    and its lines saved, and the hold rules run again; returns the holds added (+kind)
    and released (-kind)."""
    apply_totals(order, lines)
    _save(order, lines, line_fields=line_fields)
    return _reevaluate_holds(order, total_before=total_before)


def record_edit(
    order: Order,
    *,
    actor: Actor,
    what: str,
    before: dict[str, Any],
    after: dict[str, Any],
    holds: list[str],
) -> None:
    """One timeline event showing the order before and after the edit, and
    ``order.edited`` for what follows an edit. A store-credit order spends a higher
    total from the customer's balance (or the edit is refused, 422) and gets a lower
    one's difference back."""
    record_order_event(
        order=order,
        type=OrderEventType.EDITED,
        actor=actor,
        message=what,
        payload={"before": before, "after": after, "holds": holds},
    )
    settle_store_credit(order, actor=actor)
    outbox.emit("order.edited", {"order_id": order.pk})


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
    order, lines = lock_order(order_id)
    ensure_editable(order)
    if order.pickup_location_id:
        raise OrderNotEditable("A pickup order has no shipping address.")
    _nothing_shipped_or_routed(order, lines, "shipping address")
    before = destination_of(order)
    total_before = order.grand_total
    if not set_shipping_address(order, address):
        return order
    changed = _finish_destination_change(
        order,
        lines,
        actor=actor,
        what="Shipping address changed",
        before=before,
        total_before=total_before,
    )
    # The customer hears of every change of where the order goes (oms.notifications).
    outbox.emit("order.address_changed", {"order_id": order.pk})
    return changed


@transaction.atomic
def change_shipping_method(*, order_id: int, code: str, actor: Actor) -> Order:
    """Switch the delivery method of an order not yet routed; the shipping charge,
    totals and the delivery promise follow. The same method records nothing. Raises
    ``OrderNotEditable`` (409) once it is routed or shipped."""
    order, lines = lock_order(order_id)
    ensure_editable(order)
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
    holds = save_edit(order, lines, total_before=total_before, line_fields=[])
    record_edit(
        order, actor=actor, what=what, before=before, after=destination_of(order), holds=holds
    )
    return order
