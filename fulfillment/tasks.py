"""Thin routing tasks: ids in, one service call, safe to repeat."""

from celery import shared_task
from django.conf import settings

from oms.models import OutboxEvent

from . import routing


@shared_task(name="fulfillment.route_order_event", acks_late=True)
def route_order_event(event_id: int) -> None:
    if not settings.OMS_AUTO_ROUTE:
        return
    event = OutboxEvent.objects.get(pk=event_id)
    routing.route_order(order_id=event.payload["order_id"])


@shared_task(name="fulfillment.route_order", acks_late=True)
def route_order(order_id: int) -> None:
    routing.route_order(order_id=order_id)


@shared_task(name="fulfillment.route_backorders", acks_late=True)
def route_backorders() -> int:
    return routing.route_backorders()
