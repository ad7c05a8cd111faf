"""Every write to returns: asking, deciding, cancelling, receiving and closing.

Each service takes the order's row lock first (``orders.services.order_for_update``):
a return request and its lines belong to one order and change only under its lock,
like the order lines' return buckets they move. Receiving then locks stock in the
global order (network rows, locations, stock rows) through ``inventory.locks``.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from PIL import Image, UnidentifiedImageError

from core.actors import Actor
from core.errors import Conflict, InvalidInput
from fulfillment.carriers import PickupNotOffered
from inventory.locks import (
    location_activity_for_share,
    network_stock_for_update,
    stock_levels_for_update,
)
from inventory.models import Location, MovementReason, StockBucket
from inventory.services import StockChangeSet
from orders.models import Order, OrderLine, OrderStatus
from orders.services import order_for_update

from .destination import choose_destination, drop_off_destination
from .events import record_return_event
from .models import (
    RECEIVABLE_STATUSES,
    Condition,
    Disposition,
    Resolution,
    ReturnEventType,
    ReturnInspection,
    ReturnLine,
    ReturnMethod,
    ReturnPhoto,
    ReturnReason,
    ReturnReceipt,
    ReturnRequest,
    ReturnStatus,
)
from .pickup import pickup_carrier
from .policy import AskedLine, auto_approves, check_policy, keeps_items
from .resolution import (
    ExchangeLineInput,
    cancel_replacement,
    check_resolution,
    place_exchange,
    record_replacements,
)
from .steps import (
    check_permission,
    emit_return,
    locked_request,
    move_return,
    release_requested,
    set_return_status,
)

APPROVE_PERMISSION = "returns.approve_returnrequest"
RECEIVE_PERMISSION = "returns.receive_returnrequest"

MAX_PHOTOS = 5
MAX_PHOTO_BYTES = 5 * 1024 * 1024
PHOTO_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "GIF": "image/gif"}

# Where each disposition puts the units at the receiving location. Scrapped units never
# enter its stock; units for the vendor wait in the unsellable bucket until they leave.
DISPOSITION_STOCK = {
    Disposition.RESTOCK: (StockBucket.ON_HAND, MovementReason.RETURN_RESTOCK),
    Disposition.DAMAGED: (StockBucket.UNSELLABLE, MovementReason.RETURN_DAMAGED),
    Disposition.RETURN_TO_VENDOR: (StockBucket.UNSELLABLE, MovementReason.RETURN_TO_VENDOR),
}


class ReturnNotOpen(Conflict):
    code = "return_not_open"


class InvalidPhoto(InvalidInput):
    code = "invalid_photo"
    status = 422


class ReceiptExceedsOutstanding(Conflict):
    code = "receipt_exceeds_outstanding"


class IdempotencyKeyReused(InvalidInput):
    code = "idempotency_key_reused"
    status = 422


def replay_return(*, client_scope: str, idempotency_key: str, request_hash: str) -> ReturnRequest:
    """The return a client already asked for with this key; another body is refused."""
    done = ReturnRequest.objects.filter(
        client_scope=client_scope, idempotency_key=idempotency_key
    ).first()
    if done is None:
        raise Conflict("Another request with this Idempotency-Key is in progress; retry.")
    if done.request_hash != request_hash:
        raise IdempotencyKeyReused(
            "This Idempotency-Key was already used with a different request body."
        )
    return done


@dataclass(frozen=True)
class ReturnLineInput:
    order_line_id: int
    quantity: int
    reason_code: str
    note: str = ""


@dataclass(frozen=True)
class ReceivedUnits:
    line_id: int
    quantity: int
    condition: str
    disposition: str
    note: str = ""


def check_photos(photos: Sequence[UploadedFile]) -> list[tuple[UploadedFile, str]]:
    """Images only (JPEG, PNG, WebP, GIF, read by Pillow, not trusted by name), at most
    5 MB each and 5 in all; the content type of each."""
    if len(photos) > MAX_PHOTOS:
        raise InvalidPhoto(f"At most {MAX_PHOTOS} photos may be attached.")
    checked = []
    for photo in photos:
        if photo.size is None or photo.size > MAX_PHOTO_BYTES:
            raise InvalidPhoto(f"{photo.name} is larger than 5 MB.", photo=photo.name)
        try:
            photo.seek(0)
            with Image.open(photo) as image:
                kind = image.format or ""
                image.verify()
        except (UnidentifiedImageError, OSError, SyntaxError) as exc:
            raise InvalidPhoto(f"{photo.name} is not an image.", photo=photo.name) from exc
        if kind not in PHOTO_FORMATS:
            raise InvalidPhoto(
                f"{photo.name} is a {kind or 'file'} image; send JPEG, PNG, WebP or GIF.",
                photo=photo.name,
            )
        photo.seek(0)
        checked.append((photo, PHOTO_FORMATS[kind]))
    return checked


def _asked_lines(order: Order, lines: Sequence[ReturnLineInput]) -> list[AskedLine]:
    """Validate the lines asked for against the order's lines, read under its lock."""
    if not lines:
        raise InvalidInput("Name at least one line to return.")
    ids = [line.order_line_id for line in lines]
    if len(set(ids)) != len(ids):
        raise InvalidInput("Each order line may appear once in a return request.")
    order_lines = {
        line.pk: line
        for line in OrderLine.objects.filter(order=order, pk__in=ids).select_related("product")
    }
    codes = {line.reason_code for line in lines}
    reasons = {r.code: r for r in ReturnReason.objects.filter(code__in=codes, is_active=True)}
    asked = []
    for item in lines:
        order_line = order_lines.get(item.order_line_id)
        if order_line is None:
            raise InvalidInput("A line to return is not a line of this order.")
        if isinstance(item.quantity, bool) or not isinstance(item.quantity, int):
            raise InvalidInput("Quantities are whole numbers.")
        if item.quantity <= 0:
            raise InvalidInput(f"The quantity of {order_line.sku} must be at least 1.")
        reason = reasons.get(item.reason_code)
        if reason is None:
            raise InvalidInput(
                f"“{item.reason_code}” is not a return reason.", reason=item.reason_code
            )
        asked.append(AskedLine(order_line=order_line, quantity=item.quantity, reason=reason))
    return asked


def _approve(request: ReturnRequest, actor: Actor, note: str, *, auto: bool) -> None:
    move_return(request, ReturnStatus.APPROVED)
    if note:
        request.decision_note = note
        request.save(update_fields=["decision_note", "updated_at"])
    message = "approved by the return policy" if auto else "approved"
    record_return_event(
        request=request,
        type=ReturnEventType.APPROVED,
        actor=actor,
        message=message + (f": {note}" if note else ""),
        payload={"auto": auto},
    )
    if request.resolution == Resolution.EXCHANGE and request.exchange_order_id is None:
        place_exchange(request, actor)
    emit_return("return.approved", request)


@transaction.atomic
def request_return(
    *,
    order: Order,
    lines: Sequence[ReturnLineInput],
    method: str,
    actor: Actor,
    note: str = "",
    drop_off_location: Location | None = None,
    photos: Sequence[UploadedFile] = (),
    client_scope: str = "",
    idempotency_key: str = "",
    request_hash: str = "",
    resolution: str = Resolution.REFUND,
    exchange_lines: Sequence[ExchangeLineInput] = (),
) -> ReturnRequest:
    """Ask to return units of an order's lines: an RMA, approved at once when the policy
    says so, else waiting for an agent. ``resolution``: a refund (the default), an
    exchange for ``exchange_lines`` (placed on approval, ``returns.resolution``) or
    store credit; a refund the policy makes without return keeps the items
    (``keep_items``) and is paid on approval.

    Preconditions: each unit delivered and neither returned nor in another open request;
    every line's governing rule allows it (``returns.policy``). Refusals raise before
    anything is written. Side effects, in this transaction: the lines'
    ``quantity_return_requested`` and the order's return status, the return's history and
    the order's timeline, outbox events ``return.requested`` (and ``return.approved``).
    """
    if method not in ReturnMethod.values:
        raise InvalidInput(f"“{method}” is not a return method.", method=method)
    checked_photos = check_photos(photos)
    # The order row lock: two requests for the last returnable unit decide one at a time.
    order = order_for_update(order.pk)
    if (
        idempotency_key
        and ReturnRequest.objects.filter(
            client_scope=client_scope, idempotency_key=idempotency_key
        ).exists()
    ):
        # A retry, decided under the order's lock after the first attempt committed.
        return replay_return(
            client_scope=client_scope, idempotency_key=idempotency_key, request_hash=request_hash
        )
    if order.status in (OrderStatus.DRAFT, OrderStatus.CANCELLED):
        raise Conflict(f"Order {order.number} has nothing delivered to return.")
    asked = _asked_lines(order, lines)
    rules = check_policy(order, asked)
    replacements = check_resolution(
        order=order, resolution=resolution, exchange_lines=exchange_lines, asked=asked
    )
    carrier = None
    if method == ReturnMethod.PICKUP:
        carrier = pickup_carrier(order)
        if carrier is None:
            raise PickupNotOffered(
                "No carrier collects returns from this address; send the parcel by mail "
                "or bring it to a store.",
                method=method,
            )
    product_ids = {a.order_line.product_id for a in asked}
    skus = [a.order_line.sku for a in asked]
    if method == ReturnMethod.DROP_OFF:
        destination, reason = drop_off_destination(order, product_ids, skus, drop_off_location)
    else:
        destination, reason = choose_destination(order, product_ids, skus)
    request = ReturnRequest.objects.create(
        # A unique stand-in until the row's id gives the number.
        number=f"new-{uuid.uuid4().hex[:24]}",
        order=order,
        customer_id=order.customer_id,
        company_id=order.company_id,
        method=method,
        carrier=carrier,
        destination=destination,
        destination_reason=reason,
        policy_trace={str(a.order_line.pk): rules[a.order_line.pk].trace() for a in asked},
        note=note.strip(),
        resolution=resolution,
        keep_items=resolution != Resolution.EXCHANGE and keeps_items(asked, rules),
        client_scope=client_scope,
        idempotency_key=idempotency_key,
        request_hash=request_hash,
    )
    request.number = f"RMA-{timezone.now().year}-{request.pk:06d}"
    request.save(update_fields=["number"])
    record_replacements(request, replacements)
    ReturnLine.objects.bulk_create(
        [
            ReturnLine(
                request=request,
                order_line=a.order_line,
                quantity=a.quantity,
                reason=a.reason,
                note=next(i.note for i in lines if i.order_line_id == a.order_line.pk)[:500],
            )
            for a in asked
        ]
    )
    for a in asked:
        a.order_line.quantity_return_requested += a.quantity
    OrderLine.objects.bulk_update([a.order_line for a in asked], ["quantity_return_requested"])
    set_return_status(order)
    for photo, content_type in checked_photos:
        ReturnPhoto.objects.create(
            request=request, image=photo, content_type=content_type, size=photo.size or 0
        )
    record_return_event(
        request=request,
        type=ReturnEventType.REQUESTED,
        actor=actor,
        message=(
            "requested for "
            + ", ".join(f"{a.order_line.sku} × {a.quantity} ({a.reason.label})" for a in asked)
            + f"; to {destination.code}; "
            + Resolution(resolution).label.lower()
            + (
                " (" + ", ".join(f"{r.product.sku} × {r.quantity}" for r in replacements) + ")"
                if replacements
                else ""
            )
            + ("; the customer keeps the items" if request.keep_items else "")
        ),
        payload={
            "lines": [
                {"sku": a.order_line.sku, "quantity": a.quantity, "reason": a.reason.code}
                for a in asked
            ],
            "method": method,
            "destination": destination.code,
            "destination_reason": reason,
            "resolution": resolution,
            "keep_items": request.keep_items,
            "exchange_lines": [
                {"sku": r.product.sku, "quantity": r.quantity} for r in replacements
            ],
        },
    )
    emit_return("return.requested", request)
    if auto_approves(asked, rules):
        request.auto_approved = True
        request.save(update_fields=["auto_approved"])
        _approve(request, Actor.system("return policy"), "", auto=True)
    return request


@transaction.atomic
def approve_return(*, request_id: int, actor: Actor, note: str = "") -> ReturnRequest:
    """An agent approves a requested return (``returns.approve_returnrequest``)."""
    check_permission(actor, APPROVE_PERMISSION)
    request = locked_request(request_id)
    _approve(request, actor, note.strip(), auto=False)
    return request


@transaction.atomic
def reject_return(*, request_id: int, actor: Actor, reason: str) -> ReturnRequest:
    """An agent refuses a requested return; its units become returnable again."""
    check_permission(actor, APPROVE_PERMISSION)
    reason = reason.strip()
    if not reason:
        raise InvalidInput("Say why the return is rejected; the customer is told.")
    request = locked_request(request_id)
    move_return(request, ReturnStatus.REJECTED)
    request.decision_note = reason
    request.save(update_fields=["decision_note", "updated_at"])
    release_requested(request)
    set_return_status(request.order)
    record_return_event(
        request=request, type=ReturnEventType.REJECTED, actor=actor, message=f"rejected: {reason}"
    )
    emit_return("return.rejected", request)
    return request


@transaction.atomic
def cancel_return(*, request_id: int, actor: Actor) -> ReturnRequest:
    """Withdraw a return nothing of which has arrived; its units become returnable. An
    exchange's replacement is cancelled with it (refused, and nothing changes, once it
    has shipped)."""
    request = locked_request(request_id)
    move_return(request, ReturnStatus.CANCELLED)
    release_requested(request)
    set_return_status(request.order)
    record_return_event(
        request=request, type=ReturnEventType.CANCELLED, actor=actor, message="cancelled"
    )
    if request.exchange_order_id is not None:
        cancel_replacement(request, actor)
    return request


@transaction.atomic
def mark_return_in_transit(
    *, request_id: int, actor: Actor, tracking_number: str = ""
) -> ReturnRequest:
    """The parcel is on its way back (the carrier scanned it, or the customer says so)."""
    request = locked_request(request_id)
    move_return(request, ReturnStatus.IN_TRANSIT)
    record_return_event(
        request=request,
        type=ReturnEventType.IN_TRANSIT,
        actor=actor,
        message="on its way back" + (f", tracking {tracking_number}" if tracking_number else ""),
        payload={"tracking_number": tracking_number},
    )
    return request


def _received_by_line(
    request: ReturnRequest, lines: dict[int, ReturnLine], units: Sequence[ReceivedUnits]
) -> dict[int, int]:
    """Check the received units against the return; their total per return line."""
    received: dict[int, int] = {}
    for item in units:
        line = lines.get(item.line_id)
        if line is None:
            raise InvalidInput("A received line is not a line of this return.")
        if isinstance(item.quantity, bool) or not isinstance(item.quantity, int):
            raise InvalidInput("Quantities are whole numbers.")
        if item.quantity <= 0:
            raise InvalidInput("Received quantities must be at least 1.")
        if item.condition not in Condition.values:
            raise InvalidInput(f"“{item.condition}” is not a condition.")
        if item.disposition not in Disposition.values:
            raise InvalidInput(f"“{item.disposition}” is not a disposition.")
        received[line.pk] = received.get(line.pk, 0) + item.quantity
    for line_id, quantity in received.items():
        line = lines[line_id]
        if quantity > line.quantity_outstanding:
            raise ReceiptExceedsOutstanding(
                f"{line.order_line.sku}: {quantity} received, but only "
                f"{line.quantity_outstanding} are still expected on {request.number}.",
                sku=line.order_line.sku,
            )
    return received


def _move_stock(
    request: ReturnRequest,
    location: Location,
    lines: dict[int, ReturnLine],
    units: Sequence[ReceivedUnits],
    actor: Actor,
) -> None:
    """Put the units where their disposition sends them, through the ledger."""
    stocked = [item for item in units if item.disposition in DISPOSITION_STOCK]
    if not stocked:
        return
    # Lock order: network rows, then the location (key share), then stock rows.
    product_ids = {lines[item.line_id].order_line.product_id for item in stocked}
    networks = network_stock_for_update(product_ids)
    active = location_activity_for_share([location.pk])
    levels = stock_levels_for_update((location.pk, pid) for pid in product_ids)
    changes = StockChangeSet(
        actor=actor,
        reference=request.number,
        note=f"Return {request.number}",
        networks=networks,
        active_locations=active,
    )
    for item in stocked:
        bucket, reason = DISPOSITION_STOCK[Disposition(item.disposition)]
        product_id = lines[item.line_id].order_line.product_id
        changes.change(levels[(location.pk, product_id)], bucket, item.quantity, reason)
    changes.commit()


@transaction.atomic
def receive_return(
    *,
    request_id: int,
    token: str,
    location: Location,
    units: Sequence[ReceivedUnits],
    actor: Actor,
) -> ReturnReceipt:
    """Receive and inspect units of an approved return at ``location``.

    Each group of units gets a condition and a disposition, which moves them through the
    ledger (``DISPOSITION_STOCK``): restocked units go on hand there and raise the SKU's
    network availability. The order lines' units move from return-requested to returned
    and the order's return status follows.

    Exactly once: ``token`` names this submission (the receiving form's); a second
    submission with it, even at the same moment, finds the receipt under the order's
    lock and changes nothing.
    """
    check_permission(actor, RECEIVE_PERMISSION)
    token = token.strip()
    if not token or len(token) > 64:
        raise InvalidInput("The receipt has no valid token; reload the receiving page.")
    if not units:
        raise InvalidInput("Enter at least one received unit.")
    request = locked_request(request_id)
    done = ReturnReceipt.objects.filter(token=token).first()
    if done is not None:
        if done.request_id != request.pk:
            raise InvalidInput("This receipt token belongs to another return.")
        return done
    if request.status not in RECEIVABLE_STATUSES:
        raise ReturnNotOpen(
            f"Return {request.number} is {request.get_status_display().lower()}; "
            "only approved returns are received.",
            status=request.status,
        )
    if not location.accepts_returns or not location.is_active:
        raise InvalidInput(f"{location.code} does not take returns.", location=location.code)
    lines = {
        line.pk: line for line in request.lines.select_related("order_line", "order_line__product")
    }
    received = _received_by_line(request, lines, units)
    _move_stock(request, location, lines, units, actor)

    receipt = ReturnReceipt.objects.create(
        request=request, token=token, location=location, **actor.as_fields()
    )
    ReturnInspection.objects.bulk_create(
        [
            ReturnInspection(
                receipt=receipt,
                line=lines[item.line_id],
                quantity=item.quantity,
                condition=item.condition,
                disposition=item.disposition,
                note=item.note[:300],
            )
            for item in units
        ]
    )
    order_lines = []
    for line_id, quantity in received.items():
        line = lines[line_id]
        line.quantity_received += quantity
        line.order_line.quantity_return_requested -= quantity
        line.order_line.quantity_returned += quantity
        order_lines.append(line.order_line)
    ReturnLine.objects.bulk_update([lines[pk] for pk in received], ["quantity_received"])
    OrderLine.objects.bulk_update(order_lines, ["quantity_return_requested", "quantity_returned"])
    set_return_status(request.order)
    complete = all(line.quantity_outstanding == 0 for line in lines.values())
    move_return(request, ReturnStatus.INSPECTED if complete else ReturnStatus.RECEIVED)
    record_return_event(
        request=request,
        type=ReturnEventType.RECEIVED,
        actor=actor,
        message=f"received at {location.code}: "
        + ", ".join(
            f"{lines[i.line_id].order_line.sku} × {i.quantity} "
            f"({Condition(i.condition).label.lower()}, "
            f"{Disposition(i.disposition).label.lower()})"
            for i in units
        ),
        payload={
            "receipt": token,
            "location": location.code,
            "units": [
                {
                    "sku": lines[i.line_id].order_line.sku,
                    "quantity": i.quantity,
                    "condition": i.condition,
                    "disposition": i.disposition,
                }
                for i in units
            ],
        },
    )
    emit_return("return.received", request)
    return receipt


@transaction.atomic
def close_return(*, request_id: int, actor: Actor, note: str = "") -> ReturnRequest:
    """Close a received return. Units still expected (a partial receipt) are given up
    and become returnable again. The refund step will run before this (docs/returns.md)."""
    check_permission(actor, APPROVE_PERMISSION)
    request = locked_request(request_id)
    move_return(request, ReturnStatus.CLOSED)
    release_requested(request)
    set_return_status(request.order)
    record_return_event(
        request=request,
        type=ReturnEventType.CLOSED,
        actor=actor,
        message="closed" + (f": {note.strip()}" if note.strip() else ""),
    )
    return request
