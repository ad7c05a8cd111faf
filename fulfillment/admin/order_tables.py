"""The order page's fulfillment panels: its fulfillment orders, shipments and routing
decisions (``order_console`` adds them to the order page). Rendering only; the reads are
``fulfillment.selectors``."""

from __future__ import annotations

from typing import Any

from django.urls import NoReverseMatch
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from core.admin import admin_change_url, render_table, short_datetime
from core.preferences import format_date
from orders.models import Order

from ..models import Shipment, TrackingEvent
from ..selectors import list_order_fulfillment_orders, list_order_shipments, list_routing_decisions

# What an order's page shows of its fulfillment, newest first; each is one query (two
# with its prefetch), whatever the counts.
FULFILLMENT_ORDER_ROWS = 50
SHIPMENT_ROWS = 50
TRACKING_EVENTS_PER_SHIPMENT = 10
ROUTING_DECISIONS = 5  # the latest in full, the ones before it collapsed


def _link_or_text(obj: Any, text: str) -> SafeString:
    """A link to ``obj``'s admin page when its model has one, else the text."""
    try:
        return format_html('<a href="{}">{}</a>', admin_change_url(obj), text)
    except NoReverseMatch:
        return format_html("{}", text)


def fulfillment_orders_table(order: Order) -> SafeString:
    fos = list_order_fulfillment_orders(order, limit=FULFILLMENT_ORDER_ROWS)
    return render_table(
        ("Number", "Location", "Status", "Request", "Ship by", "Lines"),
        (
            (
                _link_or_text(fo, fo.number),
                fo.location.code,
                fo.get_status_display() + (f" ({fo.hold_reason})" if fo.hold_reason else ""),
                fo.get_request_status_display(),
                format_date(fo.ship_by_date),
                format_html_join(
                    "",
                    "<div>{} × {} (shipped {}, cancelled {}, rejected {})</div>",
                    (
                        (
                            li.order_line.sku,
                            li.quantity,
                            li.quantity_shipped,
                            li.quantity_cancelled,
                            li.quantity_rejected,
                        )
                        for li in fo.lines.all()
                    ),
                ),
            )
            for fo in fos
        ),
    )


def _tracking(shipment: Shipment) -> SafeString:
    url = shipment.tracking_url
    if url and shipment.tracking_number:
        return format_html(
            '<a href="{}" target="_blank" rel="noopener noreferrer">{}</a>',
            url,
            shipment.tracking_number,
        )
    return format_html("{}", shipment.tracking_number or "-")


def _events(shipment: Shipment) -> SafeString:
    recent: list[TrackingEvent] = getattr(shipment, "recent_events", [])
    if not recent:
        return format_html("{}", "-")
    return format_html_join(
        "",
        "<div>{} · {}{}{}</div>",
        (
            (
                short_datetime(event.occurred_at),
                event.get_status_display(),
                f" — {event.description}" if event.description else "",
                f" ({event.location})" if event.location else "",
            )
            for event in recent
        ),
    )


def shipments_table(order: Order) -> SafeString:
    shipments = list_order_shipments(
        order, limit=SHIPMENT_ROWS, events_per_shipment=TRACKING_EVENTS_PER_SHIPMENT
    )
    return render_table(
        (
            "Fulfillment order",
            "Carrier",
            "Service",
            "Tracking number",
            "Status",
            "Shipped",
            "Delivered",
            "Tracking events (latest first)",
        ),
        (
            (
                s.fulfillment_order.number,
                s.carrier.name if s.carrier else "-",
                s.get_service_level_display(),
                _tracking(s),
                s.get_status_display(),
                short_datetime(s.shipped_at),
                short_datetime(s.delivered_at),
                _events(s),
            )
            for s in shipments
        ),
    )


def _trace_table(trace: Any) -> SafeString:
    steps = [step for step in trace if isinstance(step, dict)] if isinstance(trace, list) else []
    return render_table(
        ("Step", "Location / line", "Result", "Reason"),
        (
            (
                step.get("step", ""),
                step.get("location")
                or " ".join(
                    str(part)
                    for part in (
                        f"line {step['line']}" if step.get("line") else "",
                        step.get("sku", ""),
                    )
                    if part
                ),
                step.get("result", ""),
                step.get("reason", ""),
            )
            for step in steps
        ),
    )


def routing_trace(order: Order) -> SafeString:
    """The latest routing decision's trace in full; earlier decisions collapsed."""
    decisions = list_routing_decisions(order, limit=ROUTING_DECISIONS)
    if not decisions:
        return format_html("<p>{}</p>", "Not routed yet.")
    latest, earlier = decisions[0], decisions[1:]
    head = format_html(
        "<p><strong>{}</strong> — {}: {}</p>{}",
        short_datetime(latest.created_at),
        latest.outcome,
        latest.summary,
        _trace_table(latest.trace),
    )
    older = format_html_join(
        "",
        "<details><summary>{} — {}: {}</summary>{}</details>",
        (
            (short_datetime(d.created_at), d.outcome, d.summary, _trace_table(d.trace))
            for d in earlier
        ),
    )
    return format_html("{}{}", head, older)
