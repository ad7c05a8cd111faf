"""From outbox events to webhook events: which topics a company hears about, and what
each event carries.

One outbox event of an order that belongs to a company with an active subscription for
the webhook type becomes one ``WebhookEvent`` (whatever the number of times the outbox
event is consumed), delivered to each such subscription by its own task.
"""

from collections.abc import Callable
from typing import Any

from django.db import transaction

from billing.models import Invoice
from core.models import OutboxEvent
from fulfillment.models import Shipment
from orders.models import Order
from returns.models import ReturnRequest

from .models import EventType, WebhookEvent, WebhookSubscription

# outbox topic -> webhook event type
TOPIC_TYPES: dict[str, str] = {
    "order.placed": EventType.ORDER_PLACED,
    "order.on_hold": EventType.ORDER_ON_HOLD,
    "order.released": EventType.ORDER_RELEASED,
    "order.cancelled": EventType.ORDER_CANCELLED,
    "shipment.created": EventType.FULFILLMENT_SHIPPED,
    "tracking.delivered": EventType.SHIPMENT_DELIVERED,
    "return.requested": EventType.RETURN_UPDATED,
    "return.approved": EventType.RETURN_UPDATED,
    "return.rejected": EventType.RETURN_UPDATED,
    "return.received": EventType.RETURN_UPDATED,
    "return.refunded": EventType.RETURN_UPDATED,
    "invoice.issued": EventType.INVOICE_ISSUED,
    "invoice.paid": EventType.INVOICE_PAID,
}


def _order(order: Order) -> dict[str, Any]:
    return {
        "number": order.number,
        "status": order.status,
        "fulfillment_status": order.fulfillment_status,
        "po_number": order.po_number,
        "currency": order.currency,
        "grand_total": str(order.grand_total),
    }


def _shipment(payload: dict[str, Any]) -> dict[str, Any]:
    shipment = Shipment.objects.select_related("carrier").get(pk=payload["shipment_id"])
    return {
        "shipment": {
            "id": shipment.pk,
            "carrier": shipment.carrier.code if shipment.carrier else None,
            "service_level": shipment.service_level,
            "tracking_number": shipment.tracking_number,
            "status": shipment.status,
            "shipped_at": shipment.shipped_at.isoformat(),
            "delivered_at": shipment.delivered_at.isoformat() if shipment.delivered_at else None,
        }
    }


def _return(payload: dict[str, Any]) -> dict[str, Any]:
    request = ReturnRequest.objects.get(pk=payload["return_id"])
    return {"return": {"number": request.number, "status": request.status}}


def _invoice(payload: dict[str, Any]) -> dict[str, Any]:
    invoice = Invoice.objects.get(pk=payload["invoice_id"])
    return {
        "invoice": {
            "number": invoice.number,
            "issue_date": invoice.issue_date.isoformat(),
            "due_date": invoice.due_date.isoformat() if invoice.due_date else None,
            "currency": invoice.currency,
            "grand_total": str(invoice.grand_total),
            "status": invoice.status,
            "amount_paid": str(invoice.amount_paid),
            "paid_at": invoice.paid_at.isoformat() if invoice.paid_at else None,
        }
    }


def _holds(payload: dict[str, Any]) -> dict[str, Any]:
    return {"holds": list(payload.get("kinds", []))}


DETAILS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    EventType.ORDER_ON_HOLD: _holds,
    EventType.FULFILLMENT_SHIPPED: _shipment,
    EventType.SHIPMENT_DELIVERED: _shipment,
    EventType.RETURN_UPDATED: _return,
    EventType.INVOICE_ISSUED: _invoice,
    EventType.INVOICE_PAID: _invoice,
}


def fan_out(event: OutboxEvent, queue: Callable[[int, int], None]) -> WebhookEvent | None:
    """Turn an outbox event into a webhook event and ``queue(event_pk, subscription_pk)``
    a delivery for each subscriber once the transaction commits. Idempotent. An event
    of an order no subscription hears about costs one query."""
    event_type = TOPIC_TYPES.get(event.topic)
    order_id = event.payload.get("order_id")
    if event_type is None or order_id is None:
        return None
    # The order's company's active subscriptions (none for a B2C order).
    found = [
        subscription
        for subscription in WebhookSubscription.objects.filter(
            company__orders__pk=order_id, is_active=True
        )
        if event_type in subscription.event_types
    ]
    if not found:
        return None
    order = Order.objects.get(pk=order_id)
    with transaction.atomic():
        if WebhookEvent.objects.filter(source_event_id=event.pk).exists():
            return None
        data: dict[str, Any] = {"order": _order(order), "topic": event.topic}
        details = DETAILS.get(event_type)
        if details is not None:
            data.update(details(event.payload))
        webhook_event = WebhookEvent.objects.create(
            company_id=found[0].company_id,
            type=event_type,
            payload=data,
            source_event_id=event.pk,
        )
        for subscription in found:
            transaction.on_commit(
                lambda sub=subscription.pk: queue(webhook_event.pk, sub)  # type: ignore[misc]
            )
    return webhook_event
