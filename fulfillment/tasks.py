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


@shared_task(name="fulfillment.advance_simulated_shipments", acks_late=True)
def advance_simulated_shipments() -> int:
    from .carriers import advance_simulated_shipments as advance

    return advance()


@shared_task(name="fulfillment.flag_at_risk", acks_late=True)
def flag_at_risk() -> int:
    from .sla import flag_at_risk as flag

    return flag()


@shared_task(
    name="fulfillment.notify_partner",
    acks_late=True,
    autoretry_for=(OSError,),
    retry_backoff=True,
    max_retries=8,
)
def notify_partner(event_id: int) -> None:
    from .partners import send_fulfillment_request

    event = OutboxEvent.objects.get(pk=event_id)
    send_fulfillment_request(fo_id=event.payload["fulfillment_order_id"])
