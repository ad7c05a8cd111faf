"""The transactional outbox.

``emit`` writes an ``OutboxEvent`` inside the caller's transaction and asks for it to
be relayed once that transaction commits. ``relay`` hands events to Celery (or runs
them inline when no broker is configured) and stamps them published; a broker that
is down leaves them unpublished, and ``sweep`` (a beat task) publishes them later.
Handlers receive the event id and must be idempotent.
"""

import logging
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from .models import OutboxEvent

logger = logging.getLogger(__name__)

# topic -> Celery task names that consume it.
HANDLERS: dict[str, list[str]] = {
    "order.placed": ["oms.notify_order_event", "fulfillment.route_order_event"],
    "order.released": ["fulfillment.route_order_event"],
    "order.cancelled": ["oms.notify_order_event"],
    "order.edited": ["fulfillment.route_order_event"],
    "fulfillment.created": ["fulfillment.notify_partner"],
    "shipment.created": ["oms.notify_order_event"],
    "shipment.picked_up": [],
    "pickup.ready": ["oms.notify_order_event"],
    "tracking.in_transit": [],
    "tracking.out_for_delivery": ["oms.notify_order_event"],
    "tracking.delivered": ["oms.notify_order_event"],
    "tracking.exception": ["oms.notify_order_event"],
}


def relays_in_process() -> bool:
    """Whether a dedicated ``relay_outbox`` process publishes events, so requests do
    not. Inline (eager) tasks always run after commit in the request."""
    return settings.OMS_OUTBOX_RELAY == "process" and not settings.CELERY_TASK_ALWAYS_EAGER


def emit(topic: str, payload: dict[str, Any]) -> OutboxEvent:
    """Record a side effect in the current transaction; relayed after commit, by the
    request itself or by the relay process."""
    if topic not in HANDLERS:
        raise ValueError(f"unknown outbox topic {topic!r}")
    event = OutboxEvent.objects.create(topic=topic, payload=payload)
    if not relays_in_process():
        transaction.on_commit(lambda: relay_events([event]))
    return event


def _dispatch(event: OutboxEvent) -> None:
    from .celery import app

    for task_name in HANDLERS.get(event.topic, []):
        if settings.CELERY_TASK_ALWAYS_EAGER:
            if task_name not in app.tasks:
                # Task modules are discovered lazily; inline runs may come first.
                app.loader.import_default_modules()
            app.tasks[task_name].apply(args=[event.pk], throw=True)
        else:
            # retry=False: a dead broker must fail fast; the sweep will try again.
            app.send_task(task_name, args=[event.pk], retry=False)


def relay(event_ids: Iterable[int]) -> int:
    """Publish the given events if still unpublished; returns how many were."""
    events = OutboxEvent.objects.filter(pk__in=list(event_ids), published_at__isnull=True)
    return relay_events(list(events))


def relay_events(events: list[OutboxEvent]) -> int:
    """Publish events; returns how many were published. Never raises. The published
    ones are stamped with one UPDATE, whatever their number."""
    published: list[int] = []
    for event in events:
        try:
            _dispatch(event)
        except Exception as exc:
            logger.warning("outbox event %s not published: %s", event.pk, exc)
            OutboxEvent.objects.filter(pk=event.pk).update(
                attempts=F("attempts") + 1, last_error=str(exc)[:300]
            )
            continue
        published.append(event.pk)
    if published:
        OutboxEvent.objects.filter(pk__in=published).update(
            published_at=timezone.now(), attempts=F("attempts") + 1, last_error=""
        )
    return len(published)


def sweep(*, older_than: timedelta = timedelta(seconds=5), limit: int = 500) -> int:
    """Publish events the after-commit relay missed. Safe to run concurrently."""
    cutoff = timezone.now() - older_than
    with transaction.atomic():
        ids = list(
            OutboxEvent.objects.select_for_update(skip_locked=True)
            .filter(published_at__isnull=True, created_at__lte=cutoff)
            .order_by("id")
            .values_list("pk", flat=True)[:limit]
        )
    return relay(ids) if ids else 0


def run_relay(*, poll_seconds: float = 0.1, batch: int = 500, stop: Any = None) -> None:
    """The relay process: publish new events as they commit, batch by batch, until
    ``stop()`` says so. Events are picked with SKIP LOCKED, so several relays (and the
    periodic sweep) can run side by side; a rare double publication is harmless."""
    import time

    while not (stop and stop()):
        if sweep(older_than=timedelta(0), limit=batch) < batch:
            time.sleep(poll_seconds)
