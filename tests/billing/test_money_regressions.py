"""Money bugs the state machine (test_money_state_machine.py) found, each pinned by the
smallest sequence that showed it."""

from decimal import Decimal

import pytest

from billing.models import CreditNote, PaymentTransaction, Refund
from billing.providers.test import DEFAULT_STORE
from billing.refunds import RefundExceedsRefundable, refund_order, refundable_amount
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
