"""The return parcel's tracking: its label's carrier and tracking number, and the
carrier's scans, which arrive through the carriers' tracking webhook
(``returns.api.views.CarrierEventView``, the same endpoint as shipments' scans)."""

from __future__ import annotations

from datetime import datetime

from django.db import IntegrityError, transaction

from core.actors import Actor
from core.errors import Conflict, InvalidInput
from fulfillment.carriers import gateway_for
from fulfillment.models import Shipment, ShipmentStatus
from shipping.models import Carrier

from .events import record_return_event
from .models import ReturnEventType, ReturnRequest, ReturnStatus, ReturnTrackingEvent
from .steps import check_permission, locked_request, move_return

APPROVE_PERMISSION = "returns.approve_returnrequest"

# Which scan comes after which: an older scan arriving late changes nothing.
PROGRESS: dict[str, int] = {
    ShipmentStatus.LABEL_CREATED: 0,
    ShipmentStatus.IN_TRANSIT: 1,
    ShipmentStatus.EXCEPTION: 1,
    ShipmentStatus.OUT_FOR_DELIVERY: 2,
    ShipmentStatus.DELIVERED: 3,
}
# Returns whose parcel may still be scanned.
TRACKABLE = (ReturnStatus.APPROVED, ReturnStatus.IN_TRANSIT)


class TrackingNumberTaken(Conflict):
    code = "tracking_number_taken"


@transaction.atomic
def set_return_tracking(
    *, request_id: int, carrier: Carrier, actor: Actor, tracking_number: str = ""
) -> ReturnRequest:
    """Give an approved return's label a carrier and its tracking number: the one typed
    from a label bought elsewhere, or one the carrier's integration issues (empty).

    The number must be the carrier's only parcel with it (no shipment nor other
    return), so that its scans find this return. Side effects: the return's history and
    the order's timeline."""
    check_permission(actor, APPROVE_PERMISSION)
    if not carrier.is_active:
        raise InvalidInput(f"{carrier.name} is not an active carrier.")
    number = tracking_number.strip().upper()
    if len(number) > 64:
        raise InvalidInput("A tracking number has at most 64 characters.")
    request = locked_request(request_id)
    if request.status not in TRACKABLE:
        raise Conflict(
            f"Return {request.number} is {request.get_status_display().lower()}; only an "
            "approved return not yet received gets a label's tracking number.",
            status=request.status,
        )
    if not number:
        number = gateway_for(carrier).create_tracking_number()
    taken = (
        ReturnRequest.objects.filter(carrier=carrier, tracking_number=number)
        .exclude(pk=request.pk)
        .exists()
        or Shipment.objects.filter(carrier=carrier, tracking_number=number).exists()
    )
    if taken:
        raise TrackingNumberTaken(
            f"{carrier.name} already has a parcel with tracking number {number}.",
            tracking_number=number,
        )
    request.carrier = carrier
    request.tracking_number = number
    request.tracking_status = ShipmentStatus.LABEL_CREATED
    request.save(update_fields=["carrier", "tracking_number", "tracking_status", "updated_at"])
    record_return_event(
        request=request,
        type=ReturnEventType.TRACKING,
        actor=actor,
        message=f"return label with {carrier.name}, tracking {number}",
        payload={"carrier": carrier.code, "tracking_number": number},
    )
    return request


def find_tracked_return(carrier: Carrier, tracking_number: str) -> int | None:
    """The id of the return whose label has this carrier's tracking number, if any."""
    return (
        ReturnRequest.objects.filter(carrier=carrier, tracking_number=tracking_number.upper())
        .values_list("pk", flat=True)
        .first()
    )


@transaction.atomic
def record_return_scan(
    *,
    request_id: int,
    status: str,
    occurred_at: datetime,
    external_id: str,
    description: str = "",
    location: str = "",
) -> ReturnTrackingEvent | None:
    """Store a carrier's scan of a return parcel once (``external_id``); None for a
    repeated one. A first scan on the way makes an approved return "on its way back";
    delivery records when the parcel reached us (the warehouse still receives and
    inspects it). Every new scan goes on the return's history and the order's
    timeline; a late, older scan is kept but changes nothing."""
    if status not in PROGRESS:
        raise InvalidInput(f"Unknown tracking status {status!r}.")
    if not external_id.strip():
        raise InvalidInput("A tracking event needs its carrier's event id.")
    request = locked_request(request_id)
    try:
        with transaction.atomic():
            event = ReturnTrackingEvent.objects.create(
                request=request,
                status=status,
                occurred_at=occurred_at,
                external_id=external_id.strip()[:100],
                description=description[:300],
                location=location[:120],
            )
    except IntegrityError:
        return None
    carrier = request.carrier
    actor = Actor.system(f"carrier {carrier.code}" if carrier else "carrier")
    label = ShipmentStatus(status).label
    # Nothing moves after delivery; before it, a scan moves on unless it is older.
    current = PROGRESS.get(request.tracking_status, -1)
    moves_on = request.tracking_status != ShipmentStatus.DELIVERED and (PROGRESS[status] >= current)
    if moves_on:
        request.tracking_status = status
        fields = ["tracking_status", "updated_at"]
        if status == ShipmentStatus.DELIVERED:
            request.delivered_at = occurred_at
            fields.append("delivered_at")
        request.save(update_fields=fields)
    where = f" at {location}" if location else ""
    message = f"{request.tracking_number}: {label}{where}" + (
        f" — {description}" if description else ""
    )
    if status == ShipmentStatus.DELIVERED and moves_on:
        message = (
            f"{request.tracking_number}: delivered to {request.destination.code}{where}; "
            "waiting to be received and inspected"
        )
    record_return_event(
        request=request,
        type=ReturnEventType.TRACKING,
        actor=actor,
        message=message,
        payload={"status": status, "external_id": event.external_id, "location": location},
    )
    if (
        moves_on
        and request.status == ReturnStatus.APPROVED
        and status != ShipmentStatus.LABEL_CREATED
    ):
        move_return(request, ReturnStatus.IN_TRANSIT)
        record_return_event(
            request=request,
            type=ReturnEventType.IN_TRANSIT,
            actor=actor,
            message=f"on its way back, tracking {request.tracking_number}",
            payload={"tracking_number": request.tracking_number},
        )
    return event
