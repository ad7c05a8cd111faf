"""Settling an order's invoices with its total once it has ended (docs/billing.md,
"Settling an order").

Each shipment's invoice bills its lines and a cumulative share of the order-level
amounts (shipping, its tax, the discount), and the invoice that completes the order
takes the exact remainders. Two sequences leave no such invoice to close the books:

- **cancelling the unshipped units completes the order**: the shipments' invoices
  billed shares computed against the larger subtotal of their time, and there is no
  shipment left to bill the rest. The order gets a **closing invoice** (no shipment,
  no lines) for what is owed, captured like any card invoice before the rest of the
  authorisation is voided, or due on the order's terms.
- **the invoices hold more than the order's total** (an edit lowered it after an
  earlier invoice took its share, or a share was floored at zero): the difference is
  **credited** through the refund service (a credit note, and the money back to the
  card or off the receivable), once, keyed ``settle:<order id>``.

``settle_order`` runs after each step that can end the books: an invoice issued, a
capture made, an order cancelled or completed (the outbox consumers in
``billing.tasks``). It is idempotent: an order settled has nothing left to settle.
"""

from decimal import Decimal

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from core.actors import Actor
from core.money import format_money
from orders.models import Order, OrderLine, OrderStatus, PaymentMethod
from orders.services import order_for_update

from .allocation import ZERO, ClosingAmounts, Totals, settle
from .invoicing import create_invoice
from .models import CreditReason, Invoice, InvoiceLine, Refund
from .refunds import refund_order, refundable_amount

ACTOR = Actor.system("billing")


def settlement_key(order_id: int) -> str:
    return f"settle:{order_id}"


def settle_order(order_id: int) -> Invoice | Refund | None:
    """Bring an ended order's invoices to its total: the closing invoice issued, the
    credit refunded, or None when there is nothing (yet) to settle."""
    outcome = _settle(order_id)
    if not isinstance(outcome, Decimal):
        return outcome
    order = Order.objects.only("pk", "currency").get(pk=order_id)
    return refund_order(
        order_id=order_id,
        amount=outcome,
        reason=CreditReason.PRICE_ADJUSTMENT,
        note=(
            f"Order settled: its invoices billed {format_money(outcome, order.currency)} "
            "more than its total."
        ),
        actor=ACTOR,
        idempotency_key=settlement_key(order_id),
    )


@transaction.atomic
def _settle(order_id: int) -> Invoice | Decimal | None:
    order = order_for_update(order_id)
    if not _due_for_settling(order):
        return None
    outcome = _outcome(order)
    if isinstance(outcome, ClosingAmounts):
        return create_invoice(
            order, outcome, issue_date=timezone.localdate(), shipment=None, lines={}
        )
    if outcome is None or order.payment_method == PaymentMethod.STORE_CREDIT:
        # A store-credit balance was settled with the order's total at each change
        # (orders.store_credit): no money is owed back beyond it.
        return None
    if refundable_amount(order) < outcome:
        return None  # a capture is still to run: settled after it
    return outcome


def _due_for_settling(order: Order) -> bool:
    """Completed, not settled yet, and every live unit invoiced (else a shipment's
    invoice is still to come, and it takes the remainders)."""
    if order.status != OrderStatus.COMPLETED:
        return False
    if Invoice.objects.filter(order=order, shipment__isnull=True).exists():
        return False  # closed already
    if Refund.objects.filter(order=order, idempotency_key=settlement_key(order.pk)).exists():
        return False  # credited already
    invoiced_units = dict(
        InvoiceLine.objects.filter(invoice__order=order)
        .values("order_line_id")
        .annotate(units=Sum("quantity"))
        .values_list("order_line_id", "units")
    )
    return all(
        invoiced_units.get(line.pk, 0) >= line.quantity_live
        for line in OrderLine.objects.filter(order=order).only(
            "pk", "quantity_ordered", "quantity_cancelled"
        )
    )


def _outcome(order: Order) -> ClosingAmounts | Decimal | None:
    invoices = Invoice.objects.filter(order=order)
    sums = invoices.aggregate(
        subtotal=Sum("subtotal"),
        discount=Sum("discount_total"),
        shipping=Sum("shipping_total"),
        shipping_tax=Sum("shipping_tax"),
        tax=Sum("tax_total"),
    )
    if sums["subtotal"] is None:
        return None  # nothing invoiced: nothing to settle
    line_tax = OrderLine.objects.filter(order=order).aggregate(t=Sum("tax_total"))["t"] or ZERO
    return settle(
        Totals(
            subtotal=order.subtotal,
            discount_total=order.discount_total,
            shipping_total=order.shipping_total,
            # apply_totals: the order's tax is its lines' tax plus the shipping's.
            shipping_tax=order.tax_total - line_tax,
            tax_total=order.tax_total,
        ),
        Totals(
            subtotal=sums["subtotal"],
            discount_total=sums["discount"],
            shipping_total=sums["shipping"],
            shipping_tax=sums["shipping_tax"],
            tax_total=sums["tax"],
        ),
        completes=not invoices.filter(completes_order=True).exists(),
    )
