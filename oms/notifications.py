"""Customer notifications: built from templates, sent once per (event, channel, recipient).

Each kind of event has a builder that turns ids into an ``OrderMessage`` (subject,
templates, context); ``send_order_notification`` builds the message of an outbox event
and delivers it to the customer on the channels they chose and to their company's
contacts (``orders.notifications.deliver_order_message``: each copy is claimed on the
order's log before it is sent; a second run sends nothing, a failed copy is retried, a
claim left by a worker that died is taken over once stale). ``resend_notification``
sends again a message an agent asked to resend, rebuilt by the same builder from the
parameters stored on the log.

Billing builds its own messages (invoices, payment failures: ``billing.notifications``,
``billing.payment_emails``) and delivers them the same way; their builders are listed
here too, for resends.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.db.models import Exists, OuterRef, QuerySet, Subquery

from billing.models import Refund
from billing.notifications import build_invoice_message
from billing.payment_emails import build_payment_failed_message
from customers.models import NotificationEvent
from fulfillment.models import FulfillmentOrder, Shipment
from orders.models import HoldKind, Notification, Order, OrderHold, OrderStatus
from orders.notifications import (
    Attachment,
    OrderMessage,
    Recipient,
    claim_notification,
    deliver_order_message,
    list_recipients,
    send_message_copy,
)
from returns.documents import return_label_pdf
from returns.models import ReturnMethod, ReturnRequest

# What a customer whose order is held for review gets instead of the confirmation (the
# choice of channels follows their "order confirmed" preference).
UNDER_REVIEW = "order_under_review"

# Holds the customer can lift (the status page says how): they hear "on hold, waiting
# for you" rather than "under review".
CUSTOMER_HOLDS = (HoldKind.PAYMENT, HoldKind.ADDRESS)

SUBJECTS: dict[str, str] = {
    NotificationEvent.ORDER_CONFIRMED: "Your order {number} is confirmed",
    UNDER_REVIEW: "We received your order {number}: it is under review",
    NotificationEvent.ON_HOLD: "Your order {number} is on hold: we need something from you",
    NotificationEvent.CANCELLED: "Your order {number} was cancelled",
    "partly_cancelled": "Part of your order {number} was cancelled",
    NotificationEvent.SHIPPED: "Your order {number} has shipped",
    NotificationEvent.OUT_FOR_DELIVERY: "Your order {number} is out for delivery",
    NotificationEvent.DELIVERED: "Your order {number} was delivered",
    NotificationEvent.DELAYED: "Your order {number} is delayed",
    NotificationEvent.READY_FOR_PICKUP: "Your order {number} is ready for pickup",
    NotificationEvent.PICKED_UP: "You picked up your order {number}",
    NotificationEvent.ADDRESS_CHANGED: "The delivery address of your order {number} changed",
    NotificationEvent.RETURN_APPROVED: "Your return {rma} for order {number} is approved",
    NotificationEvent.RETURN_RECEIVED: "We received your return {rma} for order {number}",
    NotificationEvent.REFUND_ISSUED: "A refund for your order {number}",
}


def _orders_for_messages() -> QuerySet[Order]:
    # What every message's templates read: the customer (greeting, phone, preferences),
    # the company (its contacts' copies), the shipping method and pickup location (the
    # summary), and the lines.
    return Order.objects.select_related(
        "customer", "company", "shipping_method", "pickup_location"
    ).prefetch_related("lines")


def get_order_for_message(order_id: int) -> Order:
    return _orders_for_messages().get(pk=order_id)


def _open_holds() -> QuerySet[OrderHold]:
    return OrderHold.objects.filter(order=OuterRef("pk"), released_at__isnull=True).order_by("id")


def get_order_for_notification(order_id: int, *, event: str, hold_known: bool = False) -> Order:
    """The order of a message about ``event``, loaded once for the whole send: the order
    with what the templates read (two queries), and, for the events that depend on its
    holds, the holds that decide the message, as annotations of the same query:
    ``customer_hold_id`` and ``any_hold_open`` for a confirmation, ``address_hold_id``
    for "on hold" unless the event names its hold (``hold_known``)."""
    orders = _orders_for_messages()
    if event == NotificationEvent.ORDER_CONFIRMED:
        orders = orders.annotate(
            customer_hold_id=Subquery(
                _open_holds().filter(kind__in=CUSTOMER_HOLDS).values("pk")[:1]
            ),
            any_hold_open=Exists(_open_holds()),
        )
    elif event == NotificationEvent.ON_HOLD and not hold_known:
        orders = orders.annotate(
            address_hold_id=Subquery(_open_holds().filter(kind=HoldKind.ADDRESS).values("pk")[:1])
        )
    return orders.get(pk=order_id)


def _order_context(order: Order, event: str) -> dict[str, Any]:
    return {"order": order, "lines": list(order.lines.all()), "event": event}


def _shipment(shipment_id: int | None) -> Shipment | None:
    if not shipment_id:
        return None
    return (
        Shipment.objects.select_related("carrier", "fulfillment_order__location")
        .prefetch_related("lines__fulfillment_line__order_line")
        .get(pk=shipment_id)
    )


def build_order_message(order: Order, params: dict[str, Any]) -> tuple[str, OrderMessage]:
    """The message of an order event (``params``: the kind of event, the shipment or
    fulfillment order, the cancellation's amounts, the hold) and its dedupe key."""
    kind = params["event"]
    event = params.get("variant") or kind
    context = _order_context(order, event)
    shipment = _shipment(params.get("shipment_id"))
    context["shipment"] = shipment
    fo_id = params.get("fulfillment_order_id")
    context["fulfillment_order"] = (
        FulfillmentOrder.objects.select_related("location").get(pk=fo_id) if fo_id else None
    )
    if kind == NotificationEvent.CANCELLED:
        context["whole"] = params.get("whole", order.status == OrderStatus.CANCELLED)
        context["refund_amount"] = Decimal(params.get("amount") or "0")
        if not context["whole"]:
            event = "partly_cancelled"
    if kind == NotificationEvent.ON_HOLD:
        context["hold"] = OrderHold.objects.filter(pk=params.get("hold_id") or 0).first()
    about = params.get("shipment_id") or fo_id or params.get("hold_id") or ""
    key = f"order:{order.pk}:{params.get('variant') or kind}:{about}:{params.get('occurrence', '')}"
    message = OrderMessage(
        kind=kind,
        event=params.get("variant") or kind,
        subject=SUBJECTS[event].format(number=order.number),
        template=f"emails/{params.get('variant') or kind}",
        context=context,
        params={"builder": "order", **params},
    )
    return key, message


def build_return_message(order: Order, params: dict[str, Any]) -> tuple[str, OrderMessage]:
    """A return approved (with its label for a return by mail) or received."""
    kind = params["event"]
    rma = (
        ReturnRequest.objects.select_related("destination")
        .prefetch_related("lines__order_line")
        .get(pk=params["return_id"], order=order)
    )
    attachments: list[Attachment] = []
    if kind == NotificationEvent.RETURN_APPROVED and rma.method == ReturnMethod.MAIL:
        attachments.append(
            Attachment(f"return-label-{rma.number}.pdf", return_label_pdf(rma), "application/pdf")
        )
    context = {
        **_order_context(order, kind),
        "rma": rma,
        "return_lines": list(rma.lines.all()),
        "by_mail": rma.method == ReturnMethod.MAIL,
    }
    message = OrderMessage(
        kind=kind,
        event=kind,
        subject=SUBJECTS[kind].format(number=order.number, rma=rma.number),
        template=f"emails/{kind}",
        context=context,
        params={"builder": "return", **params},
        attachments=attachments,
        payload={"return_id": rma.pk},
    )
    return f"return:{rma.pk}:{kind}", message


def build_refund_message(order: Order, params: dict[str, Any]) -> tuple[str, OrderMessage]:
    """A refund issued: how much, and where the money goes."""
    refund = Refund.objects.get(pk=params["refund_id"], order=order)
    kind = NotificationEvent.REFUND_ISSUED
    message = OrderMessage(
        kind=kind,
        event=kind,
        subject=SUBJECTS[kind].format(number=order.number),
        template=f"emails/{kind}",
        context={**_order_context(order, kind), "refund": refund},
        params={"builder": "refund", **params},
        payload={"refund_id": refund.pk},
    )
    return f"refund:{refund.pk}:{kind}", message


def _invoice(order: Order, params: dict[str, Any]) -> tuple[str, OrderMessage]:
    return build_invoice_message(params["invoice_id"])


def _payment_failed(order: Order, params: dict[str, Any]) -> tuple[str, OrderMessage]:
    return build_payment_failed_message(params["payment_transaction_id"])


BUILDERS: dict[str, Callable[[Order, dict[str, Any]], tuple[str, OrderMessage]]] = {
    "order": build_order_message,
    "return": build_return_message,
    "refund": build_refund_message,
    "invoice": _invoice,
    "payment_failed": _payment_failed,
}


def send_message(*, order_id: int, builder: str, params: dict[str, Any]) -> list[Notification]:
    """Build the message ``builder`` makes of ``params`` and deliver it to everyone who
    hears about its kind; returns the copies this attempt sent."""
    return _send(get_order_for_message(order_id), builder, params)


def _send(order: Order, builder: str, params: dict[str, Any]) -> list[Notification]:
    key, message = BUILDERS[builder](order, params)
    return deliver_order_message(
        order=order,
        dedupe_key=key,
        message=message,
        recipients=list_recipients(order, kind=message.kind),
    )


def send_order_notification(
    *,
    order_id: int,
    event: str,
    shipment_id: int | None = None,
    fulfillment_order_id: int | None = None,
    occurrence: str = "",
    extra: dict[str, Any] | None = None,
) -> Notification | None:
    """Tell the people of order ``order_id`` about ``event``, at most once per (event,
    shipment or fulfillment order, occurrence) and (channel, recipient).

    ``occurrence`` tells apart events that happen more than once to an order (each
    partial cancellation is notified once); without it, once per order and event.
    Returns the e-mail to the order's address when this attempt sent it (None when it
    was sent before, or the customer gets no e-mail of this kind).
    """
    params: dict[str, Any] = {"event": event, **(extra or {})}
    order = get_order_for_notification(order_id, event=event, hold_known="hold_id" in params)
    if shipment_id:
        params["shipment_id"] = shipment_id
    if fulfillment_order_id:
        params["fulfillment_order_id"] = fulfillment_order_id
    if occurrence:
        params["occurrence"] = occurrence
    if event == NotificationEvent.ON_HOLD and "hold_id" not in params:
        if order.address_hold_id is None:  # type: ignore[attr-defined]
            return None  # released before this ran: nothing to ask for
        params["hold_id"] = order.address_hold_id  # type: ignore[attr-defined]
    if event == NotificationEvent.ORDER_CONFIRMED:
        # While a hold is open the customer never hears "confirmed": "on hold, waiting
        # for you" when they can lift it, else "received, under review". Releasing the
        # last hold sends the confirmation (order.released).
        if order.customer_hold_id is not None:  # type: ignore[attr-defined]
            params = {
                "event": NotificationEvent.ON_HOLD,
                "hold_id": order.customer_hold_id,  # type: ignore[attr-defined]
            }
        elif order.any_hold_open:  # type: ignore[attr-defined]
            params["variant"] = UNDER_REVIEW
    sent = _send(order, "order", params)
    return next((n for n in sent if n.channel == "email" and n.recipient == order.email), None)


def resend_notification(notification_id: int) -> Notification | None:
    """Send the queued resend ``notification_id`` (``orders.notifications.request_resend``)
    to its recipient on its channel, rebuilt from the stored parameters; None when it
    was sent already."""
    resend = Notification.objects.get(pk=notification_id, order__isnull=False)
    order = get_order_for_message(resend.order_id or 0)
    params = dict(resend.params)
    _, message = BUILDERS[params.pop("builder")](order, params)
    claim = claim_notification(resend.dedupe_key)
    if claim is None:
        return None
    original_recipients = {
        (r.channel, r.address.lower()): r for r in list_recipients(order, kind=message.kind)
    }
    recipient = original_recipients.get((claim.channel, claim.recipient.lower()))
    if recipient is None:
        # No longer a recipient (a contact removed, a phone changed): the agent asked
        # for this copy, so it goes to the address it went to before.
        recipient = Recipient(claim.channel, claim.recipient)
    return send_message_copy(claim, order=order, message=message, recipient=recipient)
