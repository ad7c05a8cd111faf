"""Carrier pickups of return parcels (method "pickup").

A return asks for a pickup only where a carrier that offers return pickups serves its
order (``pickup_carrier``, checked when it is requested). Once it is approved, the
``return.approved`` event's task books the pickup (``book_return_pickup``): the carrier
is called outside any transaction, then the booking is stored under the order's lock
with the carrier's tracking number, so the carriers' tracking webhook finds the parcel.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from core.actors import Actor
from core.errors import DomainError
from fulfillment.carriers import (
    PickupAddress,
    PickupBooking,
    PickupNotOffered,
    PickupUnavailable,
    gateway_for,
)
from fulfillment.models import Shipment, ShipmentStatus
from orders.models import Order
from shipping.models import Carrier

from .events import record_return_event
from .models import ReturnEventType, ReturnMethod, ReturnRequest, ReturnStatus
from .steps import locked_request

# The days after approval in which the carrier may come.
PICKUP_WINDOW_DAYS = 5


def pickup_carrier(order: Order) -> Carrier | None:
    """The carrier that collects this order's returns: the carrier that delivered it
    when it offers return pickups, else the first active one that does."""
    carriers = Carrier.objects.filter(is_active=True, offers_return_pickup=True)
    method = order.shipping_method
    if method.carrier_id is not None:
        own = carriers.filter(pk=method.carrier_id).first()
        if own is not None:
            return own
    return carriers.order_by("name", "pk").first()


def pickup_address(order: Order) -> PickupAddress:
    return PickupAddress(
        name=order.ship_name,
        line1=order.ship_line1,
        line2=order.ship_line2,
        city=order.ship_city,
        region=order.ship_region,
        postal_code=order.ship_postal_code,
        country=order.ship_country,
        phone=order.ship_phone,
    )


def book_return_pickup(*, request_id: int) -> ReturnRequest | None:
    """Book the pickup of an approved pickup return, once; None when there is nothing to
    book (another method, not approved, already booked). Not atomic on purpose: the
    carrier is called outside any transaction. The return's number is the booking's
    reference, so a retry after a lost answer gets the same booking back."""
    request = ReturnRequest.objects.select_related("order", "carrier").filter(pk=request_id).first()
    if request is None or not _needs_pickup(request) or request.carrier is None:
        return None
    today = timezone.localdate()
    try:
        booking = gateway_for(request.carrier).book_pickup(
            address=pickup_address(request.order),
            earliest=today + dt.timedelta(days=1),
            latest=today + dt.timedelta(days=PICKUP_WINDOW_DAYS),
            parcels=1,
            reference=request.number,
        )
    except (PickupNotOffered, PickupUnavailable) as exc:
        _record_refusal(request_id=request.pk, error=exc)
        return None
    return _store_pickup(request_id=request.pk, booking=booking)


@transaction.atomic
def _record_refusal(*, request_id: int, error: DomainError) -> None:
    """The carrier would not book: said once on the return's history and the order's
    timeline, so an agent arranges the parcel's way back another way."""
    request = locked_request(request_id)
    if not _needs_pickup(request) or request.carrier is None:
        return
    if request.events.filter(type=ReturnEventType.PICKUP, payload__refused=True).exists():
        return
    record_return_event(
        request=request,
        type=ReturnEventType.PICKUP,
        actor=Actor.system(f"carrier {request.carrier.code}"),
        message=f"pickup not booked with {request.carrier.name}: {error}",
        payload={"carrier": request.carrier.code, "refused": True, "code": error.code},
    )


def _needs_pickup(request: ReturnRequest) -> bool:
    return (
        request.method == ReturnMethod.PICKUP
        and request.status == ReturnStatus.APPROVED
        and not request.pickup_confirmation
    )


@transaction.atomic
def _store_pickup(*, request_id: int, booking: PickupBooking) -> ReturnRequest | None:
    """Keep the carrier's booking on the return, decided again under the order's lock:
    a concurrent task that stored it first wins and this one changes nothing."""
    request = locked_request(request_id)
    if not _needs_pickup(request) or request.carrier is None:
        return None
    carrier = request.carrier
    number = booking.tracking_number.strip().upper()[:64]
    taken = (
        ReturnRequest.objects.filter(carrier=carrier, tracking_number=number)
        .exclude(pk=request.pk)
        .exists()
        or Shipment.objects.filter(carrier=carrier, tracking_number=number).exists()
    )
    fields = ["pickup_confirmation", "pickup_date", "updated_at"]
    request.pickup_confirmation = booking.confirmation[:64]
    request.pickup_date = booking.pickup_date
    if number and not taken and not request.tracking_number:
        request.tracking_number = number
        request.tracking_status = ShipmentStatus.LABEL_CREATED
        fields += ["tracking_number", "tracking_status"]
    request.save(update_fields=fields)
    tracking = f", tracking {request.tracking_number}" if request.tracking_number else ""
    record_return_event(
        request=request,
        type=ReturnEventType.PICKUP,
        actor=Actor.system(f"carrier {carrier.code}"),
        message=(
            f"pickup booked with {carrier.name} for {booking.pickup_date.isoformat()}, "
            f"confirmation {request.pickup_confirmation}{tracking}"
        ),
        payload={
            "carrier": carrier.code,
            "confirmation": request.pickup_confirmation,
            "pickup_date": booking.pickup_date.isoformat(),
            "tracking_number": request.tracking_number,
        },
    )
    return request
