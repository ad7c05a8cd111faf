"""Invoice PDFs (number, totals, due date, a QR code with the payment reference),
stored once and e-mailed once."""

import datetime as dt
import shutil
import subprocess
from decimal import Decimal

import pytest
from celery.exceptions import Retry
from django.core import mail

from billing.credit_notes import issue_credit_note
from billing.documents import (
    invoice_pdf,
    payment_qr_payload,
    store_credit_note_pdf,
    store_invoice_pdf,
)
from billing.invoicing import invoice_shipment
from billing.models import CreditReason, Invoice
from billing.tasks import render_invoice_pdf
from core.actors import Actor
from core.models import OutboxEvent
from orders.models import Notification, NotificationStatus, OrderEvent, OrderEventType
from tests.billing.conftest import company_buyer, make_products, place_routed, ship

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 9, 30)
NEEDS_POPPLER = pytest.mark.skipif(
    not shutil.which("pdftotext") or not shutil.which("pdftoppm"),
    reason="needs poppler-utils (installed by CI)",
)


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def invoice(shop):
    """A Net 30 company's invoice: 3 at $129.00 and 1 at $5.25, due 30 days on."""
    a, b = make_products(shop, [Decimal("129.00"), Decimal("5.25")])
    _, fo = place_routed([(a, 3), (b, 1)], customer=company_buyer("net30"), po_number="PO-77")
    return invoice_shipment(ship(fo).pk, issue_date=DAY)


def pdf_text(pdf: bytes, tmp_path) -> str:
    path = tmp_path / "document.pdf"
    path.write_bytes(pdf)
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


@NEEDS_POPPLER
def test_the_pdf_holds_the_number_the_totals_and_the_due_date(invoice, tmp_path):
    text = pdf_text(invoice_pdf(invoice), tmp_path)

    assert invoice.number in text
    assert "Due date: 2026-10-30" in text
    assert f"${invoice.grand_total:,}" in text
    assert f"${invoice.subtotal:,}" in text
    assert f"${invoice.tax_total:,}" in text
    assert invoice.seller["legal_name"] in text
    assert invoice.bill_to["name"] in text
    assert "PO-77" in text


@NEEDS_POPPLER
@pytest.mark.skipif(not shutil.which("zbarimg"), reason="needs zbar-tools (installed by CI)")
def test_the_qr_code_decodes_to_the_payment_reference_and_amount(invoice, tmp_path):
    path = tmp_path / "invoice.pdf"
    path.write_bytes(invoice_pdf(invoice))
    subprocess.run(["pdftoppm", "-png", "-r", "200", str(path), str(tmp_path / "page")], check=True)
    page = sorted(tmp_path.glob("page*.png"))[0]

    found = subprocess.run(
        ["zbarimg", "--quiet", "--raw", str(page)], capture_output=True, text=True, check=False
    ).stdout.strip()

    assert found == payment_qr_payload(invoice.number, invoice.grand_total, "USD")
    assert found == f"{invoice.number} {invoice.grand_total} USD"


def test_the_pdf_is_stored_once(invoice, media):
    first = store_invoice_pdf(invoice.pk)
    again = store_invoice_pdf(invoice.pk)

    assert first.pdf.name == again.pdf.name == f"invoices/2026/{invoice.number}.pdf"
    assert (media / first.pdf.name).read_bytes().startswith(b"%PDF")
    assert len(list((media / "invoices" / "2026").iterdir())) == 1


def test_the_invoice_is_e_mailed_once_with_its_pdf(invoice, django_capture_on_commit_callbacks):
    event = OutboxEvent.objects.get(topic="invoice.issued", payload__invoice_id=invoice.pk)
    mail.outbox.clear()

    render_invoice_pdf.apply(args=[[event.pk]], throw=True)
    render_invoice_pdf.apply(args=[[event.pk]], throw=True)

    assert len(mail.outbox) == 1
    [message] = mail.outbox
    assert message.to == [invoice.order.email]
    assert invoice.number in message.subject
    [(name, content, mimetype)] = message.attachments
    assert (name, mimetype) == (f"{invoice.number}.pdf", "application/pdf")
    assert content.startswith(b"%PDF")
    [sent] = Notification.objects.filter(event="invoice_issued")
    assert (sent.status, sent.order_id) == (NotificationStatus.SENT, invoice.order_id)
    assert OrderEvent.objects.filter(
        order=invoice.order, type=OrderEventType.NOTIFICATION_SENT, payload__invoice_id=invoice.pk
    ).exists()
    assert Invoice.objects.get(pk=invoice.pk).pdf


def test_a_failed_send_is_retried_and_then_sent_once(invoice, settings):
    event = OutboxEvent.objects.get(topic="invoice.issued", payload__invoice_id=invoice.pk)
    settings.EMAIL_BACKEND = "tests.billing.test_billing_documents.RefusingMailServer"

    with pytest.raises(Retry):
        render_invoice_pdf.apply(args=[[event.pk]], throw=True)

    assert Notification.objects.get(event="invoice_issued").status == NotificationStatus.FAILED
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    mail.outbox.clear()
    render_invoice_pdf.apply(args=[[event.pk]], throw=True)
    render_invoice_pdf.apply(args=[[event.pk]], throw=True)
    assert len(mail.outbox) == 1


class RefusingMailServer:
    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise ConnectionRefusedError("mail server refused the connection")


def test_a_credit_note_pdf_is_stored(invoice, media, tmp_path):
    note = issue_credit_note(
        invoice_id=invoice.pk,
        amount=Decimal("25.00"),
        reason=CreditReason.PRICE_ADJUSTMENT,
        actor=Actor.system("test"),
        issue_date=DAY,
    )

    stored = store_credit_note_pdf(note.pk)

    content = (media / stored.pdf.name).read_bytes()
    if shutil.which("pdftotext"):
        text = pdf_text(content, tmp_path)
        assert note.number in text
        assert invoice.number in text
        assert "$25.00" in text
