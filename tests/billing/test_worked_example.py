"""The worked example of docs/billing.md ("A worked example"), performed by the real
services: an order of three lines paid by card, shipped in two parts, and one shipped
unit refunded by finance because it arrived damaged. Every figure the document prints is
asserted here, so the document cannot drift from the code."""

from decimal import Decimal

import pytest
from django.utils import timezone

from billing import journal
from billing.models import (
    CreditNote,
    Invoice,
    Payment,
    PaymentTransaction,
    RefundStatus,
)
from billing.providers.test import DEFAULT_STORE
from billing.refunds import refund_order, refundable_amount
from inventory import services as stock
from orders.models import PaymentStatus
from tests.billing.conftest import SYSTEM, place_routed, ship
from tests.factories import CustomerFactory, ProductFactory

pytestmark = pytest.mark.django_db(transaction=True)

D = Decimal


@pytest.fixture(autouse=True)
def _fresh_provider():
    DEFAULT_STORE.clear()
    yield
    DEFAULT_STORE.clear()


def product(warehouse, sku: str, name: str, price: str):
    item = ProductFactory(sku=sku, name=name, list_price=D(price))
    stock.receive_stock(location=warehouse, product=item, quantity=20, actor=SYSTEM)
    return item


def ledger(order) -> list[tuple[str, str, Decimal, str]]:
    return [
        (tx.kind, tx.idempotency_key.split(":")[0], tx.amount, tx.outcome)
        for tx in PaymentTransaction.objects.filter(payment__order=order).order_by("id")
    ]


def test_three_lines_shipped_in_two_parts_and_a_damaged_unit_refunded(shop):
    year = timezone.localdate().year
    lamp = product(shop, "LAMP-01", "Desk lamp", "49.00")
    mug = product(shop, "MUG-02", "Stoneware mug", "12.50")
    tea = product(shop, "TEA-03", "Green tea, 100 g", "6.25")
    customer = CustomerFactory(email="pat@example.com")

    # 1. Placed with a card token: the total is authorised at once.
    order, fo = place_routed(
        [(lamp, 1), (mug, 4), (tea, 2)], customer=customer, payment_token="tok_approve"
    )
    order.refresh_from_db()
    assert (order.subtotal, order.shipping_total, order.tax_total, order.grand_total) == (
        D("111.50"),
        D("5.00"),
        D("10.34"),
        D("126.84"),
    )
    lines = {line.sku: line for line in order.lines.all()}
    assert [lines[sku].tax_total for sku in ("LAMP-01", "MUG-02", "TEA-03")] == [
        D("4.35"),
        D("4.44"),
        D("1.11"),
    ]
    [payment] = Payment.objects.filter(order=order)
    assert payment.amount_authorised == D("126.84")
    assert order.payment_status == PaymentStatus.AUTHORISED

    # 2. The first parcel: the lamp and two of the mugs.
    first = ship(fo, {lamp.pk: 1, mug.pk: 2})
    inv1 = Invoice.objects.get(shipment=first)
    assert inv1.number == f"INV-{year}-000001"
    assert not inv1.completes_order
    assert [
        (li.sku, li.quantity, li.line_total, li.tax) for li in inv1.lines.order_by("position")
    ] == [
        ("LAMP-01", 1, D("49.00"), D("4.35")),
        ("MUG-02", 2, D("25.00"), D("2.22")),
    ]
    assert (inv1.subtotal, inv1.shipping_total, inv1.shipping_tax, inv1.tax_total) == (
        D("74.00"),
        D("3.32"),
        D("0.29"),
        D("6.86"),
    )
    assert inv1.grand_total == D("84.18")
    assert (inv1.amount_paid, inv1.status) == (D("84.18"), "paid")
    order.refresh_from_db()
    assert order.payment_status == PaymentStatus.PARTIALLY_CAPTURED

    # 3. The second parcel completes the order: the rest of every amount.
    second = ship(fo)
    inv2 = Invoice.objects.get(shipment=second)
    assert inv2.number == f"INV-{year}-000002"
    assert inv2.completes_order
    assert [
        (li.sku, li.quantity, li.line_total, li.tax) for li in inv2.lines.order_by("position")
    ] == [
        ("MUG-02", 2, D("25.00"), D("2.22")),
        ("TEA-03", 2, D("12.50"), D("1.11")),
    ]
    assert (inv2.subtotal, inv2.shipping_total, inv2.shipping_tax, inv2.tax_total) == (
        D("37.50"),
        D("1.68"),
        D("0.15"),
        D("3.48"),
    )
    assert inv2.grand_total == D("42.66")
    assert inv1.grand_total + inv2.grand_total == order.grand_total
    payment.refresh_from_db()
    assert (payment.amount_captured, payment.amount_voided) == (D("126.84"), D("0.00"))
    order.refresh_from_db()
    assert order.payment_status == PaymentStatus.CAPTURED

    # 4. A mug arrived broken: finance refunds one shipped unit, reason "damaged".
    mug_line = lines["MUG-02"]
    assert refundable_amount(order) == D("126.84")
    refund = refund_order(
        order_id=order.pk,
        lines=[(mug_line.pk, 1)],
        reason="damaged",
        note="Photo of the broken mug from the customer",
        actor=SYSTEM,
    )
    [credit_note] = refund.credit_notes.all()
    # The newest invoice that billed a mug is credited.
    assert credit_note.invoice == inv2
    assert credit_note.number == f"CN-{year}-000001"
    assert (credit_note.subtotal, credit_note.tax_total, credit_note.grand_total) == (
        D("12.50"),
        D("1.11"),
        D("13.61"),
    )
    assert refund.amount == D("13.61")
    assert refund.status == RefundStatus.REFUNDED
    payment.refresh_from_db()
    assert payment.amount_refunded == D("13.61")
    order.refresh_from_db()
    assert order.payment_status == PaymentStatus.PARTIALLY_REFUNDED
    assert refundable_amount(order) == D("113.23")

    # The payment ledger, in order.
    assert ledger(order) == [
        ("authorise", "authorise", D("126.84"), "succeeded"),
        ("capture", "capture", D("84.18"), "succeeded"),
        ("capture", "capture", D("42.66"), "succeeded"),
        ("refund", "refund", D("13.61"), "succeeded"),
    ]
    assert [
        tx.idempotency_key
        for tx in PaymentTransaction.objects.filter(payment__order=order).order_by("id")
    ] == [
        f"authorise:{order.pk}:1",
        f"capture:{inv1.pk}",
        f"capture:{inv2.pk}",
        f"refund:{credit_note.pk}",
    ]

    # 5. The journal: every event balances, and so does the order's whole story.
    today = timezone.localdate()
    rows = [
        (row.account, row.debit, row.credit, row.document_number)
        for row in journal.journal_rows(today, today)
        if row.order_number == order.number
    ]
    assert rows == [
        ("1200", D("84.18"), D("0.00"), inv1.number),
        ("4000", D("0.00"), D("74.00"), inv1.number),
        ("4100", D("0.00"), D("3.32"), inv1.number),
        ("2200", D("0.00"), D("6.86"), inv1.number),
        ("1200", D("42.66"), D("0.00"), inv2.number),
        ("4000", D("0.00"), D("37.50"), inv2.number),
        ("4100", D("0.00"), D("1.68"), inv2.number),
        ("2200", D("0.00"), D("3.48"), inv2.number),
        ("4000", D("12.50"), D("0.00"), credit_note.number),
        ("2200", D("1.11"), D("0.00"), credit_note.number),
        ("1200", D("0.00"), D("13.61"), credit_note.number),
        ("1000", D("84.18"), D("0.00"), inv1.number),
        ("1200", D("0.00"), D("84.18"), inv1.number),
        ("1000", D("42.66"), D("0.00"), inv2.number),
        ("1200", D("0.00"), D("42.66"), inv2.number),
        ("1200", D("13.61"), D("0.00"), inv2.number),
        ("1000", D("0.00"), D("13.61"), inv2.number),
    ]
    assert sum(r[1] for r in rows) == sum(r[2] for r in rows) == D("280.90")
    balances: dict[str, Decimal] = {}
    for account, debit, credit, _ in rows:
        balances[account] = balances.get(account, D("0")) + debit - credit
    # Cash holds what the customer paid net of the refund; nothing is left receivable.
    assert balances == {
        "1000": D("113.23"),
        "1200": D("0.00"),
        "4000": D("-99.00"),
        "4100": D("-5.00"),
        "2200": D("-9.23"),
    }
    assert CreditNote.objects.filter(order=order).count() == 1
