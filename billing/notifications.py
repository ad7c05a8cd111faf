"""Invoices by e-mail: the PDF to whoever is billed, exactly once per invoice.

Sent through the order's notification log (``orders.notifications``): the claim on
``invoice:<id>:invoice_issued:email`` makes a second run send nothing, a failed send
is retried, and a claim left by a worker that died is taken over once stale.
"""

from orders.models import Notification
from orders.notifications import Attachment, claim_notification, send_order_email

from .models import Invoice
from .selectors import get_invoice

INVOICE_ISSUED = "invoice_issued"


def invoice_recipient(invoice: Invoice) -> str:
    """Where an invoice goes: the order's e-mail, that of the buyer who placed it
    (customers has no billing contact of a company yet)."""
    return invoice.order.email


def email_invoice(invoice_id: int) -> Notification | None:
    """E-mail invoice ``invoice_id`` with its PDF attached, once. The PDF must be
    stored (``billing.documents.store_invoice_pdf``); None when already sent."""
    invoice = get_invoice(invoice_id)
    if not invoice.pdf:
        raise ValueError(f"{invoice}: its PDF is not stored yet")
    recipient = invoice_recipient(invoice)
    subject = f"Invoice {invoice.number} for order {invoice.order.number}"
    claim = claim_notification(
        f"invoice:{invoice.pk}:{INVOICE_ISSUED}:email",
        channel="email",
        event=INVOICE_ISSUED,
        recipient=recipient,
        subject=subject,
        order=invoice.order,
    )
    if claim is None:
        return None
    context = {"invoice": invoice, "order": invoice.order}
    with invoice.pdf.open("rb") as pdf:
        attachment = Attachment(f"{invoice.number}.pdf", pdf.read(), "application/pdf")
    return send_order_email(
        claim,
        order=invoice.order,
        template="billing/email/invoice_issued",
        context=context,
        attachments=[attachment],
        payload={"invoice_id": invoice.pk},
    )
