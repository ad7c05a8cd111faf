"""What a return's resolution produced, in words for the return's and the order's pages:
the replacement order and the refunds with their credit notes."""

from __future__ import annotations

from django.utils.html import format_html
from django.utils.safestring import SafeString

from core.admin import admin_change_url
from core.money import format_money

from ..models import Resolution, ReturnRequest


def replacement_summary(rma: ReturnRequest) -> str | SafeString:
    """The exchange's replacement order (a link), what it holds, and whether it waits."""
    if rma.resolution != Resolution.EXCHANGE:
        return "—"
    asked = ", ".join(f"{line.sku} × {line.quantity}" for line in rma.exchange_lines.all())
    order = rma.exchange_order
    if order is None:
        return f"{asked}: placed when the return is approved."
    return format_html(
        '<a href="{}">{}</a> ({}), at no charge', admin_change_url(order), order.number, asked
    )


def refund_summary(rma: ReturnRequest) -> str:
    """Each refund: its amount, the restocking fee kept, its credit notes, its status."""
    parts = []
    currency = rma.order.currency
    for made in rma.refunds.all():
        notes = ", ".join(note.number for note in made.refund.credit_notes.all())
        text = f"{format_money(made.amount, currency)} ({made.refund.get_status_display()})"
        if made.restocking_fee:
            text += f", restocking fee {format_money(made.restocking_fee, currency)} kept"
        parts.append(f"{text}, credit note {notes}")
    return "; ".join(parts) or "Nothing refunded yet."
