"""E-mails that a payment failed: the customer is asked for another card, once per attempt.

Sent through the order's notification log (``orders.notifications``): the claim on
``order:<order id>:payment_failed:<transaction id>:email`` makes a second run send
nothing, and a failed send is retried by the task that called it.
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

from .models import PaymentTransaction, TransactionKind

logger = logging.getLogger(__name__)

PAYMENT_FAILED = "payment_failed"

_DECLINE_WORDS = {
    "insufficient_funds": "insufficient funds",
    "generic_decline": "declined by your bank",
    "authentication_required": "your bank asked for authentication",
}


def email_payment_failed(tx: PaymentTransaction) -> Notification | None:
    """Tell the order's e-mail that ``tx`` (a failed authorisation or capture) could
    not take the money, once; None when already sent."""
    payment = tx.payment
    order = payment.order
    subject = f"Payment needed for order {order.number}"
    claim = claim_notification(
        f"order:{order.pk}:{PAYMENT_FAILED}:{tx.pk}:email",
        channel="email",
        event=PAYMENT_FAILED,
        recipient=order.email,
        subject=subject,
        order=order,
    )
    if claim is None:
        return None
    decline = str((tx.raw_response.get("error") or {}).get("decline_code") or "")
    context = {
        "order": order,
        "what": "charge" if tx.kind == TransactionKind.CAPTURE else "authorise",
        "amount": tx.amount,
        "currency": payment.currency,
        "reason": (
            "the authorisation expired"
            if tx.error_code == "authorisation_expired"
            else _DECLINE_WORDS.get(decline, "")
        ),
        "seller": settings.OMS_LEGAL_NAME,
    }
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string("billing/payment_failed.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[order.email],
    )
    message.attach_alternative(
        render_to_string("billing/payment_failed.html", context), "text/html"
    )
    try:
        message.send()
    except Exception as exc:  # a soft time limit interrupting the send included
        mark_failed(claim, exc)
        raise
    with transaction.atomic():
        if not mark_sent(claim):
            logger.warning("order %s: payment e-mail sent after its claim was taken over", order)
            return None
        record_order_event(
            order=order,
            type=OrderEventType.NOTIFICATION_SENT,
            actor=Actor.system("notifications"),
            message=f"E-mail sent to {order.email}: {subject}",
            payload={
                "event": PAYMENT_FAILED,
                "channel": "email",
                "notification_id": claim.pk,
                "payment_transaction_id": tx.pk,
            },
        )
    claim.refresh_from_db()
    return claim
