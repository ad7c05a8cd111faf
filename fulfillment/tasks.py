"""Thin routing tasks: ids in, one service call, safe to repeat."""

import logging
from typing import Any

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings

from core import outbox
from core.models import OutboxEvent

from . import partners, routing, simulation, sla

logger = logging.getLogger(__name__)


def _route(event: OutboxEvent) -> None:
    routing.route_order(order_id=event.payload["order_id"])


def _route_together(event_ids: list[int]) -> bool:
    """Route the orders of several events as batches (a backlog the relay drains
    arrives as one message with many events); False when that failed and the events
    are to be handled one by one. Routing is idempotent: orders a batch routed before
    the failure are left alone the second time."""
    payloads = OutboxEvent.objects.filter(pk__in=event_ids).values_list("payload", flat=True)
    order_ids = [payload["order_id"] for payload in payloads]
    try:
        for start in range(0, len(order_ids), routing.BATCH_SIZE):
            routing.route_orders(order_ids=order_ids[start : start + routing.BATCH_SIZE])
    except SoftTimeLimitExceeded:
        raise
    except Exception:
        logger.warning("route_order_event: batch failed; one event at a time", exc_info=True)
        return False
    return True


@shared_task(name="fulfillment.route_order_event", bind=True, acks_late=True)
def route_order_event(self: Any, event_ids: int | list[int]) -> None:
    if not settings.OMS_AUTO_ROUTE:
        return
    if isinstance(event_ids, list) and len(event_ids) > 1 and _route_together(event_ids):
        return
    outbox.handle_events(self, event_ids, _route)


@shared_task(name="fulfillment.route_order", acks_late=True)
def route_order(order_id: int) -> None:
    """A fresh order, routed on its own."""
    routing.route_order(order_id=order_id)


@shared_task(name="fulfillment.route_orders", acks_late=True)
def route_orders(order_ids: list[int]) -> int:
    """A backlog's orders, routed ``routing.BATCH_SIZE`` per transaction."""
    return routing.route_backlog(order_ids=order_ids)


@shared_task(name="fulfillment.route_backorders", acks_late=True)
def route_backorders() -> int:
    """The beat's backorder run: one at a time (a second one finds the first's lock and
    does nothing), each order on its own, within OMS_ROUTE_BACKORDERS_MAX_ORDERS and
    OMS_ROUTE_BACKORDERS_SECONDS."""
    return routing.route_backorders()


@shared_task(name="fulfillment.advance_simulated_shipments", acks_late=True)
def advance_simulated_shipments() -> int:
    return simulation.advance_simulated_shipments()


@shared_task(name="fulfillment.flag_at_risk", acks_late=True)
def flag_at_risk() -> int:
    return sla.flag_at_risk()


def _request_fulfillment(event: OutboxEvent) -> None:
    fo_id = event.payload["fulfillment_order_id"]
    if event.topic == "fulfillment.created":
        partners.send_fulfillment_request(fo_id=fo_id)
    else:
        partners.send_hold_notice(
            fo_id=fo_id, held=event.topic == "fulfillment.held", occurrence=event.pk
        )


@shared_task(name="fulfillment.notify_partner", bind=True, acks_late=True, max_retries=8)
def notify_partner(self: Any, event_ids: int | list[int]) -> None:
    # OSError: the mail server is unreachable or refused us; retried with backoff.
    outbox.handle_events(self, event_ids, _request_fulfillment, retry_on=(OSError,))
