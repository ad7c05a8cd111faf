"""Draft orders: built by a sales rep or an agent on a customer's behalf, optionally
holding stock for a while (a soft reservation with an expiry), then submitted.

A draft is an ``Order`` in status ``draft`` with priced lines and no commitment.
``reserve_draft_stock`` commits its demand against the network with an expiry;
``submit_draft_order`` turns it into a placed order, taking the reservation over.
Every function locks the draft's row first, so the expiry job, a re-reservation and a
submission of the same draft run one after the other.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import Case, Q, Value, When
from django.utils import timezone

from core import outbox
from core.actors import Actor
from core.errors import Conflict, InvalidInput
from customers.models import Company, Customer
from inventory.commitments import (
    end_network_reservations,
    expired_network_references,
    lock_network_rows,
    release_demand,
    reserve_network,
)
from inventory.models import ReservationStatus
from shipping.models import ServiceLevel, ShippingMethod

from . import holds as hold_rules
from .events import record_order_event
from .models import (
    Order,
    OrderEventType,
    OrderHold,
    OrderLine,
    OrderStatus,
    PaymentMethod,
    PaymentStatus,
    Quote,
    QuoteStatus,
)
from .numbering import next_order_number
from .placement import (
    LineRequest,
    OrderRequest,
    PlacedOrder,
    build_order,
    commit_network,
    commit_pickup,
    promise_order,
    spend_order_store_credit,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import User

DEFAULT_RESERVATION = timedelta(hours=24)


class NotADraft(Conflict):
    code = "not_a_draft"


class DraftQuoted(Conflict):
    code = "draft_quoted"


def open_quote(order: Order) -> Quote | None:
    return Quote.objects.filter(order=order, status=QuoteStatus.SENT).first()


def withdraw_open_quote(order: Order, *, actor: Actor, why: str) -> Quote | None:
    """Withdraw the draft's open quote, if any (the caller holds the draft's row): the
    buyer can no longer accept it. What its reservation becomes is the caller's call."""
    quote = Quote.objects.select_for_update().filter(order=order, status=QuoteStatus.SENT).first()
    if quote is None:
        return None
    quote.status = QuoteStatus.WITHDRAWN
    quote.closed_at = timezone.now()
    quote.save(update_fields=["status", "closed_at"])
    record_order_event(
        order=order,
        type=OrderEventType.NOTE,
        actor=actor,
        message=f"Quote {quote.number} withdrawn: {why}",
        payload={"quote": quote.number, "status": QuoteStatus.WITHDRAWN},
    )
    return quote


def lock_order_row(order_id: int) -> Order:
    """Lock the order's row (first in the global lock order) and return it."""
    return (
        Order.objects.select_for_update(no_key=True, of=("self",))
        .select_related("company", "customer", "pickup_location", "shipping_method")
        .get(pk=order_id)
    )


def lock_draft(order_id: int) -> tuple[Order, list[OrderLine]]:
    """Lock a draft's row and load its lines; 409 when it is no longer a draft."""
    order = lock_order_row(order_id)
    if order.status != OrderStatus.DRAFT:
        raise NotADraft(f"Order {order.number} is {order.status}, not a draft.")
    lines = list(order.lines.select_related("product").order_by("line_number"))
    return order, lines


def draft_demand(lines: list[OrderLine]) -> dict[int, int]:
    demand: dict[int, int] = {}
    for line in lines:
        demand[line.product_id] = demand.get(line.product_id, 0) + line.quantity_live
    return demand


@transaction.atomic
def create_draft_order(*, request: OrderRequest, actor: Actor) -> Order:
    """Save a validated, priced draft. Commits no stock; ``placed_by`` records the rep."""
    order, lines, _ = build_order(request)
    order.status = OrderStatus.DRAFT
    if order.payment_method == PaymentMethod.STORE_CREDIT:
        order.payment_status = PaymentStatus.PENDING  # spent when it is submitted
    order.number = next_order_number()
    order.save(force_insert=True)
    for line in lines:
        line.order = order
    OrderLine.objects.bulk_create(lines)
    who = request.placed_by.get_username() if request.placed_by else actor.label
    record_order_event(
        order=order,
        type=OrderEventType.CREATED,
        actor=actor,
        message=f"Draft created by {who} for {order.customer.full_name}",
        payload={"lines": [{"sku": li.sku, "quantity": li.quantity_ordered} for li in lines]},
    )
    return order


@transaction.atomic
def reserve_draft_stock(
    *, order_id: int, actor: Actor, hold_for: timedelta = DEFAULT_RESERVATION
) -> datetime:
    """Hold the draft's units in the network until the returned time. Replaces any
    earlier reservation of the draft; refuses (409) when the network is short."""
    if not timedelta(minutes=1) <= hold_for <= timedelta(days=30):
        raise InvalidInput("A reservation lasts between a minute and 30 days.")
    order, lines = lock_draft(order_id)
    if order.pickup_location_id:
        raise InvalidInput("Pickup drafts take their store's stock when submitted.")
    quote = open_quote(order)
    if quote is not None:
        raise DraftQuoted(
            f"Quote {quote.number} holds this draft's stock until "
            f"{quote.expires_at:%Y-%m-%d %H:%M} UTC; send a new quote to change it."
        )
    demand = draft_demand(lines)
    networks = lock_network_rows(list(demand))
    end_network_reservations(order.number, status=ReservationStatus.RELEASED, networks=networks)
    expires_at = timezone.now() + hold_for
    reserve_network(
        demand, reference=order.number, expires_at=expires_at, actor=actor, networks=networks
    )
    record_order_event(
        order=order,
        type=OrderEventType.NOTE,
        actor=actor,
        message=f"Stock reserved until {expires_at:%Y-%m-%d %H:%M} UTC",
        payload={"reserved": {str(k): v for k, v in demand.items()}},
    )
    return expires_at


@transaction.atomic
def submit_draft_order(*, order_id: int, actor: Actor) -> PlacedOrder:
    """Place a draft: its reservation becomes the order's commitment, anything not
    reserved is committed now (or refused with 409), holds are evaluated, and the
    order is confirmed through the outbox like any other."""
    order, lines = lock_draft(order_id)
    withdraw_open_quote(order, actor=actor, why="the draft was submitted")
    # The credit hold is decided below: the company's credit slots come right after the
    # order row in the lock order, before any stock row.
    hold_rules.lock_credit_decisions(order.company)
    demand = draft_demand(lines)
    if order.pickup_location_id:
        commit_pickup(order, lines, actor)
    else:
        networks = lock_network_rows(list(demand))
        reserved = end_network_reservations(
            order.number, status=ReservationStatus.CONSUMED, networks=networks
        )
        # Lines removed since reserving leave units the order does not need.
        surplus = {p: q - demand.get(p, 0) for p, q in reserved.items() if q > demand.get(p, 0)}
        release_demand(surplus, networks=networks)
        covered = {p: min(q, demand.get(p, 0)) for p, q in reserved.items()}
        products = {line.product.sku: line.product for line in lines}
        commit_network(order, lines, products, already_committed=covered, networks=networks)
    # A store-credit draft takes its total from the balance now (the account row is
    # locked last, after the stock rows, as at placement); 422 and nothing placed when
    # the balance does not cover it.
    spend_order_store_credit(order, actor)
    if order.payment_method == PaymentMethod.STORE_CREDIT:
        order.payment_status = PaymentStatus.CAPTURED
    order.status = OrderStatus.PLACED
    order.placed_at = timezone.now()
    order.promised_delivery_date = promise_order(order, now=order.placed_at).delivery_date
    decisions = hold_rules.decide_holds(order)
    order.save()
    OrderLine.objects.bulk_update(lines, ["quantity_backordered", "quantity_allocated"])
    holds = OrderHold.objects.bulk_create(
        [
            OrderHold(order=order, kind=d.kind, reason=d.reason, placed_by_label="rules")
            for d in decisions
        ]
    )
    record_order_event(
        order=order,
        type=OrderEventType.PLACED,
        actor=actor,
        message=f"Draft submitted by {actor.label}",
        payload={"grand_total": str(order.grand_total)},
    )
    for hold in holds:
        record_order_event(
            order=order,
            type=OrderEventType.HOLD_PLACED,
            actor=Actor.system("hold rules"),
            message=f"{hold.get_kind_display()} hold: {hold.reason}"[:300],
            payload={"kind": hold.kind},
        )
    outbox.emit("order.placed", {"order_id": order.pk, "number": order.number})
    if holds:  # companies hear of every hold (webhook event type order.on_hold)
        outbox.emit("order.on_hold", {"order_id": order.pk, "kinds": [h.kind for h in holds]})
    return PlacedOrder(order=order, lines=lines, holds=holds)


@transaction.atomic
def discard_draft_order(*, order_id: int, reason: str, actor: Actor) -> Order:
    """Throw a draft away: its reservation is released and it ends cancelled, never
    having been placed (no e-mail, nothing to fulfill)."""
    if not reason.strip():
        raise InvalidInput("Discarding a draft needs a reason.", fields={"reason": "required"})
    order, lines = lock_draft(order_id)
    withdraw_open_quote(order, actor=actor, why="the draft was discarded")
    demand = draft_demand(lines)
    networks = lock_network_rows(list(demand))
    end_network_reservations(order.number, status=ReservationStatus.RELEASED, networks=networks)
    order.status = OrderStatus.CANCELLED
    order.cancelled_at = timezone.now()
    order.save(update_fields=["status", "cancelled_at", "updated_at"])
    record_order_event(
        order=order,
        type=OrderEventType.CANCELLED,
        actor=actor,
        message=f"Draft discarded: {reason.strip()}",
        payload={"reason": reason.strip(), "draft": True},
    )
    return order


def release_expired_draft_reservations(*, now: datetime | None = None) -> int:
    """Give back the stock of drafts whose reservation ran out; one transaction each."""
    now = now or timezone.now()
    released = 0
    for reference in expired_network_references(now=now):
        with transaction.atomic():
            order = Order.objects.select_for_update(no_key=True).filter(number=reference).first()
            if order is None:
                continue
            held = end_network_reservations(reference, status=ReservationStatus.EXPIRED)
            if held:
                released += 1
                record_order_event(
                    order=order,
                    type=OrderEventType.NOTE,
                    actor=Actor.system("reservation expiry"),
                    message="Stock reservation expired",
                    payload={"released": {str(k): v for k, v in held.items()}},
                )
    return released


@transaction.atomic
def update_draft_order(*, order_id: int, request: OrderRequest, actor: Actor) -> Order:
    """Replace a draft's customer, delivery, reference and lines with ``request``,
    priced again at today's prices (refused like a new draft, nothing changed). An open
    quote is withdrawn and any reservation given back: they were for the old lines."""
    order, old_lines = lock_draft(order_id)
    built, lines, _ = build_order(request)
    withdraw_open_quote(order, actor=actor, why="the draft was edited")
    demand = draft_demand(old_lines)
    networks = lock_network_rows(list(demand))
    released = end_network_reservations(
        order.number, status=ReservationStatus.RELEASED, networks=networks
    )
    kept = {
        f.attname: getattr(order, f.attname)
        for f in Order._meta.concrete_fields
        if f.attname
        in ("id", "number", "status", "created_at", "placed_by_id", "channel", "external_reference")
    }
    for field in Order._meta.concrete_fields:
        if field.attname not in kept:
            setattr(order, field.attname, getattr(built, field.attname))
    if order.payment_method == PaymentMethod.STORE_CREDIT:
        order.payment_status = PaymentStatus.PENDING
    order.save()
    OrderLine.objects.filter(order=order).delete()
    for line in lines:
        line.order = order
    OrderLine.objects.bulk_create(lines)
    record_order_event(
        order=order,
        type=OrderEventType.EDITED,
        actor=actor,
        message=f"Draft edited by {actor.label}"
        + ("; its stock reservation was given back" if released else ""),
        payload={
            "lines": [{"sku": li.sku, "quantity": li.quantity_ordered} for li in lines],
            "grand_total": str(order.grand_total),
        },
    )
    return order


def reorder_request(order: Order, *, channel: str, placed_by: User | None) -> OrderRequest:
    """A request for the same live lines (customisation included), the same delivery
    and payment as ``order``; priced anew when built."""
    lines = [
        LineRequest(sku=line.sku, quantity=line.quantity_live, customization=line.customization)
        for line in order.lines.order_by("line_number")
        if line.quantity_live > 0
    ]
    address = {
        "name": order.ship_name,
        "line1": order.ship_line1,
        "line2": order.ship_line2,
        "city": order.ship_city,
        "region": order.ship_region,
        "postal_code": order.ship_postal_code,
        "country": order.ship_country,
        "phone": order.ship_phone,
    }
    pickup = order.pickup_location
    return OrderRequest(
        customer=order.customer,
        channel=channel,
        shipping_method_code=order.shipping_method.code,
        pickup_location_code=pickup.code if pickup else "",
        shipping_address=None if pickup else address,
        billing_address=order.billing_address or None,
        notes=order.notes,
        lines=lines,
        placed_by=placed_by,
        payment_method=order.payment_method
        if order.payment_method == PaymentMethod.STORE_CREDIT
        else "",
    )


@transaction.atomic
def create_reorder_draft(
    *, order_id: int, actor: Actor, channel: str, placed_by: User | None
) -> Order:
    """A new editable draft with the live lines of order ``order_id`` at today's
    prices; the PO number is left for the buyer's new one. Refused (nothing written)
    when a product is no longer sold or the order had nothing left to reorder."""
    source = Order.objects.select_related(
        "customer__company", "shipping_method", "pickup_location"
    ).get(pk=order_id)
    if source.status == OrderStatus.DRAFT:
        raise InvalidInput(f"{source.number} is a draft: edit it instead.")
    request = reorder_request(source, channel=channel, placed_by=placed_by)
    if not request.lines:
        raise InvalidInput(f"{source.number} has no units left to order again.")
    draft = create_draft_order(request=request, actor=actor)
    record_order_event(
        order=draft,
        type=OrderEventType.NOTE,
        actor=actor,
        message=f"Reorder of {source.number}",
        payload={"reorder_of": source.number},
    )
    return draft


@dataclass(frozen=True)
class DraftWarning:
    kind: str  # "credit_limit", "b2b_approval", "po_number", ... (a hold kind or a rule)
    message: str


def draft_warnings(order: Order) -> list[DraftWarning]:
    """What would stop or hold the draft if it were submitted now: the holds the rules
    would place (credit limit, B2B approval, ...) and a missing PO number the company
    requires. Reads only (one or two queries)."""
    warnings: list[DraftWarning] = []
    company = order.company
    if company is not None and company.po_required and not order.po_number.strip():
        warnings.append(
            DraftWarning("po_number", f"{company.name} requires a PO number on every order.")
        )
    for decision in hold_rules.decide_holds(order):
        warnings.append(DraftWarning(decision.kind, decision.reason))
    return warnings


def default_shipping_method_code(customer: Customer | None, company: Company | None = None) -> str:
    """The shipping method a new draft starts with, for ``customer`` or, before a buyer
    is picked, for ``company``: the company's default shipping method; else the method
    of the company's (a consumer's own) latest order; else the cheapest method. Only an
    active method that ships counts: a retired default or a store pickup (which needs a
    store the default cannot name) is passed over. Empty if no method ships. Two
    queries at most."""
    company_id = customer.company_id if customer is not None else None
    if company_id is None and company is not None:
        company_id = company.pk
    ships = ShippingMethod.objects.filter(is_active=True).exclude(service_level=ServiceLevel.PICKUP)
    if company_id is not None or customer is not None:
        placed = Order.objects.exclude(status=OrderStatus.DRAFT)
        placed = (
            placed.filter(company_id=company_id)
            if company_id is not None
            else placed.filter(customer=customer)
        )
        latest = placed.order_by("-id").values("shipping_method_id")[:1]
        default = Company.objects.filter(pk=company_id or 0).values("default_shipping_method_id")
        # One query for both rules; the company's default wins over its latest order.
        chosen = (
            ships.filter(Q(pk__in=default) | Q(pk__in=latest))
            .order_by(Case(When(pk__in=default, then=Value(0)), default=Value(1)))
            .values_list("code", flat=True)
            .first()
        )
        if chosen:
            return str(chosen)
    method = ships.order_by("price", "code").values_list("code", flat=True).first()
    return str(method or "")
