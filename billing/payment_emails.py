"""Messages that a payment failed: the customer is asked for another card, once per
attempt and recipient.

Delivered through the order's notification log (``orders.notifications``): each copy is
claimed on ``order:<order id>:payment_failed:<transaction id>:<channel>:<recipient>``,
so a second run sends nothing, and a failed send is retried by the task that called it.
"""

from django.conf import settings

from customers.models import NotificationEvent
from orders.models import Notification
from orders.notifications import OrderMessage, deliver_order_message, list_recipients

from .models import PaymentTransaction, TransactionKind

PAYMENT_FAILED = NotificationEvent.PAYMENT_FAILED.value

_DECLINE_WORDS = {
    "insufficient_funds": "insufficient funds",
    "generic_decline": "declined by your bank",
    "authentication_required": "your bank asked for authentication",
}


def build_payment_failed_message(tx_id: int) -> tuple[str, OrderMessage]:
    """The message that the failed transaction ``tx_id`` could not take the money, and
    its dedupe key."""
    tx = PaymentTransaction.objects.select_related(
        "payment__order__customer", "payment__order__shipping_method"
    ).get(pk=tx_id)
    payment = tx.payment
    order = payment.order
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
    message = OrderMessage(
        kind=PAYMENT_FAILED,
        event=PAYMENT_FAILED,
        subject=f"Payment needed for order {order.number}",
        template="billing/payment_failed",
        context=context,
        params={"builder": "payment_failed", "payment_transaction_id": tx.pk},
        payload={"payment_transaction_id": tx.pk},
    )
    return f"order:{order.pk}:{PAYMENT_FAILED}:{tx.pk}", message


def email_payment_failed(tx: PaymentTransaction) -> Notification | None:
    """Tell the people of the order that ``tx`` (a failed authorisation or capture)
    could not take the money, once each; returns the e-mail to the order's address when
    this attempt sent it."""
    key, message = build_payment_failed_message(tx.pk)
    order = message.context["order"]
    sent = deliver_order_message(
        order=order,
        dedupe_key=key,
        message=message,
        recipients=list_recipients(order, kind=PAYMENT_FAILED),
    )
    return next((n for n in sent if n.channel == "email" and n.recipient == order.email), None)
