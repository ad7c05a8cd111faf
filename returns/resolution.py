"""How a return ends: a refund to the original payment, an exchange, or store credit.

- **Refund** (``refund_return``): the units received (or, when the policy refunds
  without return, every unit asked for, on approval) are refunded once through
  ``billing.refunds.refund_order``, less the restocking fee of each line's reason.
  Units whose reason has no fee go as lines (credited unit by unit); units with a fee
  go as an amount (their invoiced value, tax included, less the fee), since a credit
  note line credits whole units. ``ReturnLine.quantity_refunded`` and the refund's key
  make a second run find nothing left to refund.
- **Store credit**: the same refund, with ``destination="store_credit"``: the money
  goes to the customer's store credit balance (``customers.store_credit``) instead of
  the card. An order on payment terms cannot take it (its credit note lowers its
  invoice).
- **Exchange** (``place_exchange``, on approval): a replacement order through
  ``orders.placement.place_order`` at no charge, on hold (``HoldKind.EXCHANGE``) until
  the return is received (``release_exchange``), or released at once when the policy
  trusts the customer. Price rule: the replacement may cost what the returned units
  were sold at, or less; the difference of a cheaper one is refunded when the return is
  in (``refund_return``); a dearer one is refused (``exchange_costs_more``).

``billing.refunds.refund_order`` calls no payment provider in its transaction: it
writes credit notes and pending ledger rows and emits ``refund.requested``, whose
consumer pays the card back after commit. The refund therefore runs in the
transaction of the return's step (under the order's row lock), which its
``return.received`` or ``return.approved`` consumer opens (``returns.tasks``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import transaction

from billing.models import CreditReason, InvoiceLine, RefundDestination
from billing.refunds import RefundLine, refund_order
from core.actors import Actor
from core.errors import Conflict, DomainError, InvalidInput
from core.money import format_money, to_cents
from fulfillment.changes import cancel_order
from fulfillment.holds import place_order_hold, release_order_hold
from inventory.errors import UnknownSku
from inventory.models import Product
from orders.events import record_order_event
from orders.models import (
    HoldKind,
    Order,
    OrderEventType,
    OrderHold,
    OrderLine,
    PaymentMethod,
)
from orders.placement import LineRequest, OrderRequest, place_order
from orders.pricing import contract_prices, unit_price_for

from .events import record_return_event
from .models import (
    Resolution,
    ReturnEventType,
    ReturnExchangeLine,
    ReturnLine,
    ReturnRefund,
    ReturnRequest,
    ReturnStatus,
)
from .policy import AskedLine, asked_value, rules_for_lines, trusts_exchange
from .steps import emit_return, locked_request, move_return, set_return_status

SYSTEM = Actor.system("returns")
ZERO = Decimal("0")


class ExchangeCostsMore(InvalidInput):
    code = "exchange_costs_more"
    status = 422


class StoreCreditNotAvailable(InvalidInput):
    code = "store_credit_not_available"
    status = 422


class RefundNotPossible(Conflict):
    code = "return_refund_not_possible"


@dataclass(frozen=True)
class ExchangeLineInput:
    sku: str
    quantity: int


@dataclass(frozen=True)
class Replacement:
    product: Product
    quantity: int
    unit_price: Decimal


# --- asking --------------------------------------------------------------------------


def _wanted_replacements(exchange_lines: Sequence[ExchangeLineInput]) -> dict[str, int]:
    """The replacements' quantities by SKU, checked for shape."""
    if not exchange_lines:
        raise InvalidInput(
            "An exchange names its replacement: at least one SKU and quantity.",
            fields={"exchange_lines": ["Name at least one replacement."]},
        )
    wanted: dict[str, int] = {}
    limit = settings.OMS_MAX_LINE_QUANTITY
    for item in exchange_lines:
        sku = item.sku.strip().upper() if isinstance(item.sku, str) else ""
        if not sku:
            raise InvalidInput(
                "Each replacement needs a SKU.", fields={"exchange_lines": ["SKU required."]}
            )
        if isinstance(item.quantity, bool) or not isinstance(item.quantity, int):
            raise InvalidInput("Quantities are whole numbers.")
        if not 1 <= item.quantity <= limit:
            raise InvalidInput(
                f"The quantity of {sku} must be between 1 and {limit}.",
                fields={"exchange_lines": [f"{sku}: quantity out of range."]},
            )
        if sku in wanted:
            raise InvalidInput(
                f"{sku} appears twice among the replacements.",
                fields={"exchange_lines": [f"{sku} twice."]},
            )
        wanted[sku] = item.quantity
    return wanted


def check_resolution(
    *,
    order: Order,
    resolution: str,
    exchange_lines: Sequence[ExchangeLineInput],
    asked: list[AskedLine],
) -> list[Replacement]:
    """Refuse a resolution that cannot be given; an exchange's replacements, priced as
    the customer would buy them now (contract prices included). Reads only."""
    if resolution not in Resolution.values:
        raise InvalidInput(
            f"“{resolution}” is not a resolution: refund, exchange or store_credit.",
            fields={"resolution": ["Unknown resolution."]},
        )
    if resolution == Resolution.STORE_CREDIT and order.payment_method == PaymentMethod.INVOICE:
        raise StoreCreditNotAvailable(
            f"Order {order.number} is paid on payment terms: its refund is credited on its "
            "invoice, not as store credit. Choose a refund.",
            fields={"resolution": ["Not for an order on payment terms."]},
        )
    if resolution != Resolution.EXCHANGE:
        if exchange_lines:
            raise InvalidInput(
                "Replacement lines go with an exchange only.",
                fields={"exchange_lines": ["Only for an exchange."]},
            )
        return []
    wanted = _wanted_replacements(exchange_lines)
    products = {p.sku: p for p in Product.objects.filter(sku__in=list(wanted))}
    unknown = sorted(set(wanted) - products.keys())
    if unknown:
        raise UnknownSku(f"Unknown SKU: {', '.join(unknown)}.", skus=unknown)
    inactive = sorted(sku for sku, p in products.items() if not p.is_active)
    if inactive:
        raise InvalidInput(f"No longer sold: {', '.join(inactive)}.", skus=inactive)
    breaks = contract_prices(order.company, [p.pk for p in products.values()])
    replacements = [
        Replacement(
            product=products[sku],
            quantity=quantity,
            unit_price=unit_price_for(products[sku], quantity, breaks.get(products[sku].pk, [])),
        )
        for sku, quantity in wanted.items()
    ]
    returned = asked_value(asked)
    value = sum((r.unit_price * r.quantity for r in replacements), ZERO)
    if value > returned:
        raise ExchangeCostsMore(
            f"The replacement costs {format_money(value, order.currency)}, more than the "
            f"{format_money(returned, order.currency)} of the units returned. Ask for a "
            "refund and order the replacement instead.",
            replacement_value=str(value),
            returned_value=str(returned),
        )
    return replacements


def record_replacements(request: ReturnRequest, replacements: list[Replacement]) -> None:
    ReturnExchangeLine.objects.bulk_create(
        [
            ReturnExchangeLine(
                request=request,
                product=r.product,
                sku=r.product.sku,
                quantity=r.quantity,
                unit_price=r.unit_price,
            )
            for r in replacements
        ]
    )


# --- exchange ------------------------------------------------------------------------


def _replacement_request(request: ReturnRequest, order: Order) -> OrderRequest:
    lines = [
        LineRequest(sku=line.sku, quantity=line.quantity) for line in request.exchange_lines.all()
    ]
    return OrderRequest(
        customer=order.customer,
        channel=order.channel,
        shipping_method_code=order.shipping_method.code,
        lines=lines,
        shipping_address={
            "name": order.ship_name,
            "line1": order.ship_line1,
            "line2": order.ship_line2,
            "city": order.ship_city,
            "region": order.ship_region,
            "postal_code": order.ship_postal_code,
            "country": order.ship_country,
            "phone": order.ship_phone,
        },
        pickup_location_code=order.pickup_location.code if order.pickup_location else "",
        po_number=order.po_number,
        email=order.email,
        notes=f"Replacement for return {request.number} of order {order.number}.",
        no_charge=True,
    )


def place_exchange(request: ReturnRequest, actor: Actor) -> Order:
    """Place the replacement order of an approved exchange, in the approval's
    transaction (the original order's row is locked by the caller).

    The replacement commits demand against the network like any order (its units are
    reserved), and is held (``HoldKind.EXCHANGE``) so that it is not routed or shipped
    until the return arrives, unless every line's rule trusts exchanges. Lock order: the
    new order's row is locked after stock rows, but nobody else can see it before this
    transaction commits, so nobody can wait for it.
    """
    order = request.order
    placed = place_order(request=_replacement_request(request, order), actor=actor).order
    request.exchange_order = placed
    request.save(update_fields=["exchange_order", "updated_at"])
    record_order_event(
        order=placed,
        type=OrderEventType.RETURN_EXCHANGE,
        actor=actor,
        message=f"Replacement for return {request.number} of order {order.number}, at no charge",
        payload={"return": request.number, "original_order": order.number},
    )
    lines = list(request.lines.select_related("order_line"))
    asked = [
        AskedLine(order_line=li.order_line, quantity=li.quantity, reason=li.reason) for li in lines
    ]
    trusted = trusts_exchange(asked, rules_for_lines(order, [li.order_line for li in lines]))
    if not trusted:
        place_order_hold(
            order=placed,
            kind=HoldKind.EXCHANGE,
            reason=f"Ships when return {request.number} of order {order.number} arrives.",
            actor=SYSTEM,
        )
    what = ", ".join(f"{li.sku} × {li.quantity}" for li in request.exchange_lines.all())
    record_return_event(
        request=request,
        type=ReturnEventType.EXCHANGE,
        actor=actor,
        message=f"replacement order {placed.number} placed ({what}), "
        + (
            "released at once: the policy trusts this exchange"
            if trusted
            else "ships when the return arrives"
        ),
        payload={"exchange_order": placed.number, "held": not trusted},
    )
    return placed


def cancel_replacement(request: ReturnRequest, actor: Actor) -> None:
    """Cancel the replacement of an exchange whose return was withdrawn, in the caller's
    transaction (the original order locked; the replacement's row, a higher id, next)."""
    assert request.exchange_order_id is not None  # noqa: S101 - the caller checks
    replacement = cancel_order(
        order_id=request.exchange_order_id,
        reason=f"Return {request.number} was cancelled: no exchange.",
        actor=actor,
    )
    record_return_event(
        request=request,
        type=ReturnEventType.EXCHANGE,
        actor=actor,
        message=f"replacement order {replacement.number} cancelled",
        payload={"exchange_order": replacement.number, "cancelled": True},
    )


@transaction.atomic
def close_exchange(*, request_id: int, actor: Actor = SYSTEM) -> bool:
    """Close an exchange once every unit is in, its replacement released and any price
    difference refunded; True when closed now. Safe to repeat."""
    request = locked_request(request_id)
    if (
        request.resolution != Resolution.EXCHANGE
        or request.status != ReturnStatus.INSPECTED
        or request.exchange_order_id is None
    ):
        return False
    held = OrderHold.objects.filter(
        order_id=request.exchange_order_id, kind=HoldKind.EXCHANGE, released_at__isnull=True
    ).exists()
    lines = list(request.lines.select_related("order_line"))
    owed = _exchange_difference(request, lines) > 0 and not request.refunds.exists()
    if held or owed:
        return False
    move_return(request, ReturnStatus.CLOSED)
    record_return_event(
        request=request, type=ReturnEventType.CLOSED, actor=actor, message="closed: exchanged"
    )
    return True


@transaction.atomic
def release_exchange(*, request_id: int, actor: Actor = SYSTEM) -> bool:
    """Let an exchange's replacement ship once every returned unit is in; True when its
    hold was released now. Safe to repeat: a released hold is not released again.

    Lock order: the original order's row, then the replacement's (a newer, higher id)."""
    request = locked_request(request_id)
    if request.exchange_order_id is None or request.status not in (
        ReturnStatus.INSPECTED,
        ReturnStatus.CLOSED,
    ):
        return False
    hold = (
        OrderHold.objects.filter(
            order_id=request.exchange_order_id, kind=HoldKind.EXCHANGE, released_at__isnull=True
        )
        .select_related("order")
        .first()
    )
    if hold is None:
        return False
    replacement = hold.order.number
    release_order_hold(
        hold_id=hold.pk, reason=f"Return {request.number} was received.", actor=actor
    )
    record_return_event(
        request=request,
        type=ReturnEventType.EXCHANGE,
        actor=actor,
        message=f"replacement order {replacement} released to fulfillment",
        payload={"exchange_order": replacement, "released": True},
    )
    return True


# --- refund --------------------------------------------------------------------------


def _unit_values(order_line_ids: Sequence[int]) -> dict[int, Decimal]:
    """What one unit of each order line was invoiced at, tax included (its newest
    invoice line, as ``refund_order`` credits newest first)."""
    values: dict[int, Decimal] = {}
    for line in InvoiceLine.objects.filter(order_line_id__in=list(order_line_ids)).order_by(
        "invoice__issued_at", "invoice_id", "position"
    ):
        values[line.order_line_id] = (line.line_total + line.tax) / line.quantity
    return values


@dataclass(frozen=True)
class RefundPlan:
    lines: list[RefundLine]
    amount: Decimal  # units with a restocking fee, and an exchange's difference
    fee: Decimal
    units: list[dict[str, object]]

    @property
    def empty(self) -> bool:
        return not self.lines and self.amount <= 0


def _plan_units(request: ReturnRequest, lines: list[ReturnLine]) -> dict[int, int]:
    """Units of each return line to refund now: received (or, kept by the customer,
    asked for), less those already refunded."""
    due = {}
    for line in lines:
        target = line.quantity if request.keep_items else line.quantity_received
        if target > line.quantity_refunded:
            due[line.pk] = target - line.quantity_refunded
    return due


def _plan_refund(lines: list[ReturnLine], due: dict[int, int]) -> RefundPlan:
    values = _unit_values([line.order_line_id for line in lines if line.pk in due])
    refund_lines: list[RefundLine] = []
    amount = ZERO
    fee_total = ZERO
    units: list[dict[str, object]] = []
    for line in lines:
        quantity = due.get(line.pk, 0)
        if not quantity:
            continue
        percent = line.reason.restocking_fee_percent
        units.append(
            {"sku": line.order_line.sku, "quantity": quantity, "fee_percent": str(percent)}
        )
        if not percent:
            refund_lines.append(RefundLine(order_line_id=line.order_line_id, quantity=quantity))
            continue
        if line.order_line_id not in values:
            raise RefundNotPossible(
                f"{line.order_line.sku} was not invoiced; it cannot be refunded yet.",
                sku=line.order_line.sku,
            )
        value = to_cents(values[line.order_line_id] * quantity)
        fee = to_cents(value * percent / 100)
        amount += value - fee
        fee_total += fee
    return RefundPlan(lines=refund_lines, amount=amount, fee=fee_total, units=units)


def _exchange_difference(request: ReturnRequest, lines: list[ReturnLine]) -> Decimal:
    """What a cheaper replacement leaves to refund, tax at the order's rate included."""
    returned = sum((line.order_line.unit_price * line.quantity for line in lines), ZERO)
    replacement = sum(
        (line.unit_price * line.quantity for line in request.exchange_lines.all()), ZERO
    )
    return max(to_cents((returned - replacement) * (1 + request.order.tax_rate)), ZERO)


@transaction.atomic
def refund_return(*, request_id: int, actor: Actor = SYSTEM) -> ReturnRefund | None:
    """Refund what a return has made due, once; None when nothing is due.

    - refund (and store credit): the units received, or every unit when the customer
      keeps them (on approval), less what was refunded already, less the restocking fee
      of each line's reason;
    - exchange: the difference of a cheaper replacement, once every unit is in.

    Under the order's row lock: the units due are read, refunded through
    ``billing.refunds.refund_order`` (credit notes, and for a card pending ledger rows
    paid back after commit) and counted on the lines, so a repeated call finds nothing
    due. A return whose every unit is in (or kept) and refunded is closed. Side effects:
    the return's history, the order's timeline and ``return.refunded``.
    """
    request = locked_request(request_id)
    if request.status in (ReturnStatus.REJECTED, ReturnStatus.CANCELLED, ReturnStatus.REQUESTED):
        return None
    lines = list(request.lines.select_related("order_line", "reason").order_by("id"))
    if request.resolution == Resolution.EXCHANGE:
        if request.status != ReturnStatus.INSPECTED or request.refunds.exists():
            return None
        plan = RefundPlan(lines=[], amount=_exchange_difference(request, lines), fee=ZERO, units=[])
        due: dict[int, int] = {}
        key = f"return:{request.pk}:exchange"
    else:
        if request.keep_items and request.status != ReturnStatus.APPROVED:
            return None
        due = _plan_units(request, lines)
        if not due:
            return None
        plan = _plan_refund(lines, due)
        # Names the units refunded up to now: the same units never get a second key.
        key = f"return:{request.pk}:" + ",".join(
            f"{line.pk}-{line.quantity_refunded + due[line.pk]}" for line in lines if line.pk in due
        )
    if plan.empty:
        return None
    refund = refund_order(
        order_id=request.order_id,
        lines=plan.lines,
        amount=plan.amount if plan.amount > 0 else None,
        reason=CreditReason.RETURN,
        note=f"Return {request.number}",
        actor=actor,
        idempotency_key=key,
        destination=(
            RefundDestination.STORE_CREDIT
            if request.resolution == Resolution.STORE_CREDIT
            else RefundDestination.ORIGINAL
        ),
    )
    made = ReturnRefund.objects.create(
        request=request,
        refund=refund,
        key=key,
        amount=refund.amount,
        restocking_fee=plan.fee,
        units=plan.units,
    )
    for line in lines:
        if line.pk in due:
            line.quantity_refunded += due[line.pk]
    ReturnLine.objects.bulk_update([li for li in lines if li.pk in due], ["quantity_refunded"])
    numbers = list(refund.credit_notes.order_by("id").values_list("number", flat=True))
    currency = request.order.currency
    message = f"refunded {format_money(refund.amount, currency)}"
    if refund.destination == RefundDestination.STORE_CREDIT:
        message = f"credited {format_money(refund.amount, currency)} as store credit"
    if plan.fee:
        message += f" (restocking fee {format_money(plan.fee, currency)} kept)"
    if request.resolution == Resolution.EXCHANGE:
        message += ", the price difference of the replacement"
    message += f"; credit note {', '.join(numbers)}"
    record_return_event(
        request=request,
        type=ReturnEventType.REFUNDED,
        actor=actor,
        message=message,
        payload={
            "refund_id": refund.pk,
            "amount": str(refund.amount),
            "restocking_fee": str(plan.fee),
            "credit_notes": numbers,
            "units": plan.units,
        },
    )
    emit_return("return.refunded", request)
    _close_if_settled(request, lines, actor)
    return made


def _close_if_settled(request: ReturnRequest, lines: list[ReturnLine], actor: Actor) -> None:
    """Close a return once every unit is in (or kept by the customer) and refunded. Units
    the customer keeps count as returned on the order's lines: they are settled."""
    if any(line.quantity_refunded < line.quantity for line in lines):
        return
    if request.keep_items:
        order_lines = []
        for line in lines:
            outstanding = line.quantity_outstanding
            line.order_line.quantity_return_requested -= outstanding
            line.order_line.quantity_returned += outstanding
            order_lines.append(line.order_line)
        OrderLine.objects.bulk_update(
            order_lines, ["quantity_return_requested", "quantity_returned"]
        )
        set_return_status(request.order)
    elif request.status != ReturnStatus.INSPECTED:
        return
    move_return(request, ReturnStatus.CLOSED)
    record_return_event(
        request=request,
        type=ReturnEventType.CLOSED,
        actor=actor,
        message="closed: refunded"
        + (", the customer keeps the items" if request.keep_items else ""),
    )


def resolve_return(*, request_id: int) -> None:
    """The consumer of ``return.approved`` and ``return.received``: do what the return's
    resolution asks at this step. Each part is its own transaction and safe to repeat."""
    resolution = (
        ReturnRequest.objects.filter(pk=request_id).values_list("resolution", flat=True).first()
    )
    if resolution is None:
        return
    if resolution == Resolution.EXCHANGE:
        release_exchange(request_id=request_id)
    try:
        refund_return(request_id=request_id)
    except DomainError as exc:
        # Nothing was written; an agent refunds from the return's page once fixed.
        _note_refund_blocked(request_id, exc.message)
    if resolution == Resolution.EXCHANGE:
        close_exchange(request_id=request_id)


@transaction.atomic
def _note_refund_blocked(request_id: int, message: str) -> None:
    request = locked_request(request_id)
    record_return_event(
        request=request,
        type=ReturnEventType.REFUND_BLOCKED,
        actor=SYSTEM,
        message=f"refund not made: {message} Refund it from the return's page.",
        payload={"error": message},
    )
