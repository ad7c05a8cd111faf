"""Writes to orders: holds, approvals, notes and the import of closed historical orders.
Placement is in ``placement``; cancellation and edits are order-level pieces in
``changes``, run by the workflows of ``fulfillment.changes``."""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from core import outbox
from core.actors import Actor, ActorKind
from core.addresses import clean_postal_address
from core.errors import Conflict, InvalidInput, NotFound
from customers.models import CompanyRole, Customer
from inventory.models import Product
from shipping.models import ShippingMethod

from .errors import HoldReleaseNotAllowed, NotAnApprover
from .events import record_order_event
from .models import (
    HOLD_RELEASE_PERMISSIONS,
    HOLD_RELEASED_BY,
    Channel,
    HoldKind,
    Order,
    OrderEventType,
    OrderHold,
    OrderLine,
    OrderStatus,
    PaymentStatus,
    derive_fulfillment_status,
    derive_return_status,
)
from .numbering import next_order_number
from .pricing import apply_totals, money


class HoldNotFound(Conflict):
    code = "hold_not_open"


def order_for_update(order_id: int) -> Order:
    """Lock an order row: the first lock of any order-changing transaction."""
    return Order.objects.select_for_update(no_key=True).get(pk=order_id)


@transaction.atomic
def record_payment_status(
    order_id: int, status: str, *, actor: Actor | None = None, detail: str = ""
) -> bool:
    """Set the order's payment status, as billing derived it from the order's payments
    (``billing.payments``), with a timeline entry when it changes; True if it did.

    Takes the order's row lock (a no-op when the caller, billing, holds it already)."""
    if status not in PaymentStatus.values:
        raise InvalidInput(f"Unknown payment status {status!r}.")
    order = order_for_update(order_id)
    if order.payment_status == status:
        return False
    before = order.payment_status
    order.payment_status = status
    order.save(update_fields=["payment_status", "updated_at"])
    label = PaymentStatus(status).label
    record_order_event(
        order=order,
        type=OrderEventType.NOTE,
        actor=actor or Actor.system("payments"),
        message=f"Payment {label.lower()}" + (f": {detail}" if detail else ""),
        payload={"payment_status": status, "payment_status_before": before},
    )
    return True


@transaction.atomic
def place_hold(*, order: Order, kind: str, reason: str, actor: Actor) -> OrderHold:
    """Put an order on hold. One open hold per kind; a second of the same kind is refused.

    This records the order-level hold only; ``fulfillment.holds.place_order_hold`` also
    stops the order's fulfillment orders, and is what entry points call."""
    if kind not in HoldKind.values:
        raise InvalidInput(f"Unknown hold kind {kind!r}.", fields={"kind": kind})
    if not reason.strip():
        raise InvalidInput("A hold needs a reason.", fields={"reason": "required"})
    locked = order_for_update(order.pk)
    if locked.status in (OrderStatus.COMPLETED, OrderStatus.CANCELLED):
        raise Conflict(f"Order {locked.number} is {locked.status}; it cannot be held.")
    if OrderHold.objects.filter(order=locked, kind=kind, released_at__isnull=True).exists():
        raise Conflict(
            f"Order {locked.number} already has an open {HoldKind(kind).label.lower()} hold."
        )
    hold = OrderHold.objects.create(
        order=locked, kind=kind, reason=reason.strip(), placed_by_label=actor.label
    )
    record_order_event(
        order=locked,
        type=OrderEventType.HOLD_PLACED,
        actor=actor,
        message=f"{hold.get_kind_display()} hold: {hold.reason}",
        payload={"hold_id": hold.pk, "kind": kind},
    )
    # Companies hear of every hold (the webhook event type ``order.on_hold``).
    outbox.emit("order.on_hold", {"order_id": locked.pk, "kinds": [kind]})
    return hold


def may_release_hold(user: Any, kind: str) -> bool:
    """Whether a staff ``user`` may release holds of ``kind`` (their role's permission)."""
    return bool(user.is_active and user.has_perm(HOLD_RELEASE_PERMISSIONS[kind]))


def releasable_hold_kinds(user: Any) -> list[str]:
    """The kinds of hold a staff ``user``'s role may release."""
    return [kind for kind in HoldKind.values if may_release_hold(user, kind)]


def may_release_any_hold(user: Any) -> bool:
    """Whether ``user`` may release holds of at least one kind."""
    return any(user.has_perm(perm) for perm in HOLD_RELEASE_PERMISSIONS.values())


def _check_release_allowed(hold: OrderHold, actor: Actor) -> None:
    """Staff release the kinds their role owns; the hold rules release what they
    decided; API clients release nothing here (an approver uses ``approve_order``)."""
    if actor.kind == ActorKind.SYSTEM:
        return
    user = get_user_model().objects.filter(pk=actor.user_id).first() if actor.user_id else None
    if actor.kind == ActorKind.USER and user is not None and may_release_hold(user, hold.kind):
        return
    raise HoldReleaseNotAllowed(
        f"{hold.get_kind_display()} holds are released by {HOLD_RELEASED_BY[hold.kind]}.",
        kind=hold.kind,
    )


def _release(order: Order, hold: OrderHold, *, reason: str, actor: Actor) -> OrderHold:
    """Close ``hold`` (its order locked by the caller); announce the order once its last
    hold is gone."""
    hold.released_at = timezone.now()
    hold.released_by_id = actor.user_id
    hold.released_by_label = actor.label[:150]
    hold.release_reason = reason.strip()
    hold.save(update_fields=["released_at", "released_by", "released_by_label", "release_reason"])
    record_order_event(
        order=order,
        type=OrderEventType.HOLD_RELEASED,
        actor=actor,
        message=f"{hold.get_kind_display()} hold released: {hold.release_reason}",
        payload={"hold_id": hold.pk, "kind": hold.kind},
    )
    if not OrderHold.objects.filter(order=order, released_at__isnull=True).exists():
        # The last hold is gone: the order may now be routed, and the customer hears
        # it is confirmed.
        outbox.emit("order.released", {"order_id": order.pk})
    return hold


@transaction.atomic
def release_hold(*, hold_id: int, reason: str, actor: Actor) -> OrderHold:
    """Release an open hold with a reason, if ``actor`` may release its kind
    (``HOLD_RELEASE_PERMISSIONS``). Refuses a hold already released.

    This releases the order-level hold only; ``fulfillment.holds.release_order_hold``
    also returns held fulfillment orders to work, and is what entry points call."""
    if not reason.strip():
        raise InvalidInput("Releasing a hold needs a reason.", fields={"reason": "required"})
    hold = OrderHold.objects.filter(pk=hold_id).first()
    if hold is None:
        raise NotFound("There is no such hold.", hold_id=hold_id)
    _check_release_allowed(hold, actor)
    order = order_for_update(hold.order_id)
    hold = OrderHold.objects.select_for_update().get(pk=hold_id)
    if hold.released_at is not None:
        raise HoldNotFound(f"This {hold.get_kind_display().lower()} hold was already released.")
    return _release(order, hold, reason=reason, actor=actor)


def _approval_hold_for(order_id: int, approver: Customer) -> tuple[Order, OrderHold]:
    """Lock the order and find its open approval hold, if ``approver`` may decide it."""
    order = order_for_update(order_id)
    if not (
        approver.is_active
        and approver.company_id is not None
        and approver.company_id == order.company_id
        and approver.company_role in (CompanyRole.APPROVER, CompanyRole.ADMIN)
    ):
        raise NotAnApprover(
            f"{approver.full_name or approver.email} is not an approver of this company; "
            "ask the company's approver or account admin.",
        )
    hold = (
        OrderHold.objects.select_for_update()
        .filter(order=order, kind=HoldKind.B2B_APPROVAL, released_at__isnull=True)
        .first()
    )
    if hold is None:
        raise HoldNotFound(f"Order {order.number} is not waiting for approval.")
    return order, hold


@transaction.atomic
def approve_order(*, order_id: int, approver: Customer, reason: str, actor: Actor) -> OrderHold:
    """The company's approver (a buyer with the approver or account-admin role) releases
    the order's B2B approval hold. Refuses other buyers (403) and orders not waiting
    for approval (409)."""
    if not reason.strip():
        raise InvalidInput("An approval needs a reason.", fields={"reason": "required"})
    order, hold = _approval_hold_for(order_id, approver)
    return _release(order, hold, reason=f"Approved by {approver.full_name}: {reason}", actor=actor)


@transaction.atomic
def refuse_approval(*, order_id: int, approver: Customer, reason: str, actor: Actor) -> Order:
    """The company's approver refuses the order: its approval hold is closed with the
    reason, and the order (locked) is returned to be cancelled in the same transaction.

    This closes the hold only; ``fulfillment.changes.reject_order`` also cancels the
    order with its fulfillment orders, and is what entry points call."""
    if not reason.strip():
        raise InvalidInput("A rejection needs a reason.", fields={"reason": "required"})
    order, hold = _approval_hold_for(order_id, approver)
    hold.released_at = timezone.now()
    hold.released_by_label = actor.label[:150]
    hold.release_reason = f"Rejected by {approver.full_name}: {reason.strip()}"
    hold.save(update_fields=["released_at", "released_by_label", "release_reason"])
    record_order_event(
        order=order,
        type=OrderEventType.HOLD_RELEASED,
        actor=actor,
        message=f"B2B approval refused: {reason.strip()}",
        payload={"hold_id": hold.pk, "kind": hold.kind, "decision": "rejected"},
    )
    return order


@dataclass(frozen=True)
class HistoricalLine:
    product: Product
    quantity: int
    unit_price: Decimal
    cancelled: int = 0
    returned: int = 0


@transaction.atomic
def import_historical_order(
    *,
    customer: Customer,
    channel: str,
    shipping_method: ShippingMethod,
    address: dict[str, Any],
    lines: list[HistoricalLine],
    placed_at: dt.datetime,
    outcome: str,
    actor: Actor,
    po_number: str = "",
    tax_rate: Decimal = Decimal("0"),
) -> Order:
    """Record an order closed in a previous system (completed or cancelled).

    It moves no stock: its goods left (or never left) before this system kept the
    ledger. Lines are delivered in full unless cancelled; ``returned`` counts within
    delivered.
    """
    if outcome not in (OrderStatus.COMPLETED, OrderStatus.CANCELLED):
        raise InvalidInput("Historical orders are completed or cancelled.")
    if channel not in Channel.values:
        raise InvalidInput(f"Unknown channel {channel!r}.")
    if not lines:
        raise InvalidInput("An order needs at least one line.")
    if not Decimal("0") <= tax_rate < Decimal("1"):
        raise InvalidInput("The tax rate must be at least 0 and below 1.")
    ship = clean_postal_address(address)
    order = Order(
        number=next_order_number(),
        channel=channel,
        status=outcome,
        customer=customer,
        company=customer.company,
        po_number=po_number,
        email=customer.email,
        ship_name=ship["name"] or customer.full_name,
        ship_line1=ship["line1"],
        ship_line2=ship["line2"],
        ship_city=ship["city"],
        ship_region=ship["region"],
        ship_postal_code=ship["postal_code"],
        ship_country=ship["country"],
        ship_phone=ship["phone"],
        ship_latitude=ship["latitude"],
        ship_longitude=ship["longitude"],
        shipping_method=shipping_method,
        currency=shipping_method.currency,
        placed_at=placed_at,
        completed_at=(
            placed_at + dt.timedelta(days=5) if outcome == OrderStatus.COMPLETED else None
        ),
        cancelled_at=(
            placed_at + dt.timedelta(hours=2) if outcome == OrderStatus.CANCELLED else None
        ),
    )
    order_lines = []
    for number, spec in enumerate(lines, start=1):
        cancelled = spec.quantity if outcome == OrderStatus.CANCELLED else spec.cancelled
        shipped = spec.quantity - cancelled
        if (
            spec.quantity <= 0
            or cancelled < 0
            or spec.returned < 0
            or shipped < 0
            or spec.returned > shipped
        ):
            raise InvalidInput(f"Line {number} has inconsistent quantities.")
        if spec.unit_price < 0 or spec.unit_price != money(spec.unit_price):
            raise InvalidInput(f"Line {number} needs a unit price of zero or more, in cents.")
        order_lines.append(
            OrderLine(
                order=order,
                line_number=number,
                product=spec.product,
                sku=spec.product.sku,
                description=spec.product.name,
                unit_price=spec.unit_price,
                line_total=spec.unit_price * spec.quantity,
                quantity_ordered=spec.quantity,
                quantity_cancelled=cancelled,
                quantity_shipped=shipped,
                quantity_delivered=shipped,
                quantity_returned=spec.returned,
            )
        )
    # The same rule as placement: tax per line on the units not cancelled, totals summed
    # from the lines, no shipping when nothing was delivered.
    order.tax_rate = tax_rate
    order.shipping_total = shipping_method.price
    apply_totals(order, order_lines)
    order.fulfillment_status = derive_fulfillment_status(order_lines)
    order.return_status = derive_return_status(order_lines)
    order.save()
    OrderLine.objects.bulk_create(order_lines)
    record_order_event(
        order=order,
        type=OrderEventType.IMPORTED,
        actor=actor,
        message=f"Imported as {outcome} (placed {placed_at:%Y-%m-%d}).",
        payload={"placed_at": placed_at.isoformat(), "outcome": outcome},
    )
    return order
