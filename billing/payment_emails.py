"""E-mails that a payment failed: the customer is asked for another card, once per attempt.

Sent through the order's notification log (``orders.notifications``): the claim on
``order:<order id>:payment_failed:<transaction id>:email`` makes a second run send
nothing, and a failed send is retried by the task that called it.
"""

from django.conf import settings

from orders.models import Notification
from orders.notifications import claim_notification, send_order_email

from .models import PaymentTransaction, TransactionKind

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
    return send_order_email(
        claim,
        order=order,
        template="billing/payment_failed",
        context=context,
        payload={"payment_transaction_id": tx.pk},
    )
