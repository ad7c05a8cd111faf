"""Printable documents: packing slips and pick lists as PDF (WeasyPrint), each with the
order number as a Code128 barcode and a QR code so a scanner can open the order."""

from __future__ import annotations

import base64
from dataclasses import dataclass, replace
from io import BytesIO

import barcode
import segno
from barcode.writer import SVGWriter
from django.template.loader import render_to_string
from django.utils import timezone

from inventory.models import Location, StockLevel

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


@dataclass(frozen=True)
class PickRow:
    """One SKU to pick from one bin: for one fulfillment order, or the location's total."""

    sku: str
    description: str
    bin_location: str
    quantity: int


def bin_order(bin_location: str, sku: str) -> tuple[bool, str, str]:
    """Walk order: by bin, then SKU; SKUs without a bin come last."""
    return (not bin_location, bin_location, sku)


def pick_list_context(location: Location, *, limit: int = 200) -> dict[str, object]:
    """What the pick list shows: the location's totals per SKU in bin order, then one
    block per fulfillment order (by ship-by date) with its lines in bin order."""
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
    open_lines = {fo.pk: [line for line in fo.lines.all() if line.quantity_open] for fo in fos}
    product_ids = {line.order_line.product_id for lines in open_lines.values() for line in lines}
    bins = dict(
        StockLevel.objects.filter(location=location, product_id__in=product_ids).values_list(
            "product_id", "bin_location"
        )
    )
    blocks = []
    totals: dict[str, PickRow] = {}
    for fo in fos:
        rows = []
        for line in open_lines[fo.pk]:
            order_line = line.order_line
            row = PickRow(
                sku=order_line.sku,
                description=order_line.description,
                bin_location=bins.get(order_line.product_id, ""),
                quantity=line.quantity_open,
            )
            rows.append(row)
            total = totals.get(row.sku)
            totals[row.sku] = replace(
                total or row, quantity=row.quantity + (total.quantity if total else 0)
            )
        if rows:
            rows.sort(key=lambda r: bin_order(r.bin_location, r.sku))
            blocks.append({"fo": fo, "lines": rows, "barcode_value": fo.order.number})
    return {
        "location": location,
        "blocks": blocks,
        "totals": sorted(totals.values(), key=lambda r: bin_order(r.bin_location, r.sku)),
        "printed_at": timezone.now(),
    }


def pick_list_pdf(location: Location, *, limit: int = 200) -> bytes:
    """Everything open at a location, by ship-by date, one block per fulfillment order,
    each block's lines and the totals in the order of the bins."""
    context = pick_list_context(location, limit=limit)
    for block in context["blocks"]:  # type: ignore[attr-defined]
        block["barcode"] = code128_svg(block["barcode_value"])
    return _pdf("fulfillment/pick_list.html", context)
