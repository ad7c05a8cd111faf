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
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Exists, F, Max, Min, OuterRef
from django.utils import timezone

from core import outbox
from core.actors import Actor
from core.geo import distance_km
from inventory.commitments import commit_demand, lock_network_rows, release_demand
from inventory.locks import location_activity_for_share, stock_levels_for_update
from inventory.models import (
    Location,
    LocationKind,
    MovementReason,
    NetworkStock,
    StockBucket,
    StockLevel,
)
from inventory.services import StockChangeSet
from orders.events import record_order_event
from orders.models import Order, OrderEventType, OrderHold, OrderLine, OrderStatus
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
    levels = StockLevel.objects.select_related("location").filter(product_id__in=product_ids)
    by_location: dict[int, Candidate] = {}
    for level in levels:
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
    steps = {rule.step for rule in rules}
    used = _capacity_used(list(by_location)) if RoutingStep.CAPACITY in steps else {}
    ctx = _FilterContext(
        order=order,
        lines=[line for line in lines if line.pk in need],
        used=used,
        free={loc_id: c.free for loc_id, c in by_location.items()},
        # A location that gave back lines of this order does not get them again.
        rejected_by=set(
            FulfillmentOrderLine.objects.filter(
                order_line__order=order, quantity_rejected__gt=0
            ).values_list("fulfillment_order__location_id", flat=True)
        ),
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
    created: list[FulfillmentOrder] = []
    fo_lines: list[FulfillmentOrderLine] = []
    for location_id in location_ids:
        location = locations[location_id]
        fo_line_specs = []
        for line_id, quantity in plan.assignments[location_id].items():
            line = by_id[line_id]
            level = levels[(location_id, line.product_id)]
            take = min(quantity, level.available_to_promise if active.get(location_id) else 0)
            if take < quantity:
                trace.append(
                    {
                        "step": "allocate",
                        "location": location.code,
                        "result": "short",
                        "reason": f"{line.sku}: only {take} of {quantity} free under lock",
                    }
                )
            if take <= 0:
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
    changes.commit()
    release_demand(dict(released), networks=networks)
    FulfillmentOrder.objects.bulk_create(created)
    FulfillmentOrderLine.objects.bulk_create(fo_lines)
    return created


def _pickup_fulfillment(order: Order, lines: list[OrderLine]) -> list[FulfillmentOrder]:
    """Pickup orders were allocated at their store at placement: just open the FO."""
    in_fo: dict[int, int] = defaultdict(int)
    for fo_line in FulfillmentOrderLine.objects.filter(order_line__order=order).exclude(
        fulfillment_order__status="cancelled"
    ):
        in_fo[fo_line.order_line_id] += fo_line.quantity - fo_line.quantity_cancelled
    specs = [
        (line, line.quantity_allocated + line.quantity_shipped - in_fo[line.pk]) for line in lines
    ]
    specs = [(line, qty) for line, qty in specs if qty > 0]
    if not specs:
        return []
    store = order.pickup_location
    assert store is not None  # noqa: S101
    count = FulfillmentOrder.objects.filter(order=order).count() + 1
    fo = FulfillmentOrder.objects.create(
        number=f"{order.number}-F{count}",
        order=order,
        location=store,
        ship_by_date=ship_date(order.shipping_method, timezone.now(), time_zone=store.time_zone),
        is_pickup=True,
        pickup_code=_pickup_code(),
    )
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
    codes = ", ".join(f"{fo.number} @ {fo.location.code}" for fo in created)
    outcome = "routed" if created and not unrouted else "partial" if created else "unrouted"
    summary = (
        f"{len(created)} fulfillment order(s): {codes}" if created else "nothing could be routed"
    ) + (f"; {unrouted} units wait for stock" if unrouted else "")
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


def _promise_moves(
    order: Order, created: list[FulfillmentOrder], trace: list[dict[str, Any]]
) -> bool:
    """A re-route (the order had fulfillment orders before) or a backorder's arrival
    makes the promise the buyer was given untrue; the first routing keeps it, so that
    the SLA monitor measures the routing against what was promised."""
    if any(step.get("step") == "backorder" for step in trace):
        return True
    return FulfillmentOrder.objects.filter(order=order).count() > len(created)


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
