"""Thin tasks: ids in, one call out. Safe to run twice."""

from typing import Any

from celery import shared_task

from billing import dunning
from core import outbox
from core.models import OutboxEvent
from orders.notifications import mail_connection
from selfservice.links import status_url

from . import retention
from .notifications import resend_notification, send_message, send_order_notification

ORDER_TOPIC_EVENTS = {
    "order.placed": "order_confirmed",
    "order.released": "order_confirmed",
    "order.cancelled": "cancelled",
    "order.address_changed": "address_changed",
    "shipment.created": "shipped",
    "shipment.picked_up": "picked_up",
    "tracking.out_for_delivery": "out_for_delivery",
    "tracking.delivered": "delivered",
    "tracking.exception": "delayed",
    "pickup.ready": "ready_for_pickup",
}
RETURN_TOPIC_EVENTS = {
    "return.approved": "return_approved",
    "return.received": "return_received",
}
# Topics that may happen several times to one order: each outbox event is notified once.
REPEATABLE_TOPICS = {"order.cancelled", "order.address_changed"}


def _notify(event: OutboxEvent) -> None:
    payload = event.payload
    if event.topic == "order.on_hold":
        # Of the holds a customer can lift, an address hold is told here; a payment hold
        # comes with billing's "payment failed" message. At placement this is the
        # message the confirmation turns into: sent once.
        if "address" in payload.get("kinds", []):
            send_order_notification(order_id=payload["order_id"], event="on_hold")
        return
    if event.topic in RETURN_TOPIC_EVENTS:
        send_message(
            order_id=payload["order_id"],
            builder="return",
            params={"event": RETURN_TOPIC_EVENTS[event.topic], "return_id": payload["return_id"]},
        )
        return
    if event.topic == "refund.requested":
        send_message(
            order_id=payload["order_id"],
            builder="refund",
            params={"refund_id": payload["refund_id"]},
        )
        return
    extra = {
        key: payload[key] for key in ("whole", "amount", "hold_id") if payload.get(key) is not None
    }
    send_order_notification(
        order_id=payload["order_id"],
        event=ORDER_TOPIC_EVENTS[event.topic],
        shipment_id=payload.get("shipment_id"),
        fulfillment_order_id=payload.get("fulfillment_order_id"),
        occurrence=f"outbox-{event.pk}" if event.topic in REPEATABLE_TOPICS else "",
        extra=extra,
    )


@shared_task(name="oms.notify_order_event", bind=True, acks_late=True, max_retries=8)
def notify_order_event(self: Any, event_ids: int | list[int]) -> None:
    # OSError: the mail server is unreachable or refused us; retried with backoff. The
    # events of a message share one connection to the mail server.
    with mail_connection():
        outbox.handle_events(self, event_ids, _notify, retry_on=(OSError,))


def _resend(event: OutboxEvent) -> None:
    resend_notification(event.payload["notification_id"])


@shared_task(name="oms.resend_notification", bind=True, acks_late=True, max_retries=8)
def resend_notification_event(self: Any, event_ids: int | list[int]) -> None:
    # An agent's resend (orders.notifications.request_resend), sent like the original.
    with mail_connection():
        outbox.handle_events(self, event_ids, _resend, retry_on=(OSError,))


@shared_task(name="oms.sweep_outbox", acks_late=True)
def sweep_outbox() -> int:
    return outbox.sweep()


@shared_task(name="oms.prune_old_records", acks_late=True)
def prune_old_records() -> dict[str, int]:
    return retention.prune_old_records()


# The mail server refused or could not be reached: the run's failed reminders stay
# pending, and this retry (or tomorrow's run) sends them.
DUNNING_RETRY_SECONDS = 1800


@shared_task(name="oms.send_dunning_reminders", bind=True, acks_late=True, max_retries=6)
def send_dunning_reminders(self: Any) -> dict[str, int]:
    # Billing decides and sends; the e-mails' status link is the self-service app's.
    run = dunning.send_dunning_reminders(status_link=status_url)
    if run.failed:
        raise self.retry(countdown=DUNNING_RETRY_SECONDS)
    return run.as_dict()
