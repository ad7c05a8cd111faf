"""Invoices by e-mail: the PDF to whoever is billed, exactly once per invoice and
recipient.

Delivered through the order's notification log (``orders.notifications``): the order's
e-mail (and phone, by SMS, when the customer chose it) and the company's contacts for
invoices (accounts payable) each get one copy, claimed on
``invoice:<id>:invoice_issued:<channel>:<recipient>``, so a second run sends nothing, a
failed copy is retried, and a claim left by a worker that died is taken over once stale.
"""

from customers.models import NotificationEvent
from orders.models import Notification
from orders.notifications import (
    Attachment,
    OrderMessage,
    deliver_order_message,
    list_recipients,
)

from .models import Invoice
from .selectors import get_invoice

INVOICE_ISSUED = NotificationEvent.INVOICE_ISSUED.value


def invoice_recipient(invoice: Invoice) -> str:
    """Where an invoice goes first: the order's e-mail, that of the buyer who placed it
    (the company's contacts for invoices get copies)."""
    return invoice.order.email


def build_invoice_message(invoice_id: int) -> tuple[str, OrderMessage]:
    """The invoice's message, its PDF attached, and its dedupe key. The PDF must be
    stored (``billing.documents.store_invoice_pdf``)."""
    invoice = get_invoice(invoice_id)
    if not invoice.pdf:
        raise ValueError(f"{invoice}: its PDF is not stored yet")
    with invoice.pdf.open("rb") as pdf:
        attachment = Attachment(f"{invoice.number}.pdf", pdf.read(), "application/pdf")
    message = OrderMessage(
        kind=INVOICE_ISSUED,
        event=INVOICE_ISSUED,
        subject=f"Invoice {invoice.number} for order {invoice.order.number}",
        template="billing/email/invoice_issued",
        context={"invoice": invoice, "order": invoice.order},
        params={"builder": "invoice", "invoice_id": invoice.pk},
        attachments=[attachment],
        payload={"invoice_id": invoice.pk},
    )
    return f"invoice:{invoice.pk}:{INVOICE_ISSUED}", message


def email_invoice(invoice_id: int) -> Notification | None:
    """Send invoice ``invoice_id`` to everyone who gets invoices of its order, once each;
    returns the e-mail to the order's address when this attempt sent it."""
    key, message = build_invoice_message(invoice_id)
    order = message.context["order"]
    sent = deliver_order_message(
        order=order,
        dedupe_key=key,
        message=message,
        recipients=list_recipients(order, kind=INVOICE_ISSUED),
    )
    return next((n for n in sent if n.channel == "email" and n.recipient == order.email), None)
