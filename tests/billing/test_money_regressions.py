"""Money bugs the state machine (test_money_state_machine.py) found, each pinned by the
smallest sequence that showed it (a known gap not fixed yet is marked xfail, strict)."""

from decimal import Decimal

import pytest

from billing.models import CreditNote, Invoice, PaymentTransaction, Refund
from billing.providers.test import DEFAULT_STORE
from billing.refunds import RefundExceedsRefundable, refund_order, refundable_amount
from fulfillment.changes import cancel_order
from tests.billing.conftest import SYSTEM, make_products, place_routed, ship

pytestmark = pytest.mark.django_db(transaction=True)

D = Decimal


@pytest.fixture(autouse=True)
def _fresh_provider():
    DEFAULT_STORE.clear()
    yield
    DEFAULT_STORE.clear()


def test_units_whose_money_an_earlier_amount_refund_took_are_refused_as_over_refundable(shop):
    # Given a card order of 4 units at $0.33, shipped and captured, of which an amount
    # refund took all but $0.50
    [item] = make_products(shop, [D("0.33")])
    order, fo = place_routed([(item, 4)], payment_token="tok_approve")
    ship(fo)
    order.refresh_from_db()
    refund_order(
        order_id=order.pk, amount=order.grand_total - D("0.50"), reason="goodwill", actor=SYSTEM
    )
    assert refundable_amount(order) == D("0.50")
    line = order.lines.get()
    before = (
        CreditNote.objects.count(),
        Refund.objects.count(),
        PaymentTransaction.objects.count(),
    )

    # When finance refunds three of the units (still invoiced and never credited, but
    # worth more than the $0.50 left)
    with pytest.raises(RefundExceedsRefundable) as refused:
        refund_order(order_id=order.pk, lines=[(line.pk, 3)], reason="damaged", actor=SYSTEM)

    # Then it is refused like any refund above the refundable amount (409
    # refund_exceeds_refundable, not the credit note's own error), saying what is left,
    # and nothing is written
    assert refused.value.code == "refund_exceeds_refundable"
    assert "can be refunded $0.50" in refused.value.message
    assert refused.value.details == {"refundable": "0.50"}
    after = (CreditNote.objects.count(), Refund.objects.count(), PaymentTransaction.objects.count())
    assert after == before
    assert refundable_amount(order) == D("0.50")


@pytest.mark.xfail(
    strict=True,
    reason="Known gap: no invoice takes the order-level remainders when cancelling the "
    "unshipped units completes an order (docs/billing.md, 'What holds for any sequence')",
)
def test_an_order_completed_by_cancelling_its_unshipped_units_is_billed_its_total(shop):
    # Given a card order of 2 × $30.00 and 1 × $12.50, the two $30.00 units shipped
    [a, b] = make_products(shop, [D("30.00"), D("12.50")])
    order, fo = place_routed([(a, 2), (b, 1)], payment_token="tok_approve")
    ship(fo, {a.pk: 2})

    # When the unshipped unit is cancelled, which completes the order
    line_b = order.lines.get(product=b)
    cancel_order(
        order_id=order.pk, reason="out of stock", actor=SYSTEM, lines={line_b.line_number: 1}
    )

    # Then its invoices bill its total (today: $69.83 of $70.77, the rest of the
    # shipping and its tax never billed, and the authorisation's rest voided)
    order.refresh_from_db()
    assert order.status == "completed"
    invoiced = sum(Invoice.objects.filter(order=order).values_list("grand_total", flat=True))
    assert invoiced == order.grand_total
