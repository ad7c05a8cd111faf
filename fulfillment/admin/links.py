"""Links shared by the fulfillment pages."""

from __future__ import annotations

from typing import Any

from django.utils.html import format_html

from core.admin import admin_change_url

from ..models import Shipment


def link_to(obj: Any, label: str | None = None) -> str:
    """A link to ``obj``'s console page, or "-" when there is none."""
    if obj is None:
        return "-"
    return format_html('<a href="{}">{}</a>', admin_change_url(obj), label or str(obj))


def tracking_link(shipment: Shipment) -> str:
    """The tracking number, linked to the carrier's tracking page when it has one."""
    if not shipment.tracking_number:
        return "-"
    url = shipment.tracking_url
    if not url:
        return shipment.tracking_number
    return format_html(
        '<a href="{}" target="_blank" rel="noopener noreferrer">{}</a>',
        url,
        shipment.tracking_number,
    )
