"""The allocation rule, as a property: whatever the lines, the tax rate, the shipping
and the split into shipments (invoiced in any order), every invoice is >= 0 and the
invoices of a fully shipped order add up to its grand total to the cent."""

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from billing.allocation import (
    ZERO,
    ClosingAmounts,
    OrderFigures,
    OrderLineFigures,
    Totals,
    allocate,
    settle,
)
from orders.models import Order, OrderLine
from orders.pricing import apply_totals

D = Decimal

prices = st.decimals(min_value=0, max_value=2000, places=2, allow_nan=False)
rates = st.decimals(min_value=0, max_value=Decimal("0.25"), places=5, allow_nan=False)


@st.composite
def shipped_orders(draw):
    """An order priced by ``apply_totals`` and a split of its units into shipments."""
    count = draw(st.integers(1, 5))
    lines = [
        OrderLine(pk=index + 1, unit_price=draw(prices), quantity_ordered=draw(st.integers(1, 6)))
        for index in range(count)
    ]
    order = Order(
        tax_rate=draw(rates),
        tax_shipping=draw(st.booleans()),
        shipping_total=draw(st.decimals(min_value=0, max_value=80, places=2)),
    )
    apply_totals(order, lines)
    order.discount_total = draw(st.decimals(min_value=0, max_value=order.subtotal, places=2))
    order.grand_total -= order.discount_total
    # Each unit goes into one of up to 4 shipments; empty shipments are dropped.
    parcels = draw(st.integers(1, 4))
    shipments: list[dict[int, int]] = [{} for _ in range(parcels)]
    for line in lines:
        for _ in range(line.quantity_ordered):
            parcel = shipments[draw(st.integers(0, parcels - 1))]
            parcel[line.pk] = parcel.get(line.pk, 0) + 1
    shipments = [s for s in shipments if s]
    return order, lines, draw(st.permutations(shipments))


def figures(order, lines, invoices) -> OrderFigures:
    """The order as invoicing sees it after ``invoices`` (pairs of shipped, amounts)."""
    quantity: dict[int, int] = {}
    tax: dict[int, Decimal] = {}
    for _, amounts in invoices:
        for line in amounts.lines:
            quantity[line.order_line_id] = quantity.get(line.order_line_id, 0) + line.quantity
            tax[line.order_line_id] = tax.get(line.order_line_id, ZERO) + line.tax
    line_tax = sum((line.tax_total for line in lines), ZERO)
    return OrderFigures(
        subtotal=order.subtotal,
        shipping_total=order.shipping_total,
        shipping_tax=order.tax_total - line_tax,
        discount_total=order.discount_total,
        lines=[
            OrderLineFigures(
                order_line_id=line.pk,
                unit_price=line.unit_price,
                quantity_live=line.quantity_live,
                tax_total=line.tax_total,
                invoiced_quantity=quantity.get(line.pk, 0),
                invoiced_tax=tax.get(line.pk, ZERO),
            )
            for line in lines
        ],
        invoiced_value=sum((a.subtotal for _, a in invoices), ZERO),
        invoiced_shipping=sum((a.shipping_total for _, a in invoices), ZERO),
        invoiced_shipping_tax=sum((a.shipping_tax for _, a in invoices), ZERO),
        invoiced_discount=sum((a.discount_total for _, a in invoices), ZERO),
    )


@settings(max_examples=300, deadline=None)
@given(shipped_orders())
def test_the_invoices_of_a_shipped_order_add_up_to_its_grand_total(case):
    order, lines, shipments = case
    invoices = []
    for shipped in shipments:
        invoices.append((shipped, allocate(figures(order, lines, invoices), shipped)))

    for _, amounts in invoices:
        assert amounts.grand_total >= 0
        for part in (amounts.shipping_total, amounts.shipping_tax, amounts.discount_total):
            assert part >= 0
        for line in amounts.lines:
            assert line.tax >= 0
            assert line.discount >= 0
            assert line.line_total >= 0
    assert [a.completes_order for _, a in invoices] == [False] * (len(invoices) - 1) + [True]
    assert sum((a.grand_total for _, a in invoices), ZERO) == order.grand_total
    assert sum((a.tax_total for _, a in invoices), ZERO) == order.tax_total
    assert sum((a.shipping_total for _, a in invoices), ZERO) == order.shipping_total
    assert sum((a.discount_total for _, a in invoices), ZERO) == order.discount_total
    for line in lines:
        billed = [li for _, a in invoices for li in a.lines if li.order_line_id == line.pk]
        assert sum(li.quantity for li in billed) == line.quantity_live
        assert sum((li.tax for li in billed), ZERO) == line.tax_total


def test_more_units_than_are_left_are_refused():
    line = OrderLineFigures(1, Decimal("5.00"), 2, Decimal("0.80"), invoiced_quantity=1)
    order = OrderFigures(Decimal("10.00"), ZERO, ZERO, ZERO, [line])

    with pytest.raises(ValueError, match="cannot be invoiced"):
        allocate(order, {1: 2})


cents = st.decimals(min_value=0, max_value=500, places=2, allow_nan=False)


@st.composite
def totals(draw):
    tax = draw(cents)
    return Totals(
        subtotal=draw(cents),
        discount_total=draw(cents),
        shipping_total=draw(cents),
        shipping_tax=draw(st.decimals(min_value=0, max_value=tax, places=2)),
        tax_total=tax,
    )


@given(totals(), totals())
def test_settling_bills_exactly_what_is_owed_in_positive_columns_or_credits_the_excess(
    order, invoiced
):
    outcome = settle(order, invoiced, completes=True)
    owed = order.grand_total - invoiced.grand_total
    if owed == 0:
        assert outcome is None
    elif owed < 0:
        assert outcome == -owed
    else:
        assert isinstance(outcome, ClosingAmounts)
        assert outcome.grand_total == owed
        columns = (
            outcome.subtotal,
            outcome.discount_total,
            outcome.shipping_total,
            outcome.shipping_tax,
            outcome.tax_total,
        )
        assert all(column >= 0 for column in columns)
        assert outcome.tax_total >= outcome.shipping_tax
        assert outcome.lines == ()


def test_the_closing_invoice_of_the_cancelled_rest_bills_the_shipping_share_left():
    # The worked case of docs/billing.md: 2 × $30.00 shipped (their invoice billed
    # 60/72.50 of the $5.00 shipping and its tax), the $12.50 unit cancelled.
    order = Totals(
        subtotal=D("60.00"),
        discount_total=ZERO,
        shipping_total=D("5.00"),
        shipping_tax=D("0.44"),
        tax_total=D("5.77"),
    )
    invoiced = Totals(
        subtotal=D("60.00"),
        discount_total=ZERO,
        shipping_total=D("4.14"),
        shipping_tax=D("0.36"),
        tax_total=D("5.69"),
    )
    closing = settle(order, invoiced, completes=True)
    assert closing == ClosingAmounts(
        subtotal=ZERO,
        discount_total=ZERO,
        shipping_total=D("0.86"),
        shipping_tax=D("0.08"),
        tax_total=D("0.08"),
        completes_order=True,
    )
    assert closing.grand_total == D("0.94")
