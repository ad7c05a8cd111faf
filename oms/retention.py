"""Retention: the daily prune of the records that are kept only for a while.

Each app prunes its own tables (``orders.retention``, ``fulfillment.retention``); this
module prunes the outbox (``core``) and the notification log (``orders``) and runs them
all for the ``oms.prune_old_records`` beat task. How long each kind is kept comes from
the ``OMS_RETENTION_*`` settings (0 keeps it for ever). Every prune deletes in
bounded primary-key batches (``core.pruning``), so a run never holds long locks
and a backlog is worked off over several days.
"""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from core.models import OutboxEvent
from core.pruning import Batches, delete_in_batches
from fulfillment.retention import prune_routing_decisions
from orders.models import Notification, NotificationStatus
from orders.retention import prune_idempotency_keys

logger = logging.getLogger(__name__)


def prune_outbox(*, created_before: datetime, batches: Batches) -> int:
    """Delete outbox events created and published before ``created_before``. An event
    not yet published is never deleted, however old: its side effect is still due."""
    published = OutboxEvent.objects.filter(
        published_at__isnull=False, published_at__lt=created_before
    )
    return delete_in_batches(
        published, created_before=created_before, batches=batches, time_field="created_at"
    )


def prune_notifications(*, created_before: datetime, batches: Batches) -> int:
    """Delete notifications created before ``created_before``, except those still
    being sent (a claim may yet be taken over and the message sent)."""
    settled = Notification.objects.filter(~Q(status=NotificationStatus.SENDING))
    return delete_in_batches(
        settled, created_before=created_before, batches=batches, time_field="created_at"
    )


def prune_old_records(*, now: datetime | None = None) -> dict[str, int]:
    """Run every prune with its retention setting; returns the rows deleted per kind."""
    now = now or timezone.now()
    batches = Batches(
        size=settings.OMS_RETENTION_BATCH_SIZE, limit=settings.OMS_RETENTION_MAX_BATCHES
    )
    prunes = (
        ("outbox", settings.OMS_RETENTION_OUTBOX_DAYS, prune_outbox),
        ("idempotency_keys", settings.OMS_RETENTION_IDEMPOTENCY_DAYS, prune_idempotency_keys),
        ("notifications", settings.OMS_RETENTION_NOTIFICATION_DAYS, prune_notifications),
        ("routing_decisions", settings.OMS_RETENTION_ROUTING_DAYS, prune_routing_decisions),
    )
    deleted: dict[str, int] = {}
    for kind, days, prune in prunes:
        if days <= 0:
            continue
        deleted[kind] = prune(created_before=now - timedelta(days=days), batches=batches)
    logger.info("retention: deleted %s", deleted)
    return deleted
