"""SLA monitor: fulfillment orders that will miss their ship-by date or their order's
delivery promise join the exceptions queue (``at_risk_since`` set)."""

import datetime as dt

from django.db.models import Q
from django.utils import timezone

from .models import FulfillmentOrder, FulfillmentStatus

OPEN = (FulfillmentStatus.OPEN, FulfillmentStatus.IN_PROGRESS, FulfillmentStatus.ON_HOLD)


def at_risk_query(today: dt.date) -> Q:
    """Not shipped by its ship-by date, or its order's promise is today or past."""
    return Q(status__in=OPEN) & (
        Q(ship_by_date__lt=today) | Q(order__promised_delivery_date__lte=today)
    )


def flag_at_risk(*, now: dt.datetime | None = None) -> int:
    """Flag newly at-risk fulfillment orders and clear those that recovered."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    flagged = FulfillmentOrder.objects.filter(at_risk_query(today), at_risk_since__isnull=True)
    count = flagged.update(at_risk_since=now)
    FulfillmentOrder.objects.filter(at_risk_since__isnull=False).exclude(
        at_risk_query(today)
    ).update(at_risk_since=None)
    return count
