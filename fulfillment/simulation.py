"""The simulated carrier's scans: its parcels move along on a timer.

Apart from ``carriers`` because recording a scan is an operation (``operations``), and
operations ask ``carriers`` for a carrier's gateway.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from .carriers import SIMULATED_CODE
from .models import Shipment, ShipmentStatus
from .operations import record_tracking_event

SIMULATED_STEPS = (
    (1, ShipmentStatus.IN_TRANSIT, "Departed origin facility"),
    (2, ShipmentStatus.OUT_FOR_DELIVERY, "Out for delivery"),
    (3, ShipmentStatus.DELIVERED, "Delivered, left at front door"),
)


def advance_simulated_shipments(*, now: datetime | None = None, limit: int = 500) -> int:
    """Feed the simulated carrier's scans: one step every few minutes after shipping."""
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
