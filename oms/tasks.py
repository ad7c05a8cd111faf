"""Thin tasks: an id in, one call out. Safe to run twice."""

from celery import shared_task

from . import outbox
from .models import OutboxEvent

ORDER_TOPIC_EVENTS = {
    "order.placed": "order_confirmed",
    "order.cancelled": "cancelled",
    "shipment.created": "shipped",
    "tracking.out_for_delivery": "out_for_delivery",
    "tracking.delivered": "delivered",
    "tracking.exception": "delayed",
    "pickup.ready": "ready_for_pickup",
}
# Topics that may happen several times to one order: each outbox event is notified once.
REPEATABLE_TOPICS = {"order.cancelled"}


@shared_task(
    name="oms.notify_order_event",
    acks_late=True,
    autoretry_for=(OSError,),
    retry_backoff=True,
    retry_backoff_max=600,
    max_retries=8,
)
def notify_order_event(event_id: int) -> None:
    from .notifications import send_order_notification

    event = OutboxEvent.objects.get(pk=event_id)
    payload = event.payload
    send_order_notification(
        order_id=payload["order_id"],
        event=ORDER_TOPIC_EVENTS[event.topic],
        shipment_id=payload.get("shipment_id"),
        fulfillment_order_id=payload.get("fulfillment_order_id"),
        occurrence=f"outbox-{event.pk}" if event.topic in REPEATABLE_TOPICS else "",
    )


@shared_task(name="oms.sweep_outbox", acks_late=True)
def sweep_outbox() -> int:
    return outbox.sweep()
