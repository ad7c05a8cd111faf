"""Invoice and credit note PDFs (WeasyPrint): our legal details, the bill-to, the lines,
the totals, the due date and a QR code with the payment reference.

A document's PDF is rendered after it is issued (``billing.render_invoice_pdf``, from
the ``invoice.issued`` event), so a rendering failure never stops an invoice; it is
stored once, in the ``pdf`` file field (under ``MEDIA_ROOT``), and served from there.
"""

from __future__ import annotations

import logging
from decimal import Decimal

from django.core.files.base import ContentFile
from django.db.models import Model
from django.template.loader import render_to_string

from fulfillment.documents import qr_svg

from .models import CreditNote, Invoice
from .selectors import get_credit_note, get_invoice

logger = logging.getLogger(__name__)


def payment_qr_payload(reference: str, amount: Decimal, currency: str) -> str:
    """What the payment QR code says: the reference to quote and the amount to pay."""
    return f"{reference} {amount} {currency}"


def _pdf(template: str, context: dict[str, object]) -> bytes:
    # Loaded on the first PDF, not at start-up: WeasyPrint pulls in Pango and its fonts,
    # which every web process and worker would otherwise load for nothing.
    from weasyprint import HTML  # noqa: PLC0415 - heavy native library, loaded when used

    return HTML(string=render_to_string(template, context)).write_pdf()


def invoice_pdf(invoice: Invoice) -> bytes:
    invoice = get_invoice(invoice.pk)
    payload = payment_qr_payload(invoice.payment_reference, invoice.grand_total, invoice.currency)
    return _pdf(
        "billing/invoice.html",
        {
            "invoice": invoice,
            "lines": list(invoice.lines.all()),
            "qr": qr_svg(payload),
            "qr_text": payload,
        },
    )


def credit_note_pdf(credit_note: CreditNote) -> bytes:
    credit_note = get_credit_note(credit_note.pk)
    return _pdf(
        "billing/credit_note.html",
        {
            "credit_note": credit_note,
            "invoice": credit_note.invoice,
            "lines": list(credit_note.lines.all()),
            "qr": qr_svg(credit_note.number),
        },
    )


def _store(document: Invoice | CreditNote, content: bytes) -> bool:
    """Save ``content`` as the document's PDF unless it has one; False if another
    attempt stored it first (this attempt's file is removed)."""
    field = document.pdf
    name = field.field.generate_filename(document, f"{document.number}.pdf")
    saved = field.storage.save(name, ContentFile(content))
    model: type[Model] = type(document)
    stored = model._default_manager.filter(pk=document.pk, pdf="").update(pdf=saved)
    if not stored:
        field.storage.delete(saved)
        return False
    document.pdf.name = saved
    return True


def store_invoice_pdf(invoice_id: int) -> Invoice:
    """Render and store the invoice's PDF, once; a stored PDF is kept as it is."""
    invoice = Invoice.objects.get(pk=invoice_id)
    if not invoice.pdf:
        _store(invoice, invoice_pdf(invoice))
        invoice.refresh_from_db(fields=["pdf"])
    return invoice


def store_credit_note_pdf(credit_note_id: int) -> CreditNote:
    credit_note = CreditNote.objects.get(pk=credit_note_id)
    if not credit_note.pdf:
        _store(credit_note, credit_note_pdf(credit_note))
        credit_note.refresh_from_db(fields=["pdf"])
    return credit_note
