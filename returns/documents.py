"""The return label: a PDF with the RMA number as a Code128 barcode and a QR code (the
receiving desk scans either), the destination's address and the lines sent back."""

from __future__ import annotations

from django.template.loader import render_to_string
from django.utils import timezone

from fulfillment.documents import code128_svg, qr_svg

from .models import ReturnRequest


def return_label_html(request: ReturnRequest) -> str:
    """The label as HTML, for the PDF: with the carrier's tracking number once set."""
    request = (
        ReturnRequest.objects.select_related("order", "destination", "carrier")
        .prefetch_related("lines__order_line", "lines__reason")
        .get(pk=request.pk)
    )
    return render_to_string(
        "returns/label.html",
        {
            "rma": request,
            "order": request.order,
            "destination": request.destination,
            "lines": list(request.lines.all()),
            "barcode": code128_svg(request.number),
            "qr": qr_svg(request.number),
            "printed_at": timezone.now(),
        },
    )


def return_label_pdf(request: ReturnRequest) -> bytes:
    html = return_label_html(request)
    # Loaded on the first PDF, not at start-up (see fulfillment.documents).
    from weasyprint import HTML  # noqa: PLC0415 - heavy native library, loaded when used

    return bytes(HTML(string=html).write_pdf())
