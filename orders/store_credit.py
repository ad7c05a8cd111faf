"""Orders paid with store credit: the order's side of the customer's balance.

Placement spends the order's total from the customer's store credit in its own
transaction (``orders.placement``). Afterwards the rule is one sentence: what the
order holds of the customer's credit (spent less given back) equals its live total.
Every change that recomputes the total (a cancellation, an edit of quantities, lines,
address or shipping method, a store's rejection of pickup units) calls
``settle_store_credit`` under the order's row lock, which spends the difference or
gives it back. Refunds of invoiced money (billing) are separate ledger entries
(``refund``) and do not count against that rule.

The customer's account row is the last lock these workflows take (after the order,
network and stock rows), as in placement.
"""

from decimal import Decimal

from django.db.models import OuterRef, Subquery, Sum

from core.actors import Actor
from core.integrity import Violation
from core.money import format_money
from customers.store_credit import (
    InsufficientStoreCredit,
    OrderStoreCredit,
    get_order_store_credit,
    get_store_credit_balance,
    return_store_credit,
    spend_store_credit,
)
from customers.store_credit_models import StoreCreditEntry, StoreCreditKind

from .events import record_order_event
from .models import Order, OrderEventType, PaymentMethod, PaymentStatus
from .services import record_payment_status


def store_credit_payment_status(credit: OrderStoreCredit) -> str:
    """The payment status of an order paid with store credit: captured once spent
    (nothing is authorised first), then partially refunded or refunded as money goes
    back to the balance (cancellations, edits down, refunds)."""
    back = credit.given_back + credit.refunded
    if credit.spent > 0 and back >= credit.spent:
        return PaymentStatus.REFUNDED
    if back > 0:
        return PaymentStatus.PARTIALLY_REFUNDED
    return PaymentStatus.CAPTURED


def record_store_credit_status(order: Order, *, actor: Actor, detail: str = "") -> None:
    """Derive the order's payment status from the ledger and record it (the order's
    row lock is held by the caller)."""
    credit = get_order_store_credit(order.number)
    status = store_credit_payment_status(credit)
    if record_payment_status(order.pk, status, actor=actor, detail=detail):
        order.payment_status = status


def settle_store_credit(order: Order, *, actor: Actor) -> Decimal:
    """Bring what a store-credit order holds of the customer's credit to its live
    total: spend the difference when the total went up, give it back when it went down.
    Returns the change of the balance (negative: spent). Does nothing for other orders,
    nor for drafts (they spend when submitted).

    Raises ``InsufficientStoreCredit`` (422) when the balance does not cover a higher
    total: the caller's transaction, the whole edit, rolls back."""
    if order.payment_method != PaymentMethod.STORE_CREDIT or order.placed_at is None:
        return Decimal("0")  # not paid with store credit, or a draft: nothing spent yet
    held = get_order_store_credit(order.number).net_spent
    difference = order.grand_total - held
    if difference == 0:
        return difference
    money = format_money(abs(difference), order.currency)
    if difference > 0:
        try:
            spend_store_credit(
                customer_id=order.customer_id,
                amount=difference,
                currency=order.currency,
                order_number=order.number,
                actor=actor,
                reason="order total raised",
            )
        except InsufficientStoreCredit as exc:
            balance, _ = get_store_credit_balance(order.customer_id)
            raise InsufficientStoreCredit(
                f"This change raises order {order.number}'s total by {money}, more than the "
                f"customer's store credit balance of {format_money(balance, order.currency)}: "
                "nothing was changed.",
                balance=str(balance),
                amount=str(difference),
            ) from exc
        message = f"{money} more spent from store credit (the total went up)"
    else:
        return_store_credit(
            customer_id=order.customer_id,
            amount=-difference,
            currency=order.currency,
            order_number=order.number,
            actor=actor,
            reason="order total lowered",
        )
        message = f"{money} given back to store credit"
    record_order_event(
        order=order,
        type=OrderEventType.NOTE,
        actor=actor,
        message=message,
        payload={"store_credit": str(-difference), "grand_total": str(order.grand_total)},
    )
    record_store_credit_status(order, actor=actor)
    return -difference


def store_credit_order_mismatches() -> list[Violation]:
    """Placed store-credit orders whose share of the customer's credit (spent less
    given back) is not their live total (run by ``check_integrity``)."""
    entries = StoreCreditEntry.objects.filter(
        order_number=OuterRef("number"),
        kind__in=(StoreCreditKind.SPENT, StoreCreditKind.GIVEN_BACK),
    ).order_by()
    orders = (
        Order.objects.filter(payment_method=PaymentMethod.STORE_CREDIT, placed_at__isnull=False)
        .annotate(
            net=Subquery(entries.values("order_number").annotate(t=Sum("amount")).values("t")[:1])
        )
        .values_list("number", "grand_total", "net")
    )
    found = []
    for number, total, net in orders:
        held = -(net or Decimal("0"))
        if held != total:
            found.append(
                Violation(
                    "store_credit_order",
                    number,
                    f"the total is {total}, the store credit it holds is {held}",
                )
            )
    return found
