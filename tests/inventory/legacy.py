"""Location reservations as they used to be made.

Nothing makes them any more (drafts and quotes reserve against the network), but a
database may still hold active ones, which ``release_reservation`` gives back. Tests
of that, and of the ``reserved`` bucket, build them here the way the old service
did: under the documented locks, through the ledger.
"""

import datetime as dt

from django.db import transaction
from django.utils import timezone

from core.actors import Actor
from inventory.locks import (
    location_activity_for_share,
    network_stock_for_update,
    stock_levels_for_update,
)
from inventory.models import Location, MovementReason, Product, StockBucket, StockReservation
from inventory.services import StockChangeSet


def legacy_reservation(
    *,
    location: Location,
    product: Product,
    quantity: int,
    actor: Actor,
    reference: str = "QUOTE-0",
    expires_at: dt.datetime | None = None,
) -> StockReservation:
    with transaction.atomic():
        changes = StockChangeSet(
            actor=actor,
            reference=reference,
            networks=network_stock_for_update([product.pk]),
            active_locations=location_activity_for_share([location.pk]),
        )
        level = stock_levels_for_update([(location.pk, product.pk)])[(location.pk, product.pk)]
        changes.change(level, StockBucket.RESERVED, quantity, MovementReason.RESERVATION)
        changes.commit()
        return StockReservation.objects.create(
            stock_level=level,
            quantity=quantity,
            reference=reference,
            expires_at=expires_at or timezone.now() + dt.timedelta(hours=1),
            **actor.as_fields(),
        )
