"""HTML of the order console: tables and summaries rendered from the selectors' reads.
Rendering only; every query is in ``orders.selectors``."""

from __future__ import annotations

from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from core.admin import render_table, short_datetime
from core.money import format_money

from ..models import Notification, Order, OrderStatus
from ..notifications import may_resend
from ..selectors import (
    DraftPreview,
    DraftStock,
    LineAvailability,
    get_draft_stock,
    list_open_holds,
    list_order_notifications,
)

NOTIFICATION_ROWS = 50


def line_promise(preview: DraftPreview, availability: LineAvailability) -> str:
    """When a line of the previewed order arrives: with the order when in stock, else
    once restocked (backordered) or not until the shortage is settled."""
    if availability.status == "In stock":
        return f"by {preview.delivery_date}"
    if availability.status.endswith("backordered"):
        return "after restock (backordered)"
    return "not until stock is found"


def draft_preview_html(preview: DraftPreview) -> SafeString:
    """The "Check" of the draft page: prices, availability and the delivery promise."""
    order = preview.order
    availability = preview.availability
    table = render_table(
        (
            "Line",
            "SKU",
            "Description",
            "Quantity",
            "List price",
            "Customer pays",
            "Line total",
            "Available",
            "Per location",
            "Stock",
            "Promise",
        ),
        (
            (
                line.line_number,
                line.sku,
                line.description,
                line.quantity_ordered,
                format_money(line.product.list_price, order.currency),
                format_money(line.unit_price, order.currency),
                format_money(line.line_total, order.currency),
                f"{availability[line.sku].available} ({availability[line.sku].source})",
                availability[line.sku].locations,
                availability[line.sku].status,
                line_promise(preview, availability[line.sku]),
            )
            for line in preview.lines
        ),
    )
    return format_html(
        "{}<p>Subtotal {} · shipping {} · tax {} · <strong>total {}</strong></p>"
        "<p>Delivery promise: ships by {}, delivered by <strong>{}</strong> "
        "({} transit day(s), {}).</p>",
        table,
        format_money(order.subtotal, order.currency),
        format_money(order.shipping_total, order.currency),
        format_money(order.tax_total, order.currency),
        format_money(order.grand_total, order.currency),
        preview.ship_by_date,
        preview.delivery_date,
        preview.transit_days,
        order.shipping_method.name,
    )


def draft_stock_html(order: Order, stock: DraftStock) -> SafeString:
    """A draft's lines with live availability and its own reservation."""
    availability = stock.availability
    table = render_table(
        (
            "Line",
            "SKU",
            "Description",
            "Quantity",
            "Unit price",
            "Reserved for this draft",
            "Available",
            "Per location",
            "Stock",
        ),
        (
            (
                line.line_number,
                line.sku,
                line.description,
                line.quantity_ordered,
                format_money(line.unit_price, order.currency),
                stock.reserved.get(line.sku, 0),
                f"{availability[line.sku].available} ({availability[line.sku].source})",
                availability[line.sku].locations,
                availability[line.sku].status,
            )
            for line in stock.lines
        ),
    )
    note = (
        format_html("<p>Stock reserved until {}.</p>", short_datetime(stock.reserved_until))
        if stock.reserved_until
        else format_html("<p>{}</p>", "No stock reserved: availability is checked on submit.")
    )
    return format_html("{}{}", table, note)


def draft_lines_table(order: Order) -> SafeString:
    """A draft's lines with live availability and its own reservation (four queries)."""
    return draft_stock_html(order, get_draft_stock(order))


def lines_summary(order: Order, *, with_lines: bool = True) -> SafeString:
    """The order (and its line buckets), on top of a cancel or edit page."""
    rows = order.lines.order_by("line_number") if with_lines else []
    table = render_table(
        (
            "Line",
            "SKU",
            "Description",
            "Unit price",
            "Ordered",
            "Cancelled",
            "Allocated",
            "Shipped",
            "Line total",
        ),
        (
            (
                li.line_number,
                li.sku,
                li.description,
                format_money(li.unit_price, order.currency),
                li.quantity_ordered,
                li.quantity_cancelled,
                li.quantity_allocated,
                li.quantity_shipped,
                format_money(li.live_total, order.currency),
            )
            for li in rows
        ),
    )
    return format_html(
        "<p>Order <strong>{}</strong> of {} — {}, {}; total {}; ships to {} by {}.</p>{}",
        order.number,
        order.customer,
        order.get_status_display(),
        order.get_fulfillment_status_display(),
        format_money(order.grand_total, order.currency),
        order.ship_to_one_line,
        order.shipping_method,
        table if with_lines else "",
    )


def holds_summary(order: Order) -> SafeString:
    """The order and its open holds, on top of a hold page."""
    holds = render_table(
        ("Hold", "Reason", "Placed", "By"),
        (
            (h.get_kind_display(), h.reason, short_datetime(h.placed_at), h.placed_by_label)
            for h in list_open_holds(order)
        ),
    )
    return format_html(
        "<p>Order <strong>{}</strong> of {} — {}, {}.</p><h3>Open holds</h3>{}",
        order.number,
        order.customer,
        order.get_status_display(),
        order.get_fulfillment_status_display(),
        holds,
    )


def cancellation_message(order: Order, cancelled_before: dict[int, int]) -> str:
    """What a cancellation did, read back from the lines: the whole order, or which
    units of which lines (also when "cancel everything" left shipped units)."""
    if order.status == OrderStatus.CANCELLED:
        return f"{order.number}: cancelled."
    units = [
        f"line {line.line_number} ({line.sku}) × {cancelled}"
        for line in order.lines.order_by("line_number")
        if (cancelled := line.quantity_cancelled - cancelled_before.get(line.line_number, 0))
    ]
    what = ", ".join(units) if units else "nothing was left to cancel"
    total = format_money(order.grand_total, order.currency)
    return f"{order.number}: cancelled {what}; new total {total}."


def notifications_table(order: Order, *, can_resend: bool = False) -> SafeString:
    """Every message about the order, newest first, with its channel, recipient and
    status; a resend names the message it repeats and the agent who asked, and, for a
    viewer who ``can_resend``, a message that can be sent again links to its resend page
    (one query)."""
    return render_table(
        ("Created", "Event", "Channel", "Recipient", "Subject", "Status", "Sent", "Note", ""),
        (
            (
                short_datetime(n.created_at),
                n.event,
                n.get_channel_display(),
                n.recipient,
                n.subject,
                n.get_status_display(),
                short_datetime(n.sent_at),
                _notification_note(n),
                (
                    format_html(
                        '<a href="{}">Resend…</a>',
                        reverse("admin:orders_notification_resend", args=[n.pk]),
                    )
                    if can_resend and may_resend(n)
                    else ""
                ),
            )
            for n in list_order_notifications(order, limit=NOTIFICATION_ROWS)
        ),
    )


def _notification_note(n: Notification) -> str:
    if n.resend_of_id:
        by = n.requested_by.get_username() if n.requested_by else "an agent"
        return f"Resend of #{n.resend_of_id}, asked by {by}"
    return n.error
