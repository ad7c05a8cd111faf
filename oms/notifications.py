"""Customer notifications: rendered from templates, sent once per (event, channel).

``send_order_notification`` claims a ``Notification`` row by its unique dedupe key
before sending; a second run finds the claim and sends nothing. A failed send marks
the row failed so that a retry may claim it again.
"""

import logging

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from customers.models import NotificationEvent
from customers.selectors import get_notification_channels
from oms.core.actors import Actor

from .models import Notification, NotificationStatus

logger = logging.getLogger(__name__)

SUBJECTS: dict[str, str] = {
    NotificationEvent.ORDER_CONFIRMED: "Your order {number} is confirmed",
    NotificationEvent.CANCELLED: "Your order {number} was cancelled",
    NotificationEvent.SHIPPED: "Your order {number} has shipped",
    NotificationEvent.OUT_FOR_DELIVERY: "Your order {number} is out for delivery",
    NotificationEvent.DELIVERED: "Your order {number} was delivered",
    NotificationEvent.DELAYED: "Your order {number} is delayed",
    NotificationEvent.READY_FOR_PICKUP: "Your order {number} is ready for pickup",
}


def _claim(dedupe_key: str, **fields: object) -> Notification | None:
    """Insert the claim row, or take over a failed one. None: someone else has it."""
    try:
        with transaction.atomic():
            return Notification.objects.create(
                dedupe_key=dedupe_key, status=NotificationStatus.SENDING, **fields
            )
    except IntegrityError:
        taken = Notification.objects.filter(
            dedupe_key=dedupe_key, status=NotificationStatus.FAILED
        ).update(status=NotificationStatus.SENDING, error="")
        return Notification.objects.get(dedupe_key=dedupe_key) if taken else None


def send_order_notification(
    *,
    order_id: int,
    event: str,
    shipment_id: int | None = None,
    fulfillment_order_id: int | None = None,
    occurrence: str = "",
) -> Notification | None:
    """E-mail the customer about ``event`` on order ``order_id``, at most once per
    (event, shipment or fulfilment order, occurrence).

    ``occurrence`` tells apart events that happen more than once to an order (each
    partial cancellation is notified once); without it, once per order and event.
    """
    from fulfillment.models import FulfillmentOrder, Shipment
    from orders.events import record_order_event
    from orders.models import Order, OrderEventType

    order = (
        Order.objects.select_related("customer", "shipping_method", "pickup_location")
        .prefetch_related("lines")
        .get(pk=order_id)
    )
    channels = get_notification_channels(customer=order.customer, event=event)
    about = shipment_id or fulfillment_order_id or ""
    dedupe_key = f"order:{order.pk}:{event}:{about}:{occurrence}:email"
    subject = SUBJECTS[event].format(number=order.number)
    if not channels["email"]:
        _claim(
            dedupe_key,
            channel="email",
            event=event,
            recipient=order.email,
            subject=subject,
            order=order,
        )
        Notification.objects.filter(
            dedupe_key=dedupe_key, status=NotificationStatus.SENDING
        ).update(status=NotificationStatus.SKIPPED)
        return None
    claim = _claim(
        dedupe_key,
        channel="email",
        event=event,
        recipient=order.email,
        subject=subject,
        order=order,
    )
    if claim is None:
        return None
    context = {
        "order": order,
        "lines": list(order.lines.all()),
        "event": event,
        "shipment": (
            Shipment.objects.select_related("carrier")
            .prefetch_related("lines__fulfillment_line__order_line")
            .get(pk=shipment_id)
            if shipment_id
            else None
        ),
        "fulfillment_order": (
            FulfillmentOrder.objects.select_related("location").get(pk=fulfillment_order_id)
            if fulfillment_order_id
            else None
        ),
    }
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"emails/{event}.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[order.email],
    )
    message.attach_alternative(render_to_string(f"emails/{event}.html", context), "text/html")
    try:
        message.send()
    except Exception as exc:
        Notification.objects.filter(pk=claim.pk).update(
            status=NotificationStatus.FAILED, error=str(exc)[:300]
        )
        raise
    with transaction.atomic():
        Notification.objects.filter(pk=claim.pk).update(
            status=NotificationStatus.SENT, sent_at=timezone.now()
        )
        record_order_event(
            order=order,
            type=OrderEventType.NOTIFICATION_SENT,
            actor=Actor.system("notifications"),
            message=f"E-mail sent to {order.email}: {subject}",
            payload={"event": event, "channel": "email", "notification_id": claim.pk},
        )
    claim.refresh_from_db()
    return claim
