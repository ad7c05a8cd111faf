"""Customer notifications: rendered from templates, sent once per (event, channel).

``send_order_notification`` claims a ``Notification`` row by its unique dedupe key
before sending (``claim_notification``); a second run finds the claim and sends
nothing. A failed send marks the row failed so that a retry may claim it again. A
claim left "sending" by a worker that died mid-send goes stale after
``OMS_NOTIFICATION_CLAIM_TIMEOUT`` seconds and the next attempt takes it over; until
then an attempt that finds it is retried later (``NotificationInProgress``), so the
message still goes out, once.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone

from core.actors import Actor
from core.outbox import RetryLater
from customers.models import NotificationEvent
from customers.selectors import get_notification_channels
from fulfillment.models import FulfillmentOrder, Shipment
from orders.events import record_order_event
from orders.models import Order, OrderEventType

from .models import Notification, NotificationStatus

logger = logging.getLogger(__name__)

# What a customer whose order is held gets instead of the confirmation (the choice of
# channels follows their "order confirmed" preference).
UNDER_REVIEW = "order_under_review"

SUBJECTS: dict[str, str] = {
    NotificationEvent.ORDER_CONFIRMED: "Your order {number} is confirmed",
    UNDER_REVIEW: "We received your order {number}: it is under review",
    NotificationEvent.CANCELLED: "Your order {number} was cancelled",
    NotificationEvent.SHIPPED: "Your order {number} has shipped",
    NotificationEvent.OUT_FOR_DELIVERY: "Your order {number} is out for delivery",
    NotificationEvent.DELIVERED: "Your order {number} was delivered",
    NotificationEvent.DELAYED: "Your order {number} is delayed",
    NotificationEvent.READY_FOR_PICKUP: "Your order {number} is ready for pickup",
}


class NotificationInProgress(RetryLater):
    """Another attempt holds a fresh claim on the notification: try again once that
    claim would have gone stale (by then it has been sent, or its sender is dead)."""


def _claim_timeout() -> timedelta:
    return timedelta(seconds=settings.OMS_NOTIFICATION_CLAIM_TIMEOUT)


def claim_notification(dedupe_key: str, **fields: object) -> Notification | None:
    """Claim the notification ``dedupe_key`` for sending; the caller then sends it and
    calls ``mark_sent`` or ``mark_failed``. None: it needs no sending (already sent, or
    skipped).

    A new key inserts the claim. An existing row is taken over when its last attempt
    failed, or when its claim is stale (left "sending" by a worker that died). The
    takeover is one conditional UPDATE: PostgreSQL re-checks its WHERE clause on the
    row that a concurrent takeover committed, so of two attempts exactly one wins.
    Raises ``NotificationInProgress`` when another attempt holds a fresh claim.
    """
    now = timezone.now()
    try:
        with transaction.atomic():
            return Notification.objects.create(
                dedupe_key=dedupe_key, status=NotificationStatus.SENDING, claimed_at=now, **fields
            )
    except IntegrityError:
        pass
    stale_before = now - _claim_timeout()
    takeable = Q(status=NotificationStatus.FAILED) | Q(
        Q(claimed_at__lt=stale_before) | Q(claimed_at__isnull=True, created_at__lt=stale_before),
        status=NotificationStatus.SENDING,
    )
    taken = Notification.objects.filter(takeable, dedupe_key=dedupe_key).update(
        status=NotificationStatus.SENDING, error="", claimed_at=now
    )
    if taken:
        logger.info("notification %s: claimed again (failed or stale)", dedupe_key)
        return Notification.objects.get(dedupe_key=dedupe_key)
    current = Notification.objects.filter(dedupe_key=dedupe_key).first()
    if current is not None and current.status != NotificationStatus.SENDING:
        return None
    claimed_at = current.claimed_at or current.created_at if current else now
    wait = (claimed_at + _claim_timeout() - now).total_seconds()
    raise NotificationInProgress(
        f"notification {dedupe_key} is being sent by another attempt", retry_after=max(wait, 1)
    )


def _still_ours(claim: Notification) -> Q:
    # A claim taken over (this attempt outlived the timeout) is no longer this
    # attempt's to settle.
    return Q(pk=claim.pk, status=NotificationStatus.SENDING, claimed_at=claim.claimed_at)


def mark_sent(claim: Notification) -> bool:
    """Record that the claimed notification went out; False if the claim was lost."""
    return bool(
        Notification.objects.filter(_still_ours(claim)).update(
            status=NotificationStatus.SENT, sent_at=timezone.now()
        )
    )


def mark_failed(claim: Notification, error: BaseException) -> None:
    """Release the claim after a failed send, so that a retry may claim it again."""
    Notification.objects.filter(_still_ours(claim)).update(
        status=NotificationStatus.FAILED, error=str(error)[:300]
    )


def send_order_notification(
    *,
    order_id: int,
    event: str,
    shipment_id: int | None = None,
    fulfillment_order_id: int | None = None,
    occurrence: str = "",
) -> Notification | None:
    """E-mail the customer about ``event`` on order ``order_id``, at most once per
    (event, shipment or fulfillment order, occurrence).

    ``occurrence`` tells apart events that happen more than once to an order (each
    partial cancellation is notified once); without it, once per order and event.
    """
    order = (
        Order.objects.select_related("customer", "shipping_method", "pickup_location")
        .prefetch_related("lines")
        .get(pk=order_id)
    )
    channels = get_notification_channels(customer=order.customer, event=event)
    if (
        event == NotificationEvent.ORDER_CONFIRMED
        and order.holds.filter(released_at__isnull=True).exists()
    ):
        # While a hold is open the customer hears "received, under review", never
        # "confirmed": releasing the last hold sends the confirmation (order.released).
        event = UNDER_REVIEW
    about = shipment_id or fulfillment_order_id or ""
    dedupe_key = f"order:{order.pk}:{event}:{about}:{occurrence}:email"
    subject = SUBJECTS[event].format(number=order.number)
    if not channels["email"]:
        skipped = claim_notification(
            dedupe_key,
            channel="email",
            event=event,
            recipient=order.email,
            subject=subject,
            order=order,
        )
        if skipped is not None:
            Notification.objects.filter(_still_ours(skipped)).update(
                status=NotificationStatus.SKIPPED
            )
        return None
    claim = claim_notification(
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
    except Exception as exc:  # a soft time limit interrupting the send included
        mark_failed(claim, exc)
        raise
    with transaction.atomic():
        if not mark_sent(claim):
            # This attempt outlived its claim and another took it over: the timeline
            # gets that attempt's record, not this one.
            logger.warning("notification %s: sent after its claim was taken over", dedupe_key)
            return None
        record_order_event(
            order=order,
            type=OrderEventType.NOTIFICATION_SENT,
            actor=Actor.system("notifications"),
            message=f"E-mail sent to {order.email}: {subject}",
            payload={"event": event, "channel": "email", "notification_id": claim.pk},
        )
    claim.refresh_from_db()
    return claim
