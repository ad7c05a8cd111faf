"""The top of the order page (``admin/orders/order/change_form.html``): the summary card
(statuses as pills, totals, customer and company, open holds with their release
buttons, pinned notes), the lines right under it, and the timeline with its agents'
notes, newest first. Built from the order already loaded with its customer and company;
the lines, the timeline and its notes are a fixed number of queries."""

from __future__ import annotations

from typing import Any

from django.urls import NoReverseMatch, reverse

from core.admin import admin_change_url, short_datetime
from core.money import format_money
from core.preferences import format_date

from ..models import (
    FulfillmentStatus,
    Order,
    OrderLine,
    OrderNote,
    OrderStatus,
    PaymentStatus,
    ReturnStatus,
)
from ..timeline import order_timeline

# The page shows this many lines and timeline entries (the newest), whatever the order has.
LINE_ROWS = 500
TIMELINE_ROWS = 200

ADD_NOTE_PERMISSION = "orders.add_ordernote"
PIN_NOTE_PERMISSION = "orders.change_ordernote"

# A pill's colour says whether the status needs someone: done, waiting, stopped.
_DONE = {
    OrderStatus.COMPLETED,
    FulfillmentStatus.DELIVERED,
    PaymentStatus.CAPTURED,
    ReturnStatus.RETURNED,
}
_STOPPED = {
    OrderStatus.CANCELLED,
    PaymentStatus.FAILED,
    PaymentStatus.VOIDED,
    PaymentStatus.REFUNDED,
}
_QUIET = {FulfillmentStatus.NOTHING_TO_FULFIL, PaymentStatus.NONE, ReturnStatus.NONE}


def _tone(value: str) -> str:
    if value in _DONE:
        return "done"
    if value in _STOPPED:
        return "stopped"
    if value in _QUIET:
        return "quiet"
    return "active"


def _pill(caption: str, value: str, label: str) -> dict[str, str]:
    return {"caption": caption, "label": label, "tone": _tone(value)}


def _link(obj: Any, text: str, may_view: bool) -> dict[str, str]:
    url = ""
    if may_view:
        try:
            url = admin_change_url(obj)
        except NoReverseMatch:
            url = ""
    return {"text": text, "url": url}


def order_summary(order: Order, user: Any) -> dict[str, Any]:
    """What the summary card shows of ``order`` (no query: its joins are loaded)."""
    money = order.currency
    customer = order.customer
    company = order.company
    return {
        "created": short_datetime(order.created_at),
        "placed": short_datetime(order.placed_at) if order.placed_at else "",
        "channel": order.get_channel_display(),
        "pills": [
            _pill("Order", order.status, order.get_status_display()),
            _pill("Fulfillment", order.fulfillment_status, order.get_fulfillment_status_display()),
            _pill("Payment", order.payment_status, order.get_payment_status_display()),
            _pill("Returns", order.return_status, order.get_return_status_display()),
        ],
        "totals": [
            ("Subtotal", format_money(order.subtotal, money)),
            ("Shipping", format_money(order.shipping_total, money)),
            ("Discount", format_money(order.discount_total, money)),
            ("Tax", format_money(order.tax_total, money)),
        ],
        "total": format_money(order.grand_total, money),
        "customer": _link(
            customer,
            customer.full_name or customer.email,
            user.has_perm("customers.view_customer"),
        )
        if customer
        else None,
        "company": _link(company, company.name, user.has_perm("customers.view_company"))
        if company
        else None,
        "email": order.email,
        "phone": order.ship_phone,
        "po_number": order.po_number,
        "ship_to": order.ship_to_one_line,
        "shipping_method": order.shipping_method.name if order.shipping_method else "",
        "pickup_location": order.pickup_location.name if order.pickup_location else "",
        "promised": format_date(order.promised_delivery_date)
        if order.promised_delivery_date
        else "",
    }


def _progress(line: OrderLine) -> str:
    """Where the line's units are, naming only the buckets that hold some."""
    buckets = (
        (line.quantity_open, "open"),
        (line.quantity_backordered, "backordered"),
        (line.quantity_allocated, "allocated"),
        (line.quantity_shipped, "shipped"),
        (line.quantity_delivered, "delivered"),
        (line.quantity_cancelled, "cancelled"),
        (line.quantity_return_requested, "return requested"),
        (line.quantity_returned, "returned"),
    )
    return " · ".join(f"{count} {name}" for count, name in buckets if count > 0) or "-"


def order_lines(order: Order) -> list[dict[str, Any]]:
    """The order's lines as the page's table shows them (one query)."""
    money = order.currency
    lines = OrderLine.objects.filter(order=order).order_by("line_number", "id")[:LINE_ROWS]
    return [
        {
            "number": line.line_number,
            "sku": line.sku,
            "description": line.description,
            "unit_price": format_money(line.unit_price, money),
            "ordered": line.quantity_ordered,
            "progress": _progress(line),
            "cancelled_all": line.quantity_cancelled >= line.quantity_ordered,
            "discount": format_money(line.discount_total, money),
            "tax": format_money(line.tax_total, money),
            "total": format_money(line.live_total, money),
        }
        for line in lines
    ]


def _note(note: OrderNote, may_pin: bool) -> dict[str, Any]:
    return {
        "id": note.pk,
        "body": note.body,
        "author": note.author_name,
        "when": short_datetime(note.created_at),
        "pinned": note.pinned,
        "pin_url": reverse("admin:orders_order_pin_note", args=[note.order_id, note.pk])
        if may_pin
        else "",
    }


def timeline_context(order: Order, user: Any) -> dict[str, Any]:
    """The timeline, newest first, the pinned notes and the note form's flags."""
    may_pin = user.has_perm(PIN_NOTE_PERMISSION)
    timeline = order_timeline(order, limit=TIMELINE_ROWS)
    return {
        "timeline": [
            {
                "when": short_datetime(entry.event.created_at),
                "type": entry.event.get_type_display(),
                "message": entry.event.message,
                "changes": entry.changes,
                "by": entry.event.actor_display,
                "note": _note(entry.note, may_pin) if entry.note else None,
            }
            for entry in timeline.entries
        ],
        "timeline_rows": TIMELINE_ROWS,
        "whole_timeline_url": reverse("admin:orders_orderevent_changelist")
        + f"?order__id__exact={order.pk}",
        "pinned_notes": [_note(note, may_pin) for note in timeline.pinned_notes],
        "can_add_note": user.has_perm(ADD_NOTE_PERMISSION),
        "add_note_url": reverse("admin:orders_order_add_note", args=[order.pk]),
        "note_max_length": OrderNote.MAX_LENGTH,
    }
