"""Carriers behind an interface we own.

A real carrier integration (labels, rates, tracking pull) implements ``CarrierGateway``.
Two come built in: ``ManualCarrier`` (staff type the tracking number printed on a
label bought elsewhere) and ``SimulatedCarrier`` (generates tracking numbers and moves
its parcels along on a timer, so the demo and tests see real tracking events).
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Protocol

from django.conf import settings
from django.utils import timezone

from oms.core.errors import InvalidInput

from .models import Carrier, Shipment, ShipmentStatus

SIMULATED_CODE = "SIM"


class CarrierGateway(Protocol):
    def create_tracking_number(self) -> str: ...


class ManualCarrier:
    def create_tracking_number(self) -> str:
        raise InvalidInput("Type the tracking number from the carrier's label.")


class SimulatedCarrier:
    def create_tracking_number(self) -> str:
        return f"SIM{secrets.randbelow(10**12):012d}"


def gateway_for(carrier: Carrier) -> CarrierGateway:
    return SimulatedCarrier() if carrier.code == SIMULATED_CODE else ManualCarrier()


SIMULATED_STEPS = (
    (1, ShipmentStatus.IN_TRANSIT, "Departed origin facility"),
    (2, ShipmentStatus.OUT_FOR_DELIVERY, "Out for delivery"),
    (3, ShipmentStatus.DELIVERED, "Delivered, left at front door"),
)


def advance_simulated_shipments(*, now: datetime | None = None, limit: int = 500) -> int:
    """Feed the simulated carrier's scans: one step every few minutes after shipping."""
    from .operations import record_tracking_event

    now = now or timezone.now()
    step = timedelta(minutes=settings.OMS_SIMULATED_CARRIER_STEP_MINUTES)
    recorded = 0
    shipments = Shipment.objects.filter(
        carrier__code=SIMULATED_CODE,
        status__in=[
            ShipmentStatus.LABEL_CREATED,
            ShipmentStatus.IN_TRANSIT,
            ShipmentStatus.OUT_FOR_DELIVERY,
        ],
    ).order_by("id")[:limit]
    for shipment in shipments:
        for rank, status, description in SIMULATED_STEPS:
            occurred = shipment.shipped_at + step * rank
            if occurred > now:
                break
            event = record_tracking_event(
                shipment_id=shipment.pk,
                status=status,
                occurred_at=occurred,
                external_id=f"sim-{shipment.pk}-{rank}",
                description=description,
            )
            recorded += event is not None
    return recorded
