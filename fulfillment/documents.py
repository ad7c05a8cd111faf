"""Printable documents: packing slips and pick lists as PDF (WeasyPrint), each with the
order number as a Code128 barcode and a QR code so a scanner can open the order."""

from __future__ import annotations

import base64
from io import BytesIO

import barcode
import segno
from barcode.writer import SVGWriter
from django.template.loader import render_to_string
from django.utils import timezone

from inventory.models import Location

from .models import FulfillmentOrder, FulfillmentStatus


def _data_uri(svg: bytes) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg).decode()


def code128_svg(value: str) -> str:
    buffer = BytesIO()
    code = barcode.get("code128", value, writer=SVGWriter())
    code.write(
        buffer,
        options={
            "module_width": 0.35,
            "module_height": 14.0,
            "quiet_zone": 6.0,
            "write_text": False,
        },
    )
    return _data_uri(buffer.getvalue())


def qr_svg(value: str) -> str:
    buffer = BytesIO()
    segno.make_qr(value, error="m").save(buffer, kind="svg", scale=4, border=2)
    return _data_uri(buffer.getvalue())


def _pdf(template: str, context: dict[str, object]) -> bytes:
    # Loaded on the first PDF, not at start-up: WeasyPrint pulls in Pango and its fonts,
    # which every web process and worker would otherwise load for nothing.
    from weasyprint import HTML  # noqa: PLC0415 - heavy native library, loaded when used

    html = render_to_string(template, context)
    return HTML(string=html).write_pdf()


def packing_slip_pdf(fo: FulfillmentOrder) -> bytes:
    fo = (
        FulfillmentOrder.objects.select_related("order", "location", "order__shipping_method")
        .prefetch_related("lines__order_line")
        .get(pk=fo.pk)
    )
    order = fo.order
    lines = list(fo.lines.all())
    return _pdf(
        "fulfillment/packing_slip.html",
        {
            "fo": fo,
            "order": order,
            # What is still to pack; a reprint after the last parcel shows what shipped.
            "lines": [line for line in lines if line.quantity_open]
            or [line for line in lines if line.quantity_shipped],
            "barcode": code128_svg(order.number),
            "qr": qr_svg(order.number),
            "printed_at": timezone.now(),
        },
    )


def pick_list_pdf(location: Location, *, limit: int = 200) -> bytes:
    """Everything open at a location, by ship-by date, one block per fulfillment order."""
    fos = list(
        FulfillmentOrder.objects.filter(
            location=location,
            status__in=[FulfillmentStatus.OPEN, FulfillmentStatus.IN_PROGRESS],
            # Pickups marked ready are already picked and staged at the counter.
            ready_for_pickup_at__isnull=True,
        )
        .select_related("order")
        .prefetch_related("lines__order_line")
        .order_by("ship_by_date", "id")[:limit]
    )
    blocks = [
        {
            "fo": fo,
            "lines": [line for line in fo.lines.all() if line.quantity_open],
            "barcode": code128_svg(fo.order.number),
        }
        for fo in fos
    ]
    totals: dict[str, int] = {}
    for block in blocks:
        for line in block["lines"]:  # type: ignore[attr-defined]
            totals[line.order_line.sku] = totals.get(line.order_line.sku, 0) + line.quantity_open
    return _pdf(
        "fulfillment/pick_list.html",
        {
            "location": location,
            "blocks": [b for b in blocks if b["lines"]],
            "totals": sorted(totals.items()),
            "printed_at": timezone.now(),
        },
    )
