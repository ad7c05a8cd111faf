"""Routing: turn an order's network commitments into allocations at locations.

``route_order`` reads the candidate stock without locks, plans, then locks (order →
network rows → location rows → stock rows) and allocates, re-checking each unit under
the locks. The network rows of every product the order may touch (its lines with units
not yet allocated or shipped, backordered ones included) are locked in one call,
sorted: before promoting backorders when there are some, else after planning. Locking
the backordered products first and the plan's later could take a lower product id
after a higher one, against placement's order (see ``inventory.locks``).

The recipe is the ordered, editable ``RoutingRule`` list: filter steps drop
locations, ranking steps order the plans. Every run stores a ``RoutingDecision``
whose trace says, per location, why it was dropped or where it ranked.
"""

from __future__ import annotations

import logging
import random
import secrets
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import Count, Exists, F, Max, Min, OuterRef
from django.utils import timezone

from core import outbox
from core import rows as sql_rows
from core.actors import Actor
from core.geo import distance_km
from core.models import OutboxEvent
from inventory.commitments import commit_demand, lock_network_rows, release_demand
from inventory.errors import InsufficientStock
from inventory.locks import location_activity_for_share, stock_levels_for_update
from inventory.models import (
    Location,
    LocationKind,
    MovementReason,
    NetworkStock,
    StockBucket,
    StockLevel,
    StockMovement,
)
from inventory.services import StockChangeSet, location_contribution
from orders.events import record_order_event
from orders.models import (
    Order,
    OrderEvent,
    OrderEventType,
    OrderHold,
    OrderLine,
    OrderStatus,
)
from shipping.promise import ship_date

from . import sql
from .models import (
    FILTER_STEPS,
    FulfillmentOrder,
    FulfillmentOrderLine,
    RequestStatus,
    RoutingDecision,
    RoutingRule,
    RoutingStep,
)
from .promise import routed_delivery_date

logger = logging.getLogger(__name__)

ROUTABLE = (OrderStatus.PLACED, OrderStatus.PROCESSING)
SYSTEM = Actor.system("routing")


@dataclass
class Candidate:
    location: Location
    free: dict[int, int]  # product id -> units free after safety stock
    km: float | None = None
    dropped: str = ""


@dataclass
class Plan:
    assignments: dict[int, dict[int, int]] = field(default_factory=dict)  # loc -> line -> qty

    def add(self, location_id: int, line_id: int, quantity: int) -> None:
        per_location = self.assignments.setdefault(location_id, {})
        per_location[line_id] = per_location.get(line_id, 0) + quantity


def _rules() -> list[RoutingRule]:
    return list(RoutingRule.objects.filter(is_enabled=True).order_by("position"))


def _lock_order(order_id: int) -> tuple[Order, list[OrderLine]]:
    order = (
        Order.objects.select_for_update(no_key=True, of=("self",))
        .select_related("shipping_method", "pickup_location", "company")
        .get(pk=order_id)
    )
    lines = list(order.lines.select_related("product").order_by("line_number"))
    return order, lines


def _products_to_lock(lines: list[OrderLine]) -> list[int]:
    """Every product routing may commit, allocate or release for: the lines with units
    neither allocated, shipped nor cancelled (backordered ones included)."""
    return sorted({line.product_id for line in lines if line.quantity_open > 0})


def _promote_backorders(
    lines: list[OrderLine], networks: dict[int, NetworkStock], trace: list[dict[str, Any]]
) -> None:
    """Commit backordered units the network can now cover (``networks``: locked)."""
    wanted: dict[int, int] = defaultdict(int)
    for line in lines:
        if line.quantity_backordered:
            wanted[line.product_id] += line.quantity_backordered
    if not wanted:
        return
    result = commit_demand(dict(wanted), backorderable=set(wanted), networks=networks)
    for line in lines:
        take = min(result.committed.get(line.product_id, 0), line.quantity_backordered)
        if take:
            line.quantity_backordered -= take
            result.committed[line.product_id] -= take
            trace.append(
                {
                    "step": "backorder",
                    "line": line.line_number,
                    "sku": line.sku,
                    "result": "committed",
                    "reason": f"{take} backordered units now in stock",
                }
            )


def _open_need(lines: list[OrderLine]) -> dict[int, int]:
    """Committed units of each line not yet allocated to a location."""
    need = {}
    for line in lines:
        units = line.quantity_open - line.quantity_backordered
        if units > 0:
            need[line.pk] = units
    return need


def _capacity_used(location_ids: list[int]) -> dict[int, int]:
    today = timezone.localdate()
    rows = (
        FulfillmentOrder.objects.filter(location_id__in=location_ids, created_at__date=today)
        .values("location_id")
        .annotate(n=Count("id"))
    )
    return {row["location_id"]: row["n"] for row in rows}


def _candidates(
    order: Order,
    lines: list[OrderLine],
    need: dict[int, int],
    rules: list[RoutingRule],
    trace: list[dict[str, Any]],
) -> list[Candidate]:
    product_ids = {line.product_id for line in lines if line.pk in need}
    levels = list(StockLevel.objects.select_related("location").filter(product_id__in=product_ids))
    steps = {rule.step for rule in rules}
    used = (
        _capacity_used(sorted({level.location_id for level in levels}))
        if RoutingStep.CAPACITY in steps
        else {}
    )
    # A location that gave back lines of this order does not get them again.
    rejected_by = set(
        FulfillmentOrderLine.objects.filter(
            order_line__order=order, quantity_rejected__gt=0
        ).values_list("fulfillment_order__location_id", flat=True)
    )
    return _screen(
        order, lines, need, rules, levels, used=used, rejected_by=rejected_by, trace=trace
    )


def _screen(
    order: Order,
    lines: list[OrderLine],
    need: dict[int, int],
    rules: list[RoutingRule],
    levels: list[StockLevel],
    *,
    used: dict[int, int],
    rejected_by: set[int],
    trace: list[dict[str, Any]],
) -> list[Candidate]:
    """The locations holding the needed products (``levels``, with their locations),
    run through the rules' filter steps; every location is traced. Reads nothing:
    ``used`` is today's fulfillment orders per location, ``rejected_by`` the locations
    that gave back lines of this order."""
    product_ids = {line.product_id for line in lines if line.pk in need}
    by_location: dict[int, Candidate] = {}
    for level in levels:
        if level.product_id not in product_ids:
            continue
        candidate = by_location.setdefault(level.location_id, Candidate(level.location, {}))
        candidate.free[level.product_id] = level.available_to_promise
    dest_lat, dest_lng = order.ship_latitude, order.ship_longitude
    for candidate in by_location.values():
        loc = candidate.location
        if (
            dest_lat is not None
            and dest_lng is not None
            and loc.latitude is not None
            and loc.longitude is not None
        ):
            candidate.km = distance_km(loc.latitude, loc.longitude, dest_lat, dest_lng)
    ctx = _FilterContext(
        order=order,
        lines=[line for line in lines if line.pk in need],
        used=used,
        free={loc_id: c.free for loc_id, c in by_location.items()},
        rejected_by=rejected_by,
    )
    for candidate in sorted(by_location.values(), key=lambda c: c.location.code):
        loc = candidate.location
        for rule in rules:
            if rule.step not in FILTER_STEPS:
                continue
            reason = FILTERS[RoutingStep(rule.step)](loc, ctx)
            if reason:
                candidate.dropped = f"{rule.get_step_display()}: {reason}"
                break
        trace.append(
            {
                "step": "candidate",
                "location": loc.code,
                "result": "dropped" if candidate.dropped else "eligible",
                "reason": candidate.dropped
                or f"free {sum(candidate.free.values())} units"
                + (f", {candidate.km:.0f} km" if candidate.km is not None else ""),
            }
        )
    return [c for c in by_location.values() if not c.dropped]


def _active(loc: Location, ctx: _FilterContext) -> str:
    return "" if loc.is_active else "location is closed"


def _capable(loc: Location, ctx: _FilterContext) -> str:
    if loc.pk in ctx.rejected_by:
        return "rejected lines of this order before"
    if ctx.order.pickup_location_id:
        return "" if loc.pk == ctx.order.pickup_location_id else "not the pickup store"
    if not loc.ships:
        return "does not ship to customers"
    if not any(_can_handle(loc, line) for line in ctx.lines):
        return "cannot handle these items (customization or dropship vendor)"
    return ""


def _stocked(loc: Location, ctx: _FilterContext) -> str:
    free = ctx.free[loc.pk]
    if not any(free.get(line.product_id, 0) > 0 for line in ctx.lines):
        return "no free stock after safety stock"
    return ""


def _has_capacity(loc: Location, ctx: _FilterContext) -> str:
    if loc.daily_capacity is not None and ctx.used.get(loc.pk, 0) >= loc.daily_capacity:
        return f"daily capacity {loc.daily_capacity} reached"
    return ""


@dataclass
class _FilterContext:
    order: Order
    lines: list[OrderLine]
    used: dict[int, int]
    free: dict[int, dict[int, int]]
    rejected_by: set[int]


FILTERS = {
    RoutingStep.ACTIVE: _active,
    RoutingStep.CAPABILITY: _capable,
    RoutingStep.STOCK: _stocked,
    RoutingStep.CAPACITY: _has_capacity,
}


def _can_handle(loc: Location, line: OrderLine) -> bool:
    product = line.product
    if product.dropship_vendor_id:
        return loc.pk == product.dropship_vendor_id
    if loc.kind == LocationKind.DROPSHIP_VENDOR:
        return False
    return not (line.customization and not loc.customization)


def _groups(
    lines: list[OrderLine], need: dict[int, int], rules: list[RoutingRule]
) -> list[list[OrderLine]]:
    """Lines that must ship together form one group; the rest are groups of one."""
    together = next((r for r in rules if r.step == RoutingStep.SHIP_TOGETHER), None)
    open_lines = [line for line in lines if line.pk in need]
    if together is None:
        return [[line] for line in open_lines]
    skus = {str(s).upper() for s in (together.parameters or {}).get("skus", [])}
    grouped = [line for line in open_lines if not skus or line.sku in skus]
    rest = [[line] for line in open_lines if line not in grouped]
    return ([grouped] if grouped else []) + rest


def _covers(candidate: Candidate, group: list[OrderLine], need: dict[int, int]) -> bool:
    free = dict(candidate.free)
    for line in group:
        if not _can_handle(candidate.location, line):
            return False
        if free.get(line.product_id, 0) < need[line.pk]:
            return False
        free[line.product_id] -= need[line.pk]
    return True


def _rank_key(candidate: Candidate, rules: list[RoutingRule]) -> tuple[Any, ...]:
    key: list[Any] = []
    for rule in rules:
        if rule.step == RoutingStep.DISTANCE:
            key.append(candidate.km if candidate.km is not None else float("inf"))
        elif rule.step == RoutingStep.PRIORITY:
            key.append(candidate.location.priority)
        elif rule.step == RoutingStep.COST:
            key.append(candidate.location.cost_per_shipment)
    key.append(candidate.location.code)
    return tuple(key)


def _plan(
    candidates: list[Candidate],
    groups: list[list[OrderLine]],
    need: dict[int, int],
    rules: list[RoutingRule],
    trace: list[dict[str, Any]],
) -> Plan:
    fewest = any(r.step == RoutingStep.FEWEST_SHIPMENTS for r in rules)
    ranked = sorted(candidates, key=lambda c: _rank_key(c, rules))
    for position, candidate in enumerate(ranked, start=1):
        trace.append(
            {
                "step": "rank",
                "location": candidate.location.code,
                "result": f"#{position}",
                "reason": ", ".join(_describe_rank(candidate, rules)),
            }
        )
    if fewest:
        everything = [line for group in groups for line in group]
        whole = next((c for c in ranked if _covers(c, everything, need)), None)
        if whole is not None:
            plan = Plan()
            for line in everything:
                plan.add(whole.location.pk, line.pk, need[line.pk])
            trace.append(
                {
                    "step": "plan",
                    "location": whole.location.code,
                    "result": "single shipment",
                    "reason": "the best-ranked location that covers the whole order",
                }
            )
            return plan
    return _split(ranked, groups, need, fewest=fewest, trace=trace)


def _take(
    candidate: Candidate, free: dict[int, int], groups: list[list[OrderLine]], need: dict[int, int]
) -> tuple[int, list[list[OrderLine]]]:
    """The groups ``candidate`` could ship from ``free`` stock, and their units."""
    view = Candidate(candidate.location, dict(free), candidate.km)
    taken: list[list[OrderLine]] = []
    units = 0
    for group in groups:
        if _covers(view, group, need):
            for line in group:
                view.free[line.product_id] -= need[line.pk]
            taken.append(group)
            units += sum(need[line.pk] for line in group)
    return units, taken


def _split(
    ranked: list[Candidate],
    groups: list[list[OrderLine]],
    need: dict[int, int],
    *,
    fewest: bool,
    trace: list[dict[str, Any]],
) -> Plan:
    """Repeatedly give the location that can ship the most (best-ranked on ties, or
    simply the best-ranked when shipment count does not matter) what it can take."""
    plan = Plan()
    remaining = list(groups)
    free = {c.location.pk: dict(c.free) for c in ranked}
    while remaining:
        best: tuple[int, Candidate, list[list[OrderLine]]] | None = None
        for candidate in ranked:
            units, taken = _take(candidate, free[candidate.location.pk], remaining, need)
            if units and (best is None or units > best[0]):
                best = (units, candidate, taken)
                if not fewest:
                    break
        if best is None:
            break
        _, chosen, taken = best
        for group in taken:
            for line in group:
                plan.add(chosen.location.pk, line.pk, need[line.pk])
                free[chosen.location.pk][line.product_id] -= need[line.pk]
            remaining.remove(group)
        shipped = ", ".join(f"{line.sku}×{need[line.pk]}" for group in taken for line in group)
        trace.append(
            {
                "step": "plan",
                "location": chosen.location.code,
                "result": "split shipment",
                "reason": f"lines: {shipped}",
            }
        )
    remaining = _split_lines(ranked, remaining, need=need, free=free, plan=plan, trace=trace)
    for group in remaining:
        for line in group:
            together = " together with its group" if len(group) > 1 else ""
            trace.append(
                {
                    "step": "plan",
                    "location": "",
                    "result": "unrouted",
                    "line": line.line_number,
                    "reason": f"{line.sku}: no eligible location can ship "
                    f"{need[line.pk]} units{together}",
                }
            )
    return plan


def _split_lines(
    ranked: list[Candidate],
    groups: list[list[OrderLine]],
    *,
    need: dict[int, int],
    free: dict[int, dict[int, int]],
    plan: Plan,
    trace: list[dict[str, Any]],
) -> list[list[OrderLine]]:
    """Last resort for a line no single location can ship whole: take its units from
    several locations, best-ranked first. Lines that must ship together are not split.
    Returns the groups still unrouted (a split line's leftover waits for stock)."""
    left = []
    for group in groups:
        if len(group) > 1:
            left.append(group)
            continue
        line = group[0]
        wanted = need[line.pk]
        for candidate in ranked:
            loc = candidate.location
            if wanted == 0 or not _can_handle(loc, line):
                continue
            take = min(free[loc.pk].get(line.product_id, 0), wanted)
            if take <= 0:
                continue
            plan.add(loc.pk, line.pk, take)
            free[loc.pk][line.product_id] -= take
            wanted -= take
            trace.append(
                {
                    "step": "plan",
                    "location": loc.code,
                    "result": "split line",
                    "reason": f"{line.sku}×{take}: no single location has all {need[line.pk]}",
                }
            )
        if wanted == need[line.pk]:
            left.append(group)
    return left


def _describe_rank(candidate: Candidate, rules: list[RoutingRule]) -> list[str]:
    parts = []
    for rule in rules:
        if rule.step == RoutingStep.DISTANCE:
            parts.append(
                f"{candidate.km:.0f} km" if candidate.km is not None else "distance unknown"
            )
        elif rule.step == RoutingStep.PRIORITY:
            parts.append(f"priority {candidate.location.priority}")
        elif rule.step == RoutingStep.COST:
            parts.append(f"cost {candidate.location.cost_per_shipment}")
    return parts


def _pickup_code() -> str:
    return f"{secrets.randbelow(10**6):06d}"


def _allocate(
    order: Order,
    lines: list[OrderLine],
    plan: Plan,
    networks: dict[int, NetworkStock],
    trace: list[dict[str, Any]],
) -> list[FulfillmentOrder]:
    """Lock the plan's locations and stock rows (the network rows are locked already)
    and allocate; units that vanished since planning stay committed."""
    by_id = {line.pk: line for line in lines}
    location_ids = sorted(plan.assignments)
    active = location_activity_for_share(location_ids)
    pairs = sorted(
        {(loc, by_id[lid].product_id) for loc, per in plan.assignments.items() for lid in per}
    )
    levels = stock_levels_for_update(pairs)
    changes = StockChangeSet(
        actor=SYSTEM,
        reference=order.number,
        note="routing",
        networks=networks,
        active_locations=active,
    )
    released: dict[int, int] = defaultdict(int)
    locations = {loc.pk: loc for loc in Location.objects.filter(pk__in=location_ids)}
    existing = FulfillmentOrder.objects.filter(order=order).count()
    created, fo_lines = _take_stock(
        order,
        lines,
        plan,
        levels=levels,
        active=active,
        locations=locations,
        existing=existing,
        changes=changes,
        released=released,
        trace=trace,
    )
    changes.commit()
    release_demand(dict(released), networks=networks)
    FulfillmentOrder.objects.bulk_create(created)
    FulfillmentOrderLine.objects.bulk_create(fo_lines)
    return created


def _take_stock(
    order: Order,
    lines: list[OrderLine],
    plan: Plan,
    *,
    levels: dict[tuple[int, int], StockLevel],
    active: dict[int, bool],
    locations: dict[int, Location],
    existing: int,
    changes: _Changes,
    released: dict[int, int],
    trace: list[dict[str, Any]],
) -> tuple[list[FulfillmentOrder], list[FulfillmentOrderLine]]:
    """Allocate the plan on locked stock rows (``levels``) through ``changes``, re-checking
    each unit; adds the allocated units to ``lines`` and ``released`` (product id →
    units no longer only committed). Returns the new, unsaved fulfillment orders
    (numbered after the order's ``existing`` ones) and their lines."""
    by_id = {line.pk: line for line in lines}
    created: list[FulfillmentOrder] = []
    fo_lines: list[FulfillmentOrderLine] = []
    for location_id in sorted(plan.assignments):
        location = locations[location_id]
        fo_line_specs = []
        for line_id, quantity in plan.assignments[location_id].items():
            line = by_id[line_id]
            level = levels.get((location_id, line.product_id))
            free = level.available_to_promise if level and active.get(location_id) else 0
            take = min(quantity, free)
            if take < quantity:
                trace.append(
                    {
                        "step": "allocate",
                        "location": location.code,
                        "result": "short",
                        "reason": f"{line.sku}: only {take} of {quantity} free under lock",
                    }
                )
            if take <= 0 or level is None:
                continue
            changes.change(level, StockBucket.ALLOCATED, take, MovementReason.ALLOCATION)
            released[line.product_id] += take
            line.quantity_allocated += take
            fo_line_specs.append((line, take))
        if not fo_line_specs:
            continue
        existing += 1
        fo = FulfillmentOrder(
            number=f"{order.number}-F{existing}",
            order=order,
            location=location,
            ship_by_date=ship_date(
                order.shipping_method, timezone.now(), time_zone=location.time_zone
            ),
            request_status=(
                RequestStatus.SUBMITTED
                if location.kind in (LocationKind.THIRD_PARTY, LocationKind.DROPSHIP_VENDOR)
                else RequestStatus.NOT_REQUIRED
            ),
            is_pickup=bool(order.pickup_location_id),
            pickup_code=_pickup_code() if order.pickup_location_id else "",
        )
        created.append(fo)
        fo_lines.extend(
            FulfillmentOrderLine(fulfillment_order=fo, order_line=line, quantity=qty)
            for line, qty in fo_line_specs
        )
    return created, fo_lines


def _pickup_lines(lines: list[OrderLine], in_fo: dict[int, int]) -> list[tuple[OrderLine, int]]:
    """A pickup order's units allocated at its store but in no live fulfillment order
    (``in_fo``: order line id → units in live ones)."""
    specs = [
        (line, line.quantity_allocated + line.quantity_shipped - in_fo.get(line.pk, 0))
        for line in lines
    ]
    return [(line, qty) for line, qty in specs if qty > 0]


def _pickup_order(order: Order, number: int) -> FulfillmentOrder:
    store = order.pickup_location
    assert store is not None  # noqa: S101
    return FulfillmentOrder(
        number=f"{order.number}-F{number}",
        order=order,
        location=store,
        ship_by_date=ship_date(order.shipping_method, timezone.now(), time_zone=store.time_zone),
        is_pickup=True,
        pickup_code=_pickup_code(),
    )


def _pickup_fulfillment(order: Order, lines: list[OrderLine]) -> list[FulfillmentOrder]:
    """Pickup orders were allocated at their store at placement: just open the FO."""
    in_fo: dict[int, int] = defaultdict(int)
    for fo_line in FulfillmentOrderLine.objects.filter(order_line__order=order).exclude(
        fulfillment_order__status="cancelled"
    ):
        in_fo[fo_line.order_line_id] += fo_line.quantity - fo_line.quantity_cancelled
    specs = _pickup_lines(lines, in_fo)
    if not specs:
        return []
    fo = _pickup_order(order, FulfillmentOrder.objects.filter(order=order).count() + 1)
    fo.save()
    FulfillmentOrderLine.objects.bulk_create(
        [
            FulfillmentOrderLine(fulfillment_order=fo, order_line=line, quantity=qty)
            for line, qty in specs
        ]
    )
    return [fo]


@transaction.atomic
def route_order(
    *, order_id: int, actor: Actor = SYSTEM, while_held: bool = False
) -> RoutingDecision | None:
    """Allocate an order's committed, unallocated units to locations.

    Safe to run any number of times: it only routes what is committed and not yet
    allocated. Orders on hold, or not placed/processing, are left alone (no decision
    stored). Side effects: allocations through the ledger, fulfillment orders, a
    decision trace, a timeline event, and ``fulfillment.created`` outbox events.
    """
    order, lines = _lock_order(order_id)
    if order.status not in ROUTABLE:
        return None
    # ``while_held``: a change of destination replaces a held order's fulfillment
    # orders; the caller puts the new ones on hold (fulfillment.rerouting).
    if not while_held and OrderHold.objects.filter(order=order, released_at__isnull=True).exists():
        return None
    trace: list[dict[str, Any]] = []
    if order.pickup_location_id:
        created = _pickup_fulfillment(order, lines)
        unrouted = 0
    else:
        # One lock call over every product this run may touch (see the module
        # docstring): early when backorders may be promoted, else after planning, so
        # that hot SKUs are not held while the plan is made.
        networks = None
        if any(line.quantity_backordered for line in lines):
            networks = lock_network_rows(_products_to_lock(lines))
            _promote_backorders(lines, networks, trace)
        need = _open_need(lines)
        if not need:
            OrderLine.objects.bulk_update(lines, ["quantity_backordered"])
            return None
        rules = _rules()
        candidates = _candidates(order, lines, need, rules, trace)
        plan = _plan(candidates, _groups(lines, need, rules), need, rules, trace)
        created = []
        if plan.assignments:
            if networks is None:
                networks = lock_network_rows(_products_to_lock(lines))
            created = _allocate(order, lines, plan, networks, trace)
        OrderLine.objects.bulk_update(lines, ["quantity_allocated", "quantity_backordered"])
        unrouted = sum(_open_need(lines).values()) + sum(li.quantity_backordered for li in lines)
    if created and order.status == OrderStatus.PLACED:
        order.status = OrderStatus.PROCESSING
        order.save(update_fields=["status", "updated_at"])
    if created and _promise_moves(order, created, trace):
        order.promised_delivery_date = (
            routed_delivery_date(order, now=timezone.now(), unrouted=bool(_open_need(lines)))
            or order.promised_delivery_date
        )
        order.save(update_fields=["promised_delivery_date", "updated_at"])
    outcome, summary = _outcome(created, unrouted)
    decision = RoutingDecision.objects.create(
        order=order, outcome=outcome, summary=summary[:300], trace=trace
    )
    if created:
        record_order_event(
            order=order,
            type=OrderEventType.ROUTED,
            actor=actor,
            message=summary,
            payload={
                "decision_id": decision.pk,
                "fulfillment_orders": [fo.number for fo in created],
            },
        )
        for fo in created:
            outbox.emit("fulfillment.created", {"fulfillment_order_id": fo.pk})
    return decision


def _outcome(created: list[FulfillmentOrder], unrouted: int) -> tuple[str, str]:
    """The decision's outcome and its summary (also the timeline event's message)."""
    codes = ", ".join(f"{fo.number} @ {fo.location.code}" for fo in created)
    outcome = "routed" if created and not unrouted else "partial" if created else "unrouted"
    summary = (
        f"{len(created)} fulfillment order(s): {codes}" if created else "nothing could be routed"
    ) + (f"; {unrouted} units wait for stock" if unrouted else "")
    return outcome, summary


def _promise_moves(
    order: Order,
    created: list[FulfillmentOrder],
    trace: list[dict[str, Any]],
    *,
    existing: int | None = None,
) -> bool:
    """A re-route (the order had fulfillment orders before) or a backorder's arrival
    makes the promise the buyer was given untrue; the first routing keeps it, so that
    the SLA monitor measures the routing against what was promised. ``existing``: the
    order's fulfillment orders before this run, when the caller knows it."""
    if any(step.get("step") == "backorder" for step in trace):
        return True
    if existing is not None:
        return existing > 0
    return FulfillmentOrder.objects.filter(order=order).count() > len(created)


# --- batches: a backlog drained many orders per transaction ----------------------

# Orders one batch routes at most: large enough that the per-batch reads and writes
# cost little per order, small enough that a batch's locks are held briefly.
BATCH_SIZE = 100


@dataclass
class _Run:
    """One order's routing inside a batch."""

    order: Order
    lines: list[OrderLine]
    existing: int  # its fulfillment orders before the batch
    trace: list[dict[str, Any]] = field(default_factory=list)
    plan: Plan | None = None
    pickup: list[tuple[OrderLine, int]] = field(default_factory=list)
    created: list[FulfillmentOrder] = field(default_factory=list)
    fo_lines: list[FulfillmentOrderLine] = field(default_factory=list)
    decided: bool = True  # False: nothing to route, no decision stored (as route_order)
    decision: RoutingDecision | None = None


def _lock_orders(order_ids: list[int]) -> list[Order]:
    """Level 1 of the lock order for a whole batch: the order rows, in one call sorted
    by id (so two batches, or a batch and a single routing, never wait in a cycle)."""
    return list(
        Order.objects.select_for_update(no_key=True, of=("self",))
        .select_related("shipping_method", "pickup_location", "company")
        .filter(pk__in=order_ids)
        .order_by("pk")
    )


def _simulate_allocation(
    plan: Plan, lines: list[OrderLine], snapshot: dict[tuple[int, int], StockLevel]
) -> list[int]:
    """Take the plan's units from the unlocked ``snapshot`` as ``_take_stock`` will
    under the locks, so the next orders of the batch are planned on what is left (as if
    this one had been routed and committed before them). Returns the locations that
    get a fulfillment order (each one counts against its daily capacity)."""
    by_id = {line.pk: line for line in lines}
    opened = []
    for location_id in sorted(plan.assignments):
        took = False
        for line_id, quantity in plan.assignments[location_id].items():
            level = snapshot.get((location_id, by_id[line_id].product_id))
            if level is None:
                continue
            free = level.available_to_promise if level.location.is_active else 0
            take = min(quantity, free)
            if take > 0:
                level.allocated += take
                took = True
        if took:
            opened.append(location_id)
    return opened


def _update_lines(lines: list[OrderLine]) -> None:
    if not lines:
        return
    if connection.vendor != "postgresql":
        OrderLine.objects.bulk_update(lines, ["quantity_allocated", "quantity_backordered"])
        return
    with connection.cursor() as cursor:
        cursor.execute(
            sql.ORDER_LINE_QUANTITIES_UPDATE,
            [
                [line.pk for line in lines],
                [line.quantity_allocated for line in lines],
                [line.quantity_backordered for line in lines],
            ],
        )


@transaction.atomic
def route_orders(*, order_ids: list[int], actor: Actor = SYSTEM) -> dict[int, RoutingDecision]:
    """Route a batch of orders in one transaction, with the same decisions as routing
    them one by one in id order with ``route_order``: each order is planned on the
    stock the orders before it left.

    Reads and writes are per batch, not per order: the order rows are locked in one
    call, rules, locations, capacity and candidate stock are read once, the plans are
    made without locks, then the network rows of every product the batch may touch
    are locked in one call, the plan's locations and stock rows in one call each, and
    each order's units are allocated re-checking under the locks (units that vanished
    since planning stay committed, as in ``route_order``). Fulfillment orders, their
    lines, decisions, timeline and outbox events are inserted in two statements.
    Orders on hold or not placed/processing are skipped, as are orders with nothing
    to route (no decision, as ``route_order``). Returns order id → its decision.
    """
    runs = _load_batch(sorted(set(order_ids)))
    if not runs:
        return {}
    shipping = [run for run in runs if not run.order.pickup_location_id]
    _open_pickups([run for run in runs if run.order.pickup_location_id])
    networks = None
    if shipping:
        # As in route_order, one network lock call per transaction: before planning
        # when backorders may be promoted (then over every product of the batch), else
        # after planning, over the products of the orders with a plan.
        if any(line.quantity_backordered for run in shipping for line in run.lines):
            networks = lock_network_rows(
                sorted({pid for run in shipping for pid in _products_to_lock(run.lines)})
            )
        snapshot = _plan_batch(runs, networks=networks)
        planned = [run for run in shipping if run.plan is not None and run.plan.assignments]
        if planned:
            if networks is None:
                networks = lock_network_rows(
                    sorted({pid for run in planned for pid in _products_to_lock(run.lines)})
                )
            _allocate_batch(planned, snapshot=snapshot, networks=networks)
    return _record_batch(runs, shipping, actor=actor)


def _load_batch(order_ids: list[int]) -> list[_Run]:
    """Lock the orders and read what routing them needs; the routable ones, by id."""
    orders = _lock_orders(order_ids)
    held = set(
        OrderHold.objects.filter(
            order_id__in=[o.pk for o in orders], released_at__isnull=True
        ).values_list("order_id", flat=True)
    )
    orders = [o for o in orders if o.status in ROUTABLE and o.pk not in held]
    if not orders:
        return []
    ids = [o.pk for o in orders]
    lines_of: dict[int, list[OrderLine]] = defaultdict(list)
    for line in (
        OrderLine.objects.filter(order_id__in=ids)
        .select_related("product")
        .order_by("order_id", "line_number")
    ):
        lines_of[line.order_id].append(line)
    existing = dict(
        FulfillmentOrder.objects.filter(order_id__in=ids)
        .order_by()
        .values("order_id")
        .annotate(n=Count("id"))
        .values_list("order_id", "n")
    )
    return [_Run(order, lines_of[order.pk], existing.get(order.pk, 0)) for order in orders]


def _open_pickups(pickups: list[_Run]) -> None:
    """Pickup orders' fulfillment orders (unsaved): their units were allocated at
    their store at placement (see ``_pickup_fulfillment``)."""
    if not pickups:
        return
    in_fo: dict[int, int] = defaultdict(int)
    for line_id, quantity, cancelled in (
        FulfillmentOrderLine.objects.filter(order_line__order_id__in=[r.order.pk for r in pickups])
        .exclude(fulfillment_order__status="cancelled")
        .values_list("order_line_id", "quantity", "quantity_cancelled")
    ):
        in_fo[line_id] += quantity - cancelled
    for run in pickups:
        specs = _pickup_lines(run.lines, in_fo)
        if not specs:
            continue
        fo = _pickup_order(run.order, run.existing + 1)
        run.created = [fo]
        run.fo_lines = [
            FulfillmentOrderLine(fulfillment_order=fo, order_line=line, quantity=qty)
            for line, qty in specs
        ]


def _plan_batch(
    everything: list[_Run], *, networks: dict[int, NetworkStock] | None
) -> dict[tuple[int, int], StockLevel]:
    """Plan each order in id order on one unlocked read of the candidate stock, taking
    each plan's units from that read, and counting its fulfillment orders against
    their locations' capacity, before planning the next order (pickup orders' are
    counted in their turn). Returns the read."""
    runs = [run for run in everything if not run.order.pickup_location_id]
    rejected_by: dict[int, set[int]] = defaultdict(set)
    for order_id, location_id in FulfillmentOrderLine.objects.filter(
        order_line__order_id__in=[run.order.pk for run in runs], quantity_rejected__gt=0
    ).values_list("order_line__order_id", "fulfillment_order__location_id"):
        rejected_by[order_id].add(location_id)
    rules = _rules()
    product_ids = sorted({pid for run in runs for pid in _products_to_lock(run.lines)})
    by_product: dict[int, list[StockLevel]] = defaultdict(list)
    snapshot: dict[tuple[int, int], StockLevel] = {}
    used: dict[int, int] = {}
    levels = list(StockLevel.objects.filter(product_id__in=product_ids))
    # Each location read once, not once per stock row (a select_related would).
    places = Location.objects.filter(pk__in={level.location_id for level in levels})
    located = {location.pk: location for location in places}
    for level in levels:
        level.location = located[level.location_id]
        by_product[level.product_id].append(level)
        snapshot[(level.location_id, level.product_id)] = level
    if RoutingStep.CAPACITY in {rule.step for rule in rules}:
        for location_id, count in _capacity_used(sorted({loc for loc, _ in snapshot})).items():
            used[location_id] = count
    for run in everything:
        if run.order.pickup_location_id:
            for fo in run.created:
                used[fo.location_id] = used.get(fo.location_id, 0) + 1
            continue
        if networks is not None:
            _promote_backorders(run.lines, networks, run.trace)
        need = _open_need(run.lines)
        if not need:
            run.decided = False
            continue
        wanted = sorted({line.product_id for line in run.lines if line.pk in need})
        candidates = _screen(
            run.order,
            run.lines,
            need,
            rules,
            [level for pid in wanted for level in by_product[pid]],
            used=used,
            rejected_by=rejected_by[run.order.pk],
            trace=run.trace,
        )
        run.plan = _plan(candidates, _groups(run.lines, need, rules), need, rules, run.trace)
        for location_id in _simulate_allocation(run.plan, run.lines, snapshot):
            used[location_id] = used.get(location_id, 0) + 1
    return snapshot


class _Changes(Protocol):
    def change(self, level: StockLevel, bucket: str, delta: int, reason: str) -> None: ...


@dataclass
class _BatchLedger:
    """A batch's allocations on locked stock rows, written once for the whole batch:
    the same ledger rows, stock counters and network totals as a ``StockChangeSet``
    per order followed by ``release_demand`` (routing changes the allocated bucket
    only), in three statements whatever the batch's size."""

    networks: dict[int, NetworkStock]
    active: dict[int, bool]
    reference: str = ""
    touched: dict[int, StockLevel] = field(default_factory=dict)
    before: dict[int, int] = field(default_factory=dict)
    movements: list[StockMovement] = field(default_factory=list)

    def change(self, level: StockLevel, bucket: str, delta: int, reason: str) -> None:
        if bucket != StockBucket.ALLOCATED or delta <= 0:
            raise ValueError("a routing batch only allocates")
        if level.pk not in self.touched:
            self.touched[level.pk] = level
            self.before[level.pk] = location_contribution(
                level, active=self.active[level.location_id]
            )
        level.allocated += delta
        self.movements.append(
            StockMovement(
                stock_level=level,
                location_id=level.location_id,
                product_id=level.product_id,
                bucket=bucket,
                delta=delta,
                balance_after=level.allocated,
                reason=reason,
                reference=self.reference,
                note="routing",
                **SYSTEM.as_fields(),
            )
        )

    def commit(self, released: dict[int, int]) -> None:
        """Validate and write; ``released``: product id → units allocated, no longer
        only committed at the network."""
        for level in self.touched.values():
            if level.allocated + level.reserved > level.on_hand:
                raise InsufficientStock(
                    f"Only {level.on_hand} on hand, but {level.allocated} allocated and "
                    f"{level.reserved} reserved would remain.",
                    location_id=level.location_id,
                    product_id=level.product_id,
                )
        if not self.movements:
            return
        now = timezone.now()
        changed: dict[int, NetworkStock] = {}
        for pk, level in self.touched.items():
            diff = location_contribution(level, active=self.active[level.location_id])
            network = self.networks[level.product_id]
            network.available += diff - self.before[pk]
            changed[level.product_id] = network
        for product_id, units in released.items():
            network = self.networks[product_id]
            network.committed -= units
            if network.committed < 0:
                raise ValueError(f"network commitment of product {product_id} would go negative")
            changed[product_id] = network
        levels = list(self.touched.values())
        networks = [changed[pid] for pid in sorted(changed)]
        for level in levels:
            level.updated_at = now
        for network in networks:
            network.updated_at = now
        sql_rows.insert(self.movements)
        if connection.vendor != "postgresql":
            StockLevel.objects.bulk_update(levels, ["allocated", "updated_at"])
            NetworkStock.objects.bulk_update(networks, ["available", "committed", "updated_at"])
            return
        with connection.cursor() as cursor:
            cursor.execute(
                sql.STOCK_ALLOCATED_UPDATE,
                [now, [level.pk for level in levels], [level.allocated for level in levels]],
            )
            cursor.execute(
                sql.NETWORK_UPDATE,
                [
                    now,
                    [n.product_id for n in networks],
                    [n.available for n in networks],
                    [n.committed for n in networks],
                ],
            )


def _stock_rows_for_update(pairs: list[tuple[int, int]]) -> dict[tuple[int, int], StockLevel]:
    """Level 6 of the lock order for a batch: its stock rows, one call, by id."""
    if connection.vendor != "postgresql":
        return stock_levels_for_update(pairs)
    found = sql_rows.fetch(
        sql.stock_levels_for_update_sql(),
        [[loc for loc, _ in pairs], [pid for _, pid in pairs]],
    )
    locked = (sql_rows.instance(StockLevel, row) for row in found)
    return {(level.location_id, level.product_id): level for level in locked if level is not None}


def _allocate_batch(
    runs: list[_Run],
    *,
    snapshot: dict[tuple[int, int], StockLevel],
    networks: dict[int, NetworkStock],
) -> None:
    """Lock the plans' locations and stock rows (one call each, sorted; the network
    rows are locked already) and allocate each order's plan in id order."""
    location_ids = sorted({loc for run in runs if run.plan for loc in run.plan.assignments})
    active = location_activity_for_share(location_ids)
    pairs: set[tuple[int, int]] = set()
    for run in runs:
        assert run.plan is not None  # noqa: S101
        by_id = {line.pk: line for line in run.lines}
        for loc, per in run.plan.assignments.items():
            pairs.update((loc, by_id[line_id].product_id) for line_id in per)
    locked = _stock_rows_for_update(sorted(pairs))
    locations = {loc: level.location for (loc, _), level in snapshot.items()}
    ledger = _BatchLedger(networks=networks, active=active)
    released: dict[int, int] = defaultdict(int)
    for run in runs:
        assert run.plan is not None  # noqa: S101
        ledger.reference = run.order.number  # each order's ledger rows name it
        run.created, run.fo_lines = _take_stock(
            run.order,
            run.lines,
            run.plan,
            levels=locked,
            active=active,
            locations=locations,
            existing=run.existing,
            changes=ledger,
            released=released,
            trace=run.trace,
        )
    ledger.commit(dict(released))


def _record_batch(
    runs: list[_Run], shipping: list[_Run], *, actor: Actor
) -> dict[int, RoutingDecision]:
    """The batch's writes after allocation, each kind in one statement: the lines'
    quantities, the orders now processing, fulfillment orders and decisions, then
    fulfillment order lines, timeline and outbox events."""
    now = timezone.now()
    _update_lines([line for run in shipping for line in run.lines])
    started = [run.order for run in runs if run.created and run.order.status == OrderStatus.PLACED]
    if started:
        Order.objects.filter(pk__in=[order.pk for order in started]).update(
            status=OrderStatus.PROCESSING, updated_at=now
        )
        for order in started:
            order.status = OrderStatus.PROCESSING
            order.updated_at = now
    decided = [run for run in runs if run.decided]
    summaries: dict[int, str] = {}
    for run in decided:
        unrouted = (
            0
            if run.order.pickup_location_id
            else sum(_open_need(run.lines).values())
            + sum(line.quantity_backordered for line in run.lines)
        )
        outcome, summary = _outcome(run.created, unrouted)
        summaries[run.order.pk] = summary
        run.decision = RoutingDecision(
            order=run.order, outcome=outcome, summary=summary[:300], trace=run.trace
        )
    decisions = [run.decision for run in decided if run.decision is not None]
    sql_rows.insert_groups([fo for run in runs for fo in run.created], decisions)
    fo_lines: list[FulfillmentOrderLine] = []
    events: list[OrderEvent] = []
    published: list[OutboxEvent] = []
    for run in decided:
        if not run.created or run.decision is None:
            continue
        for fo_line in run.fo_lines:
            # Built before its fulfillment order had a key.
            fo_line.fulfillment_order_id = fo_line.fulfillment_order.pk
            fo_lines.append(fo_line)
        events.append(
            OrderEvent(
                order=run.order,
                type=OrderEventType.ROUTED,
                message=summaries[run.order.pk][:300],
                payload={
                    "decision_id": run.decision.pk,
                    "fulfillment_orders": [fo.number for fo in run.created],
                },
                **actor.as_fields(),
            )
        )
        published.extend(
            outbox.new_event("fulfillment.created", {"fulfillment_order_id": fo.pk})
            for fo in run.created
        )
    sql_rows.insert_groups(fo_lines, events, published)
    outbox.emitted(*published)
    # Rare (a re-route, a backorder's arrival): one order at a time, once its
    # fulfillment orders are stored.
    for run in decided:
        if run.created and _promise_moves(run.order, run.created, run.trace, existing=run.existing):
            order = run.order
            order.promised_delivery_date = (
                routed_delivery_date(
                    order, now=timezone.now(), unrouted=bool(_open_need(run.lines))
                )
                or order.promised_delivery_date
            )
            order.save(update_fields=["promised_delivery_date", "updated_at"])
    return {run.order.pk: run.decision for run in decided if run.decision is not None}


def route_backlog(*, order_ids: list[int], batch_size: int = BATCH_SIZE) -> int:
    """Route many orders (a backlog draining), ``batch_size`` per transaction with
    ``route_orders``, in id order; returns how many decisions were stored.

    A batch that fails is rolled back and its orders are routed one by one with
    ``route_order``, so one broken order does not hold the others back: its failure
    is logged and it waits for the scheduled backorder run. A database that cannot
    be reached, or the end of the task's time, ends the run (what committed stays).
    """
    ids = sorted(set(order_ids))
    decided = 0
    for start in range(0, len(ids), batch_size):
        chunk = ids[start : start + batch_size]
        try:
            decided += len(route_orders(order_ids=chunk))
            continue
        except (SoftTimeLimitExceeded, OperationalError, InterfaceError):
            raise
        except Exception:
            logger.warning(
                "route_backlog: a batch of %s orders failed; routing them one by one",
                len(chunk),
                exc_info=True,
            )
        for order_id in chunk:
            try:
                decision = route_order(order_id=order_id)
            except (SoftTimeLimitExceeded, OperationalError, InterfaceError):
                raise
            except Exception:
                logger.exception("route_backlog: order %s could not be routed", order_id)
                continue
            decided += decision is not None
    return decided


def _awaiting_routing() -> Any:
    open_units = (
        F("quantity_ordered")
        - F("quantity_cancelled")
        - F("quantity_allocated")
        - F("quantity_shipped")
    )
    return (
        OrderLine.objects.annotate(open_units=open_units)
        .filter(open_units__gt=0, order__status__in=ROUTABLE)
        .exclude(
            Exists(OrderHold.objects.filter(order=OuterRef("order_id"), released_at__isnull=True))
        )
        .values_list("order_id", flat=True)
    )


def orders_awaiting_routing(limit: int = 1000) -> list[int]:
    """Placed or processing orders, not on hold, with units committed or backordered
    but not allocated — the scheduled backorder run retries these. Lowest id first."""
    return list(_awaiting_routing().distinct().order_by("order_id")[:limit])


# The scheduled backorder run: one at a time, each order on its own, within a budget.
BACKORDER_RUN_LOCK = 0x4F4D5242  # a session advisory lock key, held for a whole run


@contextmanager
def backorder_run_lock() -> Iterator[bool]:
    """Hold the backorder run's lock for the block; yields False (and holds nothing)
    when another run has it. A PostgreSQL session advisory lock, taken outside any
    transaction (the top of the global lock order) and released when the block ends
    or the connection drops (a killed worker). SQLite (the demo) runs one process:
    always True."""
    if connection.vendor != "postgresql":
        yield True
        return
    with connection.cursor() as cursor:
        cursor.execute(sql.TRY_SESSION_LOCK, [BACKORDER_RUN_LOCK])
        acquired = bool(cursor.fetchone()[0])
    try:
        yield acquired
    finally:
        if acquired:
            with connection.cursor() as cursor:
                cursor.execute(sql.RELEASE_SESSION_LOCK, [BACKORDER_RUN_LOCK])


def _backorder_queue(limit: int) -> list[int]:
    """Up to ``limit`` waiting orders, in id order from a random point, wrapping around:
    when a run's budget cannot cover them all, orders that keep waiting for stock at
    the front do not take every run's budget from the rest."""
    bounds = _awaiting_routing().aggregate(low=Min("order_id"), high=Max("order_id"))
    if bounds["low"] is None:
        return []
    start = random.randint(bounds["low"], bounds["high"])
    awaiting = _awaiting_routing().distinct().order_by("order_id")
    queue = list(awaiting.filter(order_id__gte=start)[:limit])
    if len(queue) < limit:
        queue += awaiting.filter(order_id__lt=start)[: limit - len(queue)]
    return queue


def route_backorders(*, max_orders: int | None = None, max_seconds: float | None = None) -> int:
    """Retry routing for the orders still waiting; returns how many were routed (all or
    part of what they wait for).

    One run at a time: a run that finds another one going does nothing (returns 0).
    Each order is routed in its own transaction; one that fails is logged and skipped,
    and the rest go on. The run stops after ``max_orders`` orders or once
    ``max_seconds`` have passed (at least one order per run; defaults:
    ``OMS_ROUTE_BACKORDERS_MAX_ORDERS`` and ``OMS_ROUTE_BACKORDERS_SECONDS``); each run
    starts at a random waiting order, so the ones a run did not reach get their turn.
    """
    max_orders = settings.OMS_ROUTE_BACKORDERS_MAX_ORDERS if max_orders is None else max_orders
    max_seconds = settings.OMS_ROUTE_BACKORDERS_SECONDS if max_seconds is None else max_seconds
    with backorder_run_lock() as acquired:
        if not acquired:
            logger.info("route_backorders: another run is in progress; this one does nothing")
            return 0
        started = time.monotonic()
        queue = _backorder_queue(max_orders)
        routed = failed = tried = 0
        for order_id in queue:
            if tried and time.monotonic() - started >= max_seconds:
                break
            tried += 1
            try:
                decision = route_order(order_id=order_id)
            except SoftTimeLimitExceeded:
                raise
            except Exception:
                # Its transaction is rolled back; the order waits for the next run.
                failed += 1
                logger.exception("route_backorders: order %s could not be routed", order_id)
                continue
            if decision is not None and decision.outcome != "unrouted":
                routed += 1
        stopped = tried < len(queue) or len(queue) == max_orders
        logger.info(
            "route_backorders: %s orders tried, %s routed, %s failed%s",
            tried,
            routed,
            failed,
            "; stopped by its budget" if stopped else "",
        )
        return routed
