"""Invoices by e-mail: the PDF to whoever is billed, exactly once per invoice.

Sent through the order's notification log (``orders.notifications``): the claim on
``invoice:<id>:invoice_issued:email`` makes a second run send nothing, a failed send
is retried, and a claim left by a worker that died is taken over once stale.
"""

import logging

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string

from core.actors import Actor
from orders.events import record_order_event
from orders.models import Notification, OrderEventType
from orders.notifications import claim_notification, mark_failed, mark_sent

from .models import Invoice
from .selectors import get_invoice

logger = logging.getLogger(__name__)

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
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string("billing/email/invoice_issued.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[recipient],
    )
    message.attach_alternative(
        render_to_string("billing/email/invoice_issued.html", context), "text/html"
    )
    with invoice.pdf.open("rb") as pdf:
        message.attach(f"{invoice.number}.pdf", pdf.read(), "application/pdf")
    try:
        message.send()
    except Exception as exc:  # a soft time limit interrupting the send included
        mark_failed(claim, exc)
        raise
    with transaction.atomic():
        if not mark_sent(claim):
            logger.warning("invoice %s: e-mail sent after its claim was taken over", invoice)
            return None
        record_order_event(
            order=invoice.order,
            type=OrderEventType.NOTIFICATION_SENT,
            actor=Actor.system("notifications"),
            message=f"E-mail sent to {recipient}: {subject}",
            payload={
                "event": INVOICE_ISSUED,
                "channel": "email",
                "notification_id": claim.pk,
                "invoice_id": invoice.pk,
            },
        )
    claim.refresh_from_db()
    return claim
