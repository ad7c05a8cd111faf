"""Customer notifications: rendered from templates, sent once per (event, channel).

``send_order_notification`` claims a ``Notification`` row of the order's log before
sending and settles it after (``orders.notifications``: a second run finds the claim
and sends nothing; a failed send is retried; a claim left by a worker that died is
taken over once stale).
"""

from customers.models import NotificationEvent
from customers.selectors import get_notification_channels
from fulfillment.models import FulfillmentOrder, Shipment
from orders.models import Notification, Order
from orders.notifications import claim_notification, mark_skipped, send_order_email
from selfservice.links import status_url

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
            mark_skipped(skipped)
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
        # The signed link to the order's status page ("Track your order").
        "status_url": status_url(order),
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
    return send_order_email(claim, order=order, template=f"emails/{event}", context=context)
