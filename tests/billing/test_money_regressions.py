"""Money bugs the state machine (test_money_state_machine.py) found, each pinned by the
smallest sequence that showed it."""

from decimal import Decimal

import pytest

from billing.models import CreditNote, Invoice, PaymentTransaction, Refund
from billing.providers.test import DEFAULT_STORE
from billing.refunds import RefundExceedsRefundable, refund_order, refundable_amount
from billing.settlement import settle_order
from customers.models import PriceList, PriceListEntry
from fulfillment.changes import cancel_order, change_line_quantity
from fulfillment.models import FulfillmentOrder
from fulfillment.routing import route_order
from tests.billing.conftest import SYSTEM, company_buyer, make_products, place_routed, ship

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


def test_an_order_completed_by_cancelling_its_unshipped_units_is_billed_its_total(shop):
    # Given a card order of 2 × $30.00 and 1 × $12.50 to New York, the two $30.00
    # units shipped and their invoice captured (it billed a share of the shipping
    # computed against the whole subtotal)
    [a, b] = make_products(shop, [D("30.00"), D("12.50")])
    order, fo = place_routed([(a, 2), (b, 1)], payment_token="tok_approve")
    ship(fo, {a.pk: 2})
    [first] = Invoice.objects.filter(order=order)
    assert not first.completes_order

    # When the unshipped unit is cancelled, which completes the order
    line_b = order.lines.get(product=b)
    cancel_order(
        order_id=order.pk, reason="out of stock", actor=SYSTEM, lines={line_b.line_number: 1}
    )

    # Then a closing invoice (no shipment, no lines) bills the shipping and its tax the
    # first one left, so its invoices add up to the order's total to the cent
    order.refresh_from_db()
    assert order.status == "completed"
    assert order.grand_total == D("70.77")
    closing = Invoice.objects.get(order=order, shipment__isnull=True)
    assert closing.completes_order
    assert not closing.lines.exists()
    assert closing.grand_total == D("70.77") - first.grand_total == D("0.94")
    assert closing.shipping_total == order.shipping_total - first.shipping_total
    assert closing.subtotal == 0
    invoices = Invoice.objects.filter(order=order)
    assert sum(i.grand_total for i in invoices) == order.grand_total
    assert sum(i.tax_total for i in invoices) == order.tax_total
    # and the card pays it: captured before the rest of the authorisation was voided
    captures = PaymentTransaction.objects.filter(
        payment__order=order, kind="capture", outcome="succeeded"
    )
    assert sum(c.amount for c in captures) == order.grand_total
    assert captures.get(invoice=closing).final
    closing.refresh_from_db()
    assert closing.status == "paid"
    assert order.payment_status == "captured"

    # and settling again (a second delivery of the event) changes nothing
    assert settle_order(order.pk) is None
    assert Invoice.objects.filter(order=order).count() == 2


def test_invoices_holding_more_than_an_edited_order_are_credited_the_difference(shop):
    # Given a company buyer on net 30 whose contract prices a SKU at $10.00, and $8.00
    # from 5 units a line; an order of 3 of it and 1 × $20.00, the 3 units shipped
    # and invoiced at $10.00
    [item, other] = make_products(shop, [D("10.00"), D("20.00")])
    buyer = company_buyer()
    contract = PriceList.objects.create(code="C-BREAK", name="Breaks")
    PriceListEntry.objects.create(
        price_list=contract, product=item, min_quantity=1, unit_price=D("10.00")
    )
    PriceListEntry.objects.create(
        price_list=contract, product=item, min_quantity=5, unit_price=D("8.00")
    )
    buyer.company.price_list = contract
    buyer.company.save(update_fields=["price_list"])
    order, fo = place_routed([(item, 3), (other, 1)], customer=buyer)
    ship(fo, {item.pk: 3})
    line = order.lines.get(product=item)

    # When the line grows to 5 units, which re-prices all of them at $8.00, and the
    # rest ships (its invoice completes the order)
    change_line_quantity(order_id=order.pk, line_number=line.line_number, quantity=5, actor=SYSTEM)
    route_order(order_id=order.pk)
    for open_fo in FulfillmentOrder.objects.filter(order=order).exclude(
        status__in=["closed", "cancelled"]
    ):
        ship(open_fo)

    # Then the $6.00 the first invoice billed above the new price, with its tax, is
    # credited once (a credit note of a refund keyed to the order's settlement), and
    # the invoices less their credit notes add up to the order's total
    order.refresh_from_db()
    assert order.status == "completed"
    invoices = Invoice.objects.filter(order=order)
    billed = sum(i.grand_total for i in invoices)
    refund = Refund.objects.get(order=order, idempotency_key=f"settle:{order.pk}")
    assert refund.amount == billed - order.grand_total
    assert refund.amount >= D("6.00")
    credited = sum(n.grand_total for n in CreditNote.objects.filter(order=order))
    assert billed - credited == order.grand_total
    assert not invoices.filter(shipment__isnull=True).exists()

    # and settling again changes nothing
    assert settle_order(order.pk) is None
    assert Refund.objects.filter(order=order).count() == 1
