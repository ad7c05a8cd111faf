"""The transactional outbox.

``emit`` writes an ``OutboxEvent`` inside the caller's transaction. Publishing is done
either by the request itself once its transaction commits (``OMS_OUTBOX_RELAY=
after_commit``, the default) or by the ``relay_outbox`` process (``process``), which
polls for new rows; the ``sweep_outbox`` beat task backs both up. Either way events go
out in batches: ``relay_events`` sends one Celery message per consuming task with the
ids of all the events it consumes, and stamps the published rows with one UPDATE. A
broker that is down leaves the rows unpublished, with their error, for a later poll.

Consuming tasks take one event id or a list of them and handle each event on its own
(``handle_events``); they must be idempotent, since an event may be published twice.
"""

import logging
import time
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from celery.utils.time import get_exponential_backoff_interval
from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import Case, F, Value, When
from django.utils import timezone

from . import logging_context, rows
from .celery import app
from .models import OutboxEvent

logger = logging.getLogger(__name__)

# topic -> Celery task names that consume it.
HANDLERS: dict[str, list[str]] = {
    # A card order's total is authorised at placement (billing.payments).
    "order.placed": [
        "oms.notify_order_event",
        "fulfillment.route_order_event",
        "billing.authorise_order_event",
        "webhooks.fan_out_event",
    ],
    # The last hold released (or lines rejected): route again; a held order's customer
    # now hears it is confirmed (once: the confirmation is deduplicated).
    "order.released": [
        "oms.notify_order_event",
        "fulfillment.route_order_event",
        "webhooks.fan_out_event",
    ],
    # Any hold placed (by the rules at placement or after an edit, by billing, by an
    # agent): companies subscribed to "order.on_hold" hear of it; a customer asked to
    # fix the address is told.
    "order.on_hold": ["oms.notify_order_event", "webhooks.fan_out_event"],
    # A cancelled (or completed) order's authorisations are voided; an edit that
    # raised a card order's total authorises the difference.
    "order.cancelled": [
        "oms.notify_order_event",
        "billing.void_order_event",
        "webhooks.fan_out_event",
    ],
    "order.edited": ["fulfillment.route_order_event", "billing.reauthorise_order_event"],
    "order.address_changed": ["oms.notify_order_event"],
    "fulfillment.created": ["fulfillment.notify_partner"],
    # A hold stops a partner's fulfillment order, or its release lets it go on.
    "fulfillment.held": ["fulfillment.notify_partner"],
    "fulfillment.resumed": ["fulfillment.notify_partner"],
    # Each shipment (a parcel, or a pickup handed over) is invoiced once.
    "shipment.created": [
        "oms.notify_order_event",
        "billing.invoice_shipment_event",
        "webhooks.fan_out_event",
    ],
    "shipment.picked_up": ["oms.notify_order_event", "billing.invoice_shipment_event"],
    "pickup.ready": ["oms.notify_order_event"],
    "tracking.in_transit": [],
    "tracking.out_for_delivery": ["oms.notify_order_event"],
    "tracking.delivered": ["oms.notify_order_event", "webhooks.fan_out_event"],
    "tracking.exception": ["oms.notify_order_event"],
    # The PDF is rendered, stored and e-mailed apart from issuing: it never blocks it.
    "invoice.issued": [
        "billing.render_invoice_pdf",
        "billing.capture_invoice_event",
        "webhooks.fan_out_event",
    ],
    "credit_note.issued": ["billing.render_credit_note_pdf"],
    # Payments received (or credit notes) paid an invoice on terms in full
    # (billing.receivables): companies subscribed to "invoice.paid" hear of it.
    "invoice.paid": ["webhooks.fan_out_event"],
    # A card refund is paid back through the provider (billing.refunds).
    "refund.requested": ["oms.notify_order_event", "billing.refund_event"],
    # Returns (docs/returns.md); companies hear of each step as "return.updated".
    "return.requested": ["webhooks.fan_out_event"],
    # Approved: an exchange's replacement or a refund without return, a carrier pickup's
    # booking; received: the refund of the units in, the release of an exchange's
    # replacement.
    "return.approved": [
        "oms.notify_order_event",
        "webhooks.fan_out_event",
        "returns.resolve_return_event",
        "returns.book_pickup_event",
    ],
    "return.rejected": ["webhooks.fan_out_event"],
    "return.received": [
        "oms.notify_order_event",
        "webhooks.fan_out_event",
        "returns.resolve_return_event",
    ],
    "return.refunded": ["webhooks.fan_out_event"],
    # An agent asked for a message to be sent again (orders.notifications).
    "notification.resend": ["oms.resend_notification"],
    # A draft quoted to its buyer: the PDF is e-mailed (orders.quotes).
    "quote.sent": ["orders.email_quote_event"],
}

# Events one poll of the relay claims and publishes at most.
RELAY_BATCH = 500
# Cap, in seconds, of the exponential backoff between retries of failed events.
RETRY_BACKOFF_MAX = 600
# The database cannot be reached (restarting, failing over) or dropped the connection.
# A consumer that meets it retries the events for as long as an outage may last: up to
# this many times, backing off to RETRY_BACKOFF_MAX (hours in all), whatever the task's
# own retry limit, so that a database restart loses no e-mail and no routing.
DATABASE_DOWN = (OperationalError, InterfaceError)
DATABASE_RETRIES = 100
# The relay process waits this long (seconds) after a poll that could not reach the
# database, then tries again on a new connection.
RELAY_DATABASE_PAUSE = 1.0


def relays_in_process() -> bool:
    """Whether a dedicated ``relay_outbox`` process publishes events, so requests do
    not. Inline (eager) tasks always run after commit in the request."""
    return settings.OMS_OUTBOX_RELAY == "process" and not settings.CELERY_TASK_ALWAYS_EAGER


def emit(topic: str, payload: dict[str, Any]) -> OutboxEvent:
    """Record a side effect in the current transaction; relayed after commit, by the
    request itself or by the relay process."""
    event = new_event(topic, payload)
    rows.insert([event])  # every placement emits: its INSERT is written once per process
    emitted(event)
    return event


def new_event(topic: str, payload: dict[str, Any]) -> OutboxEvent:
    """An unsaved event, for a caller that inserts it with other rows; it must then
    call ``emitted`` with the saved event, in the same transaction."""
    if topic not in HANDLERS:
        raise ValueError(f"unknown outbox topic {topic!r}")
    carried = logging_context.carried()
    if carried:
        # The request's id (and its order, its API client) go with the event into the
        # log lines of the tasks that consume it, whichever process relays it.
        payload = {**payload, "log": carried}
    return OutboxEvent(topic=topic, payload=payload)


def emitted(*events: OutboxEvent) -> None:
    """Have events inserted by this transaction relayed once it commits (unless the
    relay process publishes events). Events emitted together are relayed together:
    one message per consuming task and one stamping UPDATE for all of them."""
    if any(event.pk is None for event in events):
        raise ValueError("an outbox event must be saved before it is emitted")
    if events and not relays_in_process():
        batch = list(events)
        transaction.on_commit(lambda: relay_events(batch))


def _publish(task_name: str, event_ids: list[int]) -> None:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        if task_name not in app.tasks:
            # Task modules are discovered lazily; inline runs may come first.
            app.loader.import_default_modules()
        app.tasks[task_name].apply(args=[event_ids], throw=True)
    else:
        # retry=False: a dead broker must fail fast; a later poll will try again.
        app.send_task(task_name, args=[event_ids], retry=False)


def relay_events(events: Sequence[OutboxEvent]) -> int:
    """Publish events; returns how many were published. Never raises.

    Sends one message per consuming task, carrying the ids of all the events of
    ``events`` it consumes, whatever their number. If a message cannot be sent, the
    events it carries stay unpublished (their other consumers may have been sent
    already and will get them again: consumers are idempotent). The published events
    are stamped with one UPDATE, the others have their attempt counted and their
    error recorded with another.
    """
    batches: dict[str, list[int]] = {}
    for event in events:
        for task_name in HANDLERS.get(event.topic, []):
            batches.setdefault(task_name, []).append(event.pk)
    errors: dict[int, str] = {}
    for task_name, event_ids in batches.items():
        try:
            _publish(task_name, event_ids)
        except Exception as exc:
            logger.warning(
                "outbox: %s for %d events not published: %s", task_name, len(event_ids), exc
            )
            for event_id in event_ids:
                errors.setdefault(event_id, f"{task_name}: {exc}"[:300])
    published = [event.pk for event in events if event.pk not in errors]
    if published:
        OutboxEvent.objects.filter(pk__in=published).update(
            published_at=timezone.now(), attempts=F("attempts") + 1, last_error=""
        )
    if errors:
        by_error: dict[str, list[int]] = {}
        for event_id, error in errors.items():
            by_error.setdefault(error, []).append(event_id)
        OutboxEvent.objects.filter(pk__in=list(errors)).update(
            attempts=F("attempts") + 1,
            last_error=Case(
                *(When(pk__in=ids, then=Value(error)) for error, ids in by_error.items()),
                default=F("last_error"),
            ),
        )
    return len(published)


def _publish_due(*, older_than: timedelta, limit: int) -> tuple[int, int]:
    """One poll: claim up to ``limit`` unpublished events created at least
    ``older_than`` ago, publish and stamp them. Returns (claimed, published).

    BEGIN, one SELECT, the stamping UPDATE(s) and COMMIT, plus one message per
    consuming task, whatever the number of events. The claimed rows stay locked
    (``SKIP LOCKED``) until they are stamped, so concurrent relays and the sweep skip
    them instead of publishing them twice. Holding these locks while publishing is
    safe: nothing but a poll ever locks outbox rows, and a publication fails fast
    (no retry, a short connection timeout) when the broker is down. Inline (eager)
    tasks run inside this transaction.
    """
    due = OutboxEvent.objects.select_for_update(skip_locked=True).filter(published_at__isnull=True)
    if older_than:
        due = due.filter(created_at__lte=timezone.now() - older_than)
    with transaction.atomic():
        events = list(due.order_by("id")[:limit])
        return len(events), (relay_events(events) if events else 0)


def sweep(*, older_than: timedelta = timedelta(seconds=5), limit: int = RELAY_BATCH) -> int:
    """Publish up to ``limit`` events left unpublished for ``older_than`` (missed by
    the after-commit relay, or refused by a broker that was down); returns how many
    were published. Safe to run beside the relay process and other sweeps."""
    return _publish_due(older_than=older_than, limit=limit)[1]


def _anything_due() -> bool:
    # An index-only probe of the partial index on unpublished rows.
    return OutboxEvent.objects.filter(published_at__isnull=True).exists()


def drain(*, batch: int = RELAY_BATCH, stop: Callable[[], bool] | None = None) -> int:
    """Publish what is due now, batch by batch (see ``_publish_due``), until a batch
    comes back short (the backlog is drained, or the broker refused some) or ``stop()``
    says so; returns how many events were published."""
    total = 0
    while True:
        claimed, published = _publish_due(older_than=timedelta(0), limit=batch)
        total += published
        if claimed < batch or published < claimed or (stop and stop()):
            return total


def run_relay(
    *,
    poll_seconds: float = 0.1,
    batch: int = RELAY_BATCH,
    stop: Callable[[], bool] | None = None,
) -> None:
    """The relay process: publish new events as they commit until ``stop()`` says so.
    While idle, a poll is one cheap query that finds nothing to claim; once events
    show up, they are drained batch by batch without pausing. While the database
    cannot be reached it retries every ``RELAY_DATABASE_PAUSE`` seconds (a claimed
    batch is rolled back with the connection, so nothing is published twice)."""
    while not (stop and stop()):
        try:
            if _anything_due():
                drain(batch=batch, stop=stop)
        except DATABASE_DOWN as exc:
            # Keep relaying once the database is back: drop the broken connection
            # (the next poll opens a new one) instead of dying with it.
            logger.warning("outbox relay: database unavailable, retrying: %s", exc)
            connection.close()
            time.sleep(RELAY_DATABASE_PAUSE)
            continue
        time.sleep(poll_seconds)


class RetryLater(Exception):
    """A transient condition: the consuming task retries the event whatever its
    ``retry_on``, no sooner than ``retry_after`` seconds from now."""

    def __init__(self, message: str, *, retry_after: float = 0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def handle_events(
    task: Any,
    event_ids: int | Sequence[int],
    handle: Callable[[OutboxEvent], object],
    *,
    retry_on: tuple[type[Exception], ...] = (),
) -> None:
    """Run ``handle`` on each event of a message; the body of the consuming tasks.

    ``task`` is the bound task; ``event_ids`` one event id (a message queued before
    messages carried batches) or a list. The events are loaded with one query and
    handled one by one, each independently of the others:

    - an event whose handling raises one of ``retry_on`` or ``RetryLater`` (a
      transient error) is retried later, together with the other transient failures
      of the message and nothing else, by ``task.retry`` with exponential backoff
      (capped at ``RETRY_BACKOFF_MAX`` seconds, and no sooner than the largest
      ``RetryLater.retry_after``; at most ``task.max_retries`` times, then the error
      is raised);
    - when the run reaches its soft time limit (``SoftTimeLimitExceeded``), the event
      being handled and those not yet handled go back for a retry as well, and the
      run ends there, well before the hard limit would kill the worker;
    - any other error is logged with its traceback, and once every event has been
      handled the first one is raised, so the run shows as failed (the retry of the
      transient failures, if any, is scheduled first). Such events are not retried.

    A database that cannot be reached (``DATABASE_DOWN``), when the events are loaded
    or while one is handled, makes the events transient failures too, retried up to
    ``DATABASE_RETRIES`` times: each handler runs in its own transaction, so whatever
    it had done was rolled back. Ids of events that no longer exist are skipped.
    """
    ids = [event_ids] if isinstance(event_ids, int) else list(event_ids)
    try:
        events = list(OutboxEvent.objects.filter(pk__in=ids).order_by("id"))
    except DATABASE_DOWN as exc:
        logger.warning("%s: database unavailable; %d events will be retried", task.name, len(ids))
        raise _retry(task, ids, exc, not_before=1.0, database_down=True) from exc
    # What the events' requests have in common (one request's events, usually) is bound
    # for the rest of the task, its closing log line included: the task hooks of the
    # project restore the context when the task ends.
    carried = [
        {**(event.payload.get("log") or {}), "order_id": str(event.payload.get("order_id", ""))}
        for event in events
    ]
    shared = {
        key: value
        for key, value in (carried[0] if carried else {}).items()
        if all(fields.get(key) == value for fields in carried)
    }
    if any(shared.values()):
        logging_context.bind(**{key: value for key, value in shared.items() if value})
    transient: list[int] = []
    transient_error: Exception | None = None
    not_before = 0.0
    database_down = False
    errors: list[Exception] = []
    retryable: tuple[type[Exception], ...] = (RetryLater, *retry_on)
    for position, event in enumerate(events):
        try:
            with logging_context.bound(
                order_id=event.payload.get("order_id"), **event.payload.get("log", {})
            ):
                handle(event)
        except SoftTimeLimitExceeded as exc:
            unfinished = [later.pk for later in events[position:]]
            logger.warning(
                "%s: out of time; %d outbox events will be retried", task.name, len(unfinished)
            )
            transient.extend(unfinished)
            transient_error = exc
            break
        except DATABASE_DOWN as exc:
            logger.warning(
                "%s: database unavailable; event %s will be retried", task.name, event.pk
            )
            transient.append(event.pk)
            transient_error = exc
            not_before = max(not_before, 1.0)
            database_down = True
        except retryable as exc:
            logger.warning("%s: outbox event %s will be retried: %s", task.name, event.pk, exc)
            transient.append(event.pk)
            transient_error = exc
            if isinstance(exc, RetryLater):
                not_before = max(not_before, exc.retry_after)
        except Exception as exc:
            logger.exception("%s: outbox event %s failed", task.name, event.pk)
            errors.append(exc)
    if transient:
        assert transient_error is not None  # noqa: S101
        # Raises Retry unless another error is to be raised below.
        _retry(
            task,
            transient,
            transient_error,
            not_before=not_before,
            database_down=database_down,
            throw=not errors,
        )
    if errors:
        raise errors[0]


def _retry(
    task: Any,
    event_ids: list[int],
    exc: Exception,
    *,
    not_before: float,
    database_down: bool,
    throw: bool = True,
) -> Exception:
    """Schedule ``event_ids`` again with exponential backoff (full jitter), no sooner
    than ``not_before`` seconds; returns (or, with ``throw``, raises) Celery's Retry."""
    countdown = max(
        get_exponential_backoff_interval(
            factor=1,
            retries=task.request.retries,
            maximum=RETRY_BACKOFF_MAX,
            full_jitter=True,
        ),
        not_before,
    )
    limit = task.max_retries
    if database_down:
        limit = max(limit or 0, DATABASE_RETRIES)
    return task.retry(
        args=[event_ids], countdown=countdown, exc=exc, throw=throw, max_retries=limit
    )
