"""Incoming supply: purchase orders from suppliers and transfers in transit.

A purchase order's open units (ordered - received - cancelled) are its location's
``incoming`` bucket, written through the stock ledger like every other change:

- ``create_purchase_order`` adds each line to ``incoming`` at the destination (reason
  ``expected``); a transfer also takes the units off the source's ``on_hand`` at once
  (``transfer_out``): they are on the road, no longer sellable there.
- ``receive_purchase_order`` moves received units from ``incoming`` to ``on_hand``
  (``receipt``, or ``transfer_in`` for a transfer), exactly, line by line. More than a
  line has open, or a SKU the order does not carry, is refused and nothing is written.
- ``cancel_purchase_order_line`` releases a line's open units from ``incoming``
  (``expected_cancelled``); a transfer's go back on hand at the source.

The order's ``status`` is derived from its lines after each change.

Locks: the purchase order row first (FOR NO KEY UPDATE: receipts and cancellations of
one order wait for each other, so two receipts for the last open units cannot both
pass), then the stock locks in the global order of ``inventory.locks`` (network rows,
locations, stock rows). No stock writer takes a purchase order lock, so this adds no
cycle. A new order's row is inserted before any stock lock: no one can wait for it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

from django.db import IntegrityError, transaction
from django.db.models import F, QuerySet, Sum
from django.utils import timezone

from core.actors import Actor
from core.errors import Conflict, InvalidInput, InvalidTransition, NotFound

from .errors import InsufficientStock, UnknownSku
from .locks import location_activity_for_share, network_stock_for_update, stock_levels_for_update
from .models import (
    Location,
    MovementReason,
    NetworkStock,
    Product,
    PurchaseOrder,
    PurchaseOrderEvent,
    PurchaseOrderKind,
    PurchaseOrderLine,
    PurchaseOrderReceipt,
    PurchaseOrderReceiptLine,
    PurchaseOrderStatus,
    StockBucket,
    StockLevel,
)
from .services import MAX_STOCK_QUANTITY, StockChangeSet

MAX_LINES = 500
OPEN_STATUSES = (PurchaseOrderStatus.OPEN, PurchaseOrderStatus.PARTIALLY_RECEIVED)


class UnknownPurchaseOrderLine(InvalidInput):
    code = "unknown_purchase_order_line"
    status = 422


class OverReceipt(Conflict):
    code = "over_receipt"


class PurchaseOrderClosed(InvalidTransition):
    code = "purchase_order_closed"


class PurchaseOrderNotFound(NotFound):
    code = "purchase_order_not_found"


class DuplicateReference(Conflict):
    code = "duplicate_reference"


# --- input ----------------------------------------------------------------------


def _whole_quantity(value: object, *, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"The quantity of {what} must be a whole number.")
    if value <= 0:
        raise InvalidInput(f"The quantity of {what} must be greater than zero.")
    if value > MAX_STOCK_QUANTITY:
        raise InvalidInput(f"The quantity of {what} cannot exceed {MAX_STOCK_QUANTITY}.")
    return value


def _quantities_by_sku(lines: Mapping[str, int] | Iterable[tuple[str, int]]) -> dict[str, int]:
    """``{SKU: quantity}`` from pairs, each SKU once, every quantity positive."""
    pairs = list(lines.items()) if isinstance(lines, Mapping) else list(lines)
    if not pairs:
        raise InvalidInput("At least one line is required.")
    if len(pairs) > MAX_LINES:
        raise InvalidInput(f"At most {MAX_LINES} lines are accepted at once.")
    wanted: dict[str, int] = {}
    for sku, quantity in pairs:
        key = str(sku).strip().upper()
        if not key:
            raise InvalidInput("Every line needs a SKU.")
        if key in wanted:
            raise InvalidInput(f"SKU {key} appears twice; put its units on one line.")
        wanted[key] = _whole_quantity(quantity, what=key)
    return wanted


def _products(skus: Iterable[str]) -> dict[str, Product]:
    wanted = set(skus)
    found = {p.sku: p for p in Product.objects.filter(sku__in=wanted)}
    missing = sorted(wanted - found.keys())
    if missing:
        raise UnknownSku(f"Unknown SKU {', '.join(missing)}.", skus=missing)
    return found


# --- stock ------------------------------------------------------------------------


def _change_set(
    pairs: list[tuple[int, int]], *, actor: Actor, reference: str, note: str = ""
) -> tuple[StockChangeSet, dict[tuple[int, int], StockLevel]]:
    """Lock network rows, locations, then stock rows (the global order)."""
    networks: dict[int, NetworkStock] = network_stock_for_update(p for _, p in pairs)
    active = location_activity_for_share(loc for loc, _ in pairs)
    levels = stock_levels_for_update(pairs)
    changes = StockChangeSet(
        actor=actor, reference=reference, note=note, networks=networks, active_locations=active
    )
    return changes, levels


def _derive_status(lines: list[PurchaseOrderLine]) -> str:
    if any(line.quantity_open for line in lines):
        if any(line.quantity_received for line in lines):
            return PurchaseOrderStatus.PARTIALLY_RECEIVED
        return PurchaseOrderStatus.OPEN
    if any(line.quantity_received for line in lines):
        return PurchaseOrderStatus.RECEIVED
    return PurchaseOrderStatus.CANCELLED


def _record(po: PurchaseOrder, kind: str, actor: Actor, **payload: object) -> None:
    PurchaseOrderEvent.objects.create(
        purchase_order=po, kind=kind, payload=payload, **actor.as_fields()
    )


def purchase_order_for_update(pk: int) -> PurchaseOrder:
    po = (
        PurchaseOrder.objects.select_for_update(no_key=True, of=("self",))
        .select_related("location", "source_location")
        .filter(pk=pk)
        .first()
    )
    if po is None:
        raise PurchaseOrderNotFound("This purchase order does not exist.")
    return po


# --- writes -----------------------------------------------------------------------


@dataclass(frozen=True)
class CreatedPurchaseOrder:
    purchase_order: PurchaseOrder
    created: bool


@dataclass(frozen=True)
class _Header:
    kind: str
    supplier: str
    reference: str
    expected_date: date
    wanted: dict[str, int]


def _checked_header(
    *,
    location: Location,
    lines: Mapping[str, int] | Iterable[tuple[str, int]],
    expected_date: date,
    supplier: str,
    source_location: Location | None,
    reference: str,
) -> _Header:
    wanted = _quantities_by_sku(lines)
    supplier = (supplier or "").strip()
    reference = (reference or "").strip()
    if len(reference) > 100:
        raise InvalidInput("The reference is at most 100 characters.")
    if not isinstance(expected_date, date):
        raise InvalidInput("An expected date is required.")
    if expected_date < timezone.localdate():
        raise InvalidInput(
            f"The expected date {expected_date.isoformat()} is in the past; "
            "give the day the goods are now due."
        )
    if source_location is not None:
        if source_location.pk == location.pk:
            raise InvalidInput("A transfer's source and destination must differ.")
        return _Header(PurchaseOrderKind.TRANSFER, "", reference, expected_date, wanted)
    if not supplier:
        raise InvalidInput("A supplier is required for a purchase order.")
    if len(supplier) > 200:
        raise InvalidInput("The supplier's name is at most 200 characters.")
    return _Header(PurchaseOrderKind.PURCHASE, supplier, reference, expected_date, wanted)


def _replay(
    existing: PurchaseOrder, header: _Header, source: Location | None
) -> CreatedPurchaseOrder:
    """The order already recorded under this reference, if it is the same order."""
    lines = dict(existing.lines.values_list("product__sku", "quantity_ordered"))
    if (
        lines == header.wanted
        and existing.expected_date == header.expected_date
        and existing.supplier == header.supplier
        and existing.source_location_id == (source.pk if source else None)
    ):
        return CreatedPurchaseOrder(existing, created=False)
    raise DuplicateReference(
        f"Purchase order {header.reference} to {existing.location.code} already exists "
        f"({existing.number}) with other content.",
        number=existing.number,
    )


@transaction.atomic
def create_purchase_order(
    *,
    location: Location,
    lines: Mapping[str, int] | Iterable[tuple[str, int]],
    expected_date: date,
    actor: Actor,
    supplier: str = "",
    source_location: Location | None = None,
    reference: str = "",
    note: str = "",
) -> CreatedPurchaseOrder:
    """Record units on their way to ``location``: from ``supplier`` (a purchase), or
    from ``source_location`` (a transfer in transit, whose units leave the source's
    on hand now).

    ``reference`` (the ERP's own number) makes the call idempotent per location: the
    same reference with the same content returns the existing order (``created`` is
    False); with other content it is refused (``duplicate_reference``). Every line
    goes to ``incoming`` through the ledger in this transaction; on any refusal
    nothing is written.
    """
    header = _checked_header(
        location=location,
        lines=lines,
        expected_date=expected_date,
        supplier=supplier,
        source_location=source_location,
        reference=reference,
    )
    products = _products(header.wanted)
    if header.reference:
        existing = (
            PurchaseOrder.objects.select_related("location")
            .filter(location=location, reference=header.reference)
            .first()
        )
        if existing is not None:
            return _replay(existing, header, source_location)
    prefix = "TR" if header.kind == PurchaseOrderKind.TRANSFER else "PO"
    try:
        # A savepoint: a concurrent insert of the same reference loses here, and the
        # caller's transaction stays usable to read the winner.
        with transaction.atomic():
            po = PurchaseOrder.objects.create(
                number=f"{prefix}-NEW-{uuid.uuid4().hex[:20]}",
                kind=header.kind,
                supplier=header.supplier,
                source_location=source_location,
                location=location,
                expected_date=header.expected_date,
                reference=header.reference,
                note=(note or "").strip(),
            )
    except IntegrityError:
        existing = PurchaseOrder.objects.select_related("location").get(
            location=location, reference=header.reference
        )
        return _replay(existing, header, source_location)
    po.number = f"{prefix}-{po.pk:06d}"
    po.save(update_fields=["number"])
    po_lines = PurchaseOrderLine.objects.bulk_create(
        [
            PurchaseOrderLine(
                purchase_order=po, line_number=n, product=products[sku], quantity_ordered=qty
            )
            for n, (sku, qty) in enumerate(header.wanted.items(), start=1)
        ]
    )
    _expect_lines(po, po_lines, actor=actor)
    _record(
        po,
        "created",
        actor,
        lines=dict(header.wanted),
        expected_date=header.expected_date.isoformat(),
    )
    return CreatedPurchaseOrder(po, created=True)


def _expect_lines(po: PurchaseOrder, po_lines: list[PurchaseOrderLine], *, actor: Actor) -> None:
    """The new lines' units go to incoming at the destination (and, for a transfer,
    leave the source's on hand, which must have them free)."""
    source_id = po.source_location_id
    pairs = [(po.location_id, line.product_id) for line in po_lines]
    if source_id is not None:
        pairs += [(source_id, line.product_id) for line in po_lines]
    changes, levels = _change_set(pairs, actor=actor, reference=po.number, note=po.note)
    for line in po_lines:
        level = levels[(po.location_id, line.product_id)]
        changes.change(level, StockBucket.INCOMING, line.quantity_ordered, MovementReason.EXPECTED)
        if source_id is None:
            continue
        out = levels[(source_id, line.product_id)]
        free = out.on_hand - out.allocated - out.reserved
        if free < line.quantity_ordered:
            raise InsufficientStock(
                f"{po.source_location.code} has only {max(free, 0)} free units of "  # type: ignore[union-attr]
                f"{line.product.sku}.",
                sku=line.product.sku,
            )
        changes.change(
            out, StockBucket.ON_HAND, -line.quantity_ordered, MovementReason.TRANSFER_OUT
        )
    changes.commit()


@dataclass(frozen=True)
class RecordedReceipt:
    receipt: PurchaseOrderReceipt
    created: bool


@transaction.atomic
def receive_purchase_order(
    *,
    purchase_order: PurchaseOrder,
    lines: Mapping[str, int] | Iterable[tuple[str, int]],
    actor: Actor,
    reference: str = "",
    note: str = "",
) -> RecordedReceipt:
    """Count a delivery in: each SKU's units move from ``incoming`` to ``on_hand`` at
    the order's location, and onto its line's received quantity.

    Refused, with nothing written, when the order is closed, a SKU is not on it
    (``unknown_purchase_order_line``) or a quantity exceeds what its line still has
    open (``over_receipt``). A ``reference`` (the delivery note) makes the call
    idempotent: the same reference again returns the receipt already recorded.
    """
    wanted = _quantities_by_sku(lines)
    reference = (reference or "").strip()
    if len(reference) > 100:
        raise InvalidInput("The receipt reference is at most 100 characters.")
    po = purchase_order_for_update(purchase_order.pk)
    if reference:
        # Under the order's lock: a concurrent retry of this receipt waits, then sees it.
        done = po.receipts.filter(reference=reference).first()
        if done is not None:
            recorded = dict(done.lines.values_list("line__product__sku", "quantity"))
            if recorded != wanted:
                raise DuplicateReference(
                    f"Receipt {reference} of {po.number} was recorded with other quantities."
                )
            return RecordedReceipt(done, created=False)
    if po.status not in OPEN_STATUSES:
        raise PurchaseOrderClosed(
            f"{po.number} is {po.get_status_display().lower()}; nothing is left to receive."
        )
    po_lines = list(po.lines.select_related("product"))
    by_sku = {line.product.sku: line for line in po_lines}
    unknown = sorted(set(wanted) - by_sku.keys())
    if unknown:
        raise UnknownPurchaseOrderLine(
            f"{po.number} has no line for {', '.join(unknown)}.", skus=unknown
        )
    for sku, qty in wanted.items():
        line = by_sku[sku]
        if qty > line.quantity_open:
            raise OverReceipt(
                f"{sku}: {qty} received but only {line.quantity_open} of "
                f"{line.quantity_ordered} are still open on {po.number}.",
                sku=sku,
                open=line.quantity_open,
            )
    reason = (
        MovementReason.TRANSFER_IN
        if po.kind == PurchaseOrderKind.TRANSFER
        else MovementReason.RECEIPT
    )
    changes, levels = _change_set(
        [(po.location_id, by_sku[sku].product_id) for sku in wanted],
        actor=actor,
        reference=po.number,
        note=(note or "").strip(),
    )
    for sku, qty in wanted.items():
        level = levels[(po.location_id, by_sku[sku].product_id)]
        changes.change(level, StockBucket.INCOMING, -qty, reason)
        changes.change(level, StockBucket.ON_HAND, qty, reason)
    changes.commit()
    receipt = PurchaseOrderReceipt.objects.create(
        purchase_order=po, reference=reference, note=(note or "").strip(), **actor.as_fields()
    )
    PurchaseOrderReceiptLine.objects.bulk_create(
        [
            PurchaseOrderReceiptLine(receipt=receipt, line=by_sku[s], quantity=q)
            for s, q in wanted.items()
        ]
    )
    for sku, qty in wanted.items():
        by_sku[sku].quantity_received += qty
    PurchaseOrderLine.objects.bulk_update([by_sku[s] for s in wanted], ["quantity_received"])
    _close_or_keep(po, po_lines)
    _record(po, "received", actor, lines=wanted, receipt=reference or receipt.pk)
    return RecordedReceipt(receipt, created=True)


def _close_or_keep(po: PurchaseOrder, lines: list[PurchaseOrderLine]) -> None:
    status = _derive_status(lines)
    if status != po.status:
        po.status = status
        po.save(update_fields=["status", "updated_at"])


@transaction.atomic
def cancel_purchase_order_lines(
    *,
    purchase_order: PurchaseOrder,
    actor: Actor,
    reason: str,
    skus: Iterable[str] | None = None,
) -> PurchaseOrder:
    """Cancel the open units of some lines (``skus``) or of all of them: they leave
    ``incoming``; a transfer's go back on hand at its source. Received units stay.

    A reason is required; a SKU not on the order, or a line with nothing open, is
    refused and nothing is written.
    """
    note = (reason or "").strip()
    if not note:
        raise InvalidInput("Say why the lines are cancelled.")
    po = purchase_order_for_update(purchase_order.pk)
    if po.status not in OPEN_STATUSES:
        raise PurchaseOrderClosed(
            f"{po.number} is {po.get_status_display().lower()}; nothing is left to cancel."
        )
    po_lines = list(po.lines.select_related("product"))
    by_sku = {line.product.sku: line for line in po_lines}
    if skus is None:
        chosen = [line for line in po_lines if line.quantity_open]
    else:
        wanted = sorted({s.strip().upper() for s in skus})
        if not wanted:
            raise InvalidInput("Choose at least one line to cancel.")
        unknown = [s for s in wanted if s not in by_sku]
        if unknown:
            raise UnknownPurchaseOrderLine(
                f"{po.number} has no line for {', '.join(unknown)}.", skus=unknown
            )
        chosen = [by_sku[s] for s in wanted]
        closed = [line.product.sku for line in chosen if not line.quantity_open]
        if closed:
            raise PurchaseOrderClosed(f"Nothing is open on {', '.join(closed)} any more.")
    pairs = [(po.location_id, line.product_id) for line in chosen]
    if po.source_location_id is not None:
        pairs += [(po.source_location_id, line.product_id) for line in chosen]
    changes, levels = _change_set(pairs, actor=actor, reference=po.number, note=note)
    cancelled: dict[str, int] = {}
    for line in chosen:
        qty = line.quantity_open
        cancelled[line.product.sku] = qty
        level = levels[(po.location_id, line.product_id)]
        changes.change(level, StockBucket.INCOMING, -qty, MovementReason.EXPECTED_CANCELLED)
        if po.source_location_id is not None:
            back = levels[(po.source_location_id, line.product_id)]
            changes.change(back, StockBucket.ON_HAND, qty, MovementReason.TRANSFER_IN)
        line.quantity_cancelled += qty
    changes.commit()
    PurchaseOrderLine.objects.bulk_update(chosen, ["quantity_cancelled"])
    _close_or_keep(po, po_lines)
    _record(po, "cancelled", actor, lines=cancelled, reason=note)
    return po


# --- reads ------------------------------------------------------------------------


def get_purchase_order(number: str, *, location_id: int | None = None) -> PurchaseOrder:
    """The purchase order by its number; ``location_id`` limits it to one location's
    (a location's API key sees no other)."""
    qs = PurchaseOrder.objects.select_related("location", "source_location").filter(
        number=(number or "").strip().upper()
    )
    if location_id is not None:
        qs = qs.filter(location_id=location_id)
    po = qs.first()
    if po is None:
        raise PurchaseOrderNotFound(f"No purchase order {number}.")
    return po


def list_purchase_orders() -> QuerySet[PurchaseOrder]:
    return PurchaseOrder.objects.select_related("location", "source_location")


def open_purchase_lines() -> QuerySet[PurchaseOrderLine]:
    """Lines with units still on their way, on orders not closed."""
    return PurchaseOrderLine.objects.filter(
        purchase_order__status__in=OPEN_STATUSES,
        quantity_ordered__gt=F("quantity_received") + F("quantity_cancelled"),
    )


def incoming_by_date(
    product_ids: Iterable[int], *, by_date: date, active_only: bool = True
) -> dict[int, int]:
    """Units of each product on open purchase orders and transfers due by ``by_date``
    (late ones included), at active locations: one query."""
    ids = sorted(set(product_ids))
    qs = open_purchase_lines().filter(
        product_id__in=ids, purchase_order__expected_date__lte=by_date
    )
    if active_only:
        qs = qs.filter(purchase_order__location__is_active=True)
    rows = qs.values("product_id").annotate(
        units=Sum(F("quantity_ordered") - F("quantity_received") - F("quantity_cancelled"))
    )
    return {row["product_id"]: int(row["units"] or 0) for row in rows}


@dataclass(frozen=True)
class SupplyAvailability:
    """What can be promised of one SKU: now, and by a date counting incoming supply."""

    sku: str
    available_now: int
    incoming_by_date: int
    by_date: date | None

    @property
    def available_by_date(self) -> int:
        return self.available_now + self.incoming_by_date


def get_availability_by_date(
    skus: Iterable[str], *, by_date: date | None
) -> dict[str, SupplyAvailability]:
    """Network available to promise of each known SKU, plus (with ``by_date``) the
    units of open purchase orders and transfers due by then (two queries)."""
    wanted = sorted({s.strip().upper() for s in skus})
    networks = list(NetworkStock.objects.select_related("product").filter(product__sku__in=wanted))
    incoming = (
        incoming_by_date([n.product_id for n in networks], by_date=by_date)
        if by_date is not None and networks
        else {}
    )
    return {
        n.product.sku: SupplyAvailability(
            sku=n.product.sku,
            available_now=n.available_to_promise,
            incoming_by_date=incoming.get(n.product_id, 0),
            by_date=by_date,
        )
        for n in networks
    }


def earliest_supply_date(product: Product, quantity: int) -> date | None:
    """The first day by which ``quantity`` units of ``product`` can be promised, counting
    open purchase orders and transfers in order of their expected dates: today when the
    network has them now, ``None`` when even every open order is not enough.

    For reps promising a backorder: the draft builder shows this date.
    """
    network = NetworkStock.objects.filter(product=product).first()
    have = network.available_to_promise if network else 0
    today = timezone.localdate()
    if have >= quantity:
        return today
    rows = (
        open_purchase_lines()
        .filter(product=product, purchase_order__location__is_active=True)
        .values("purchase_order__expected_date")
        .annotate(
            units=Sum(F("quantity_ordered") - F("quantity_received") - F("quantity_cancelled"))
        )
        .order_by("purchase_order__expected_date")
    )
    for row in rows:
        have += int(row["units"] or 0)
        if have >= quantity:
            return max(row["purchase_order__expected_date"], today)
    return None
