"""The refund service: lines and amounts refunded through credit notes and, for a card,
the provider (inline tasks); the refundable amount, idempotency, retries and races."""

from decimal import Decimal

import pytest

from billing import refunds
from billing.models import (
    CreditNote,
    DocumentSeries,
    Invoice,
    Payment,
    PaymentTransaction,
    Refund,
    RefundStatus,
    TransactionKind,
    TransactionOutcome,
)
from billing.providers import PaymentDeclined, ProviderUnavailable
from billing.providers.test import DEFAULT_STORE, TestPaymentProvider
from billing.refunds import RefundExceedsRefundable, refund_order
from billing.tasks import refund_event
from core.errors import InvalidInput
from core.models import OutboxEvent
from core.money import to_cents
from core.outbox import RetryLater
from orders.models import OrderEvent, PaymentStatus
from tests.api.support import run_together
from tests.billing.conftest import SYSTEM, company_buyer, make_products, place_routed, ship

pytestmark = pytest.mark.django_db(transaction=True)

D = Decimal


@pytest.fixture(autouse=True)
def _fresh_provider():
    DEFAULT_STORE.clear()
    yield
    DEFAULT_STORE.clear()


@pytest.fixture
def refund_calls(monkeypatch):
    """The provider's refund calls, counted (and still made)."""
    calls: list[str] = []
    original = TestPaymentProvider.refund

    def counting(self, **kwargs):
        calls.append(kwargs["idempotency_key"])
        return original(self, **kwargs)

    monkeypatch.setattr(TestPaymentProvider, "refund", counting)
    return calls


def shipped_card_order(shop, parts: int = 2):
    """A card order of two lines (2 units at $30.00, 1 at $12.50), shipped in ``parts``."""
    a, b = make_products(shop, [D("30.00"), D("12.50")])
    order, fo = place_routed([(a, 2), (b, 1)], payment_token="tok_approve")
    if parts == 2:
        ship(fo, {a.pk: 2})
    ship(fo)
    order.refresh_from_db()
    return order, a, b


def line_of(order, product):
    return order.lines.get(product=product)


def refund_rows(order) -> list[PaymentTransaction]:
    return list(
        PaymentTransaction.objects.filter(
            payment__order=order, kind=TransactionKind.REFUND
        ).order_by("id")
    )


def test_refunding_a_shipped_unit_pays_it_back_to_the_card(shop, refund_calls):
    order, a, _ = shipped_card_order(shop)
    first_invoice = Invoice.objects.filter(order=order).order_by("id").first()
    line = line_of(order, a)

    refund = refund_order(
        order_id=order.pk, lines=[(line.pk, 1)], reason="damaged", actor=SYSTEM, note="Box"
    )

    # One credit note against the invoice that billed the unit: its value with tax
    [credit_note] = refund.credit_notes.all()
    assert credit_note.invoice == first_invoice
    invoice_line = first_invoice.lines.get(order_line=line)
    assert credit_note.grand_total == D("30.00") + to_cents(invoice_line.tax / 2)
    assert refund.amount == credit_note.grand_total
    assert credit_note.reason == "damaged"
    # paid back by the provider under the credit note's key, once
    [row] = refund_rows(order)
    assert row.idempotency_key == f"refund:{credit_note.pk}"
    assert row.outcome == TransactionOutcome.SUCCEEDED
    assert row.amount == refund.amount
    assert refund_calls == [row.idempotency_key]
    assert refund.status == RefundStatus.REFUNDED
    [payment] = Payment.objects.filter(order=order)
    assert payment.amount_refunded == refund.amount
    order.refresh_from_db()
    assert order.payment_status == PaymentStatus.PARTIALLY_REFUNDED
    messages = list(OrderEvent.objects.filter(order=order).values_list("message", flat=True))
    assert any("Refund of" in m and "requested" in m for m in messages)
    assert any("paid back to the card" in m for m in messages)


def test_a_full_refund_by_amount_is_split_over_the_invoices_newest_first(shop):
    order, _, _ = shipped_card_order(shop)
    first, second = Invoice.objects.filter(order=order).order_by("id")
    assert refunds.refundable_amount(order) == order.grand_total

    refund = refund_order(
        order_id=order.pk, amount=order.grand_total, reason="lost_parcel", actor=SYSTEM
    )

    notes = list(refund.credit_notes.order_by("id"))
    assert [(cn.invoice_id, cn.grand_total) for cn in notes] == [
        (second.pk, second.grand_total),
        (first.pk, first.grand_total),
    ]
    assert refund.status == RefundStatus.REFUNDED
    assert [tx.idempotency_key for tx in refund_rows(order)] == [f"refund:{cn.pk}" for cn in notes]
    order.refresh_from_db()
    assert order.payment_status == PaymentStatus.REFUNDED
    assert refunds.refundable_amount(order) == 0


def test_lines_and_an_amount_together(shop):
    order, _, b = shipped_card_order(shop, parts=1)
    refund = refund_order(
        order_id=order.pk,
        lines=[refunds.RefundLine(line_of(order, b).pk, 1)],
        amount=D("5.00"),
        reason="price_adjustment",
        actor=SYSTEM,
    )
    assert refund.credit_notes.count() == 2
    invoice_line = Invoice.objects.get(order=order).lines.get(order_line__product=b)
    assert refund.amount == D("5.00") + invoice_line.line_total + invoice_line.tax


def test_refunding_more_than_refundable_is_refused_and_writes_nothing(shop, refund_calls):
    order, a, _ = shipped_card_order(shop)
    refund_order(order_id=order.pk, amount=D("10.00"), reason="goodwill", actor=SYSTEM)
    counts = (
        CreditNote.objects.count(),
        Refund.objects.count(),
        PaymentTransaction.objects.count(),
        OutboxEvent.objects.count(),
        OrderEvent.objects.count(),
        list(DocumentSeries.objects.values_list("last_number", flat=True)),
    )
    left = order.grand_total - D("10.00")

    with pytest.raises(RefundExceedsRefundable) as refused:
        refund_order(order_id=order.pk, amount=left + D("0.01"), reason="goodwill", actor=SYSTEM)
    assert refused.value.code == "refund_exceeds_refundable"
    assert f"${left}" in str(refused.value)
    # units beyond those invoiced are refused too
    with pytest.raises(RefundExceedsRefundable):
        refund_order(
            order_id=order.pk, lines=[(line_of(order, a).pk, 3)], reason="damaged", actor=SYSTEM
        )

    assert counts == (
        CreditNote.objects.count(),
        Refund.objects.count(),
        PaymentTransaction.objects.count(),
        OutboxEvent.objects.count(),
        OrderEvent.objects.count(),
        list(DocumentSeries.objects.values_list("last_number", flat=True)),
    )
    assert len(refund_calls) == 1


@pytest.mark.parametrize(
    "kwargs",
    [
        {"amount": D("-1.00"), "reason": "goodwill"},
        {"amount": D("1.001"), "reason": "goodwill"},
        {"amount": D("1.00"), "reason": "because"},
        {"reason": "goodwill"},
        {"lines": [(0, 1)], "reason": "goodwill"},
    ],
)
def test_bad_input_is_refused(shop, kwargs):
    order, _, _ = shipped_card_order(shop, parts=1)
    with pytest.raises(InvalidInput):
        refund_order(order_id=order.pk, actor=SYSTEM, **kwargs)
    assert not Refund.objects.exists()


def test_nothing_shipped_nothing_to_refund(shop):
    [a] = make_products(shop, [D("30.00")])
    order, _ = place_routed([(a, 1)], payment_token="tok_approve")
    with pytest.raises(RefundExceedsRefundable):
        refund_order(order_id=order.pk, amount=D("1.00"), reason="goodwill", actor=SYSTEM)


def test_two_refunds_racing_for_the_last_refundable_amount_one_wins(shop, refund_calls):
    order, _, _ = shipped_card_order(shop)
    left = order.grand_total - D("20.00")
    refund_order(order_id=order.pk, amount=left, reason="goodwill", actor=SYSTEM)

    def take_the_rest():
        return refund_order(order_id=order.pk, amount=D("20.00"), reason="goodwill", actor=SYSTEM)

    results = run_together([take_the_rest, take_the_rest])

    won = [r for r in results if isinstance(r, Refund)]
    lost = [r for r in results if isinstance(r, RefundExceedsRefundable)]
    assert len(won) == 1, results
    assert len(lost) == 1, results
    assert Refund.objects.filter(order=order).count() == 2
    payment = Payment.objects.get(order=order)
    assert payment.amount_refunded == order.grand_total
    assert len(refund_calls) == len(refund_rows(order))


def test_the_provider_is_called_once_even_if_the_task_runs_twice(shop, refund_calls):
    order, _, _ = shipped_card_order(shop)
    refund = refund_order(order_id=order.pk, amount=D("10.00"), reason="goodwill", actor=SYSTEM)
    event = OutboxEvent.objects.get(topic="refund.requested", payload__refund_id=refund.pk)

    refund_event.apply(args=[event.pk])
    refunds.execute_refund(refund.pk)

    assert len(refund_calls) == 1
    assert Payment.objects.get(order=order).amount_refunded == D("10.00")


def test_an_unreachable_provider_is_retried_with_the_same_key(shop, monkeypatch):
    order, _, _ = shipped_card_order(shop)

    def unreachable(self, **kwargs):
        raise ProviderUnavailable("timeout")

    with monkeypatch.context() as patch:
        patch.setattr(TestPaymentProvider, "refund", unreachable)
        refund = refund_order(order_id=order.pk, amount=D("10.00"), reason="goodwill", actor=SYSTEM)
        assert refund.status == RefundStatus.PENDING
        with pytest.raises(RetryLater):
            refunds.execute_refund(refund.pk)
    [row] = refund_rows(order)
    assert row.outcome == TransactionOutcome.PENDING

    refund = refunds.execute_refund(refund.pk)

    assert refund.status == RefundStatus.REFUNDED
    [row] = refund_rows(order)
    assert row.outcome == TransactionOutcome.SUCCEEDED


def test_a_declined_refund_fails_and_the_timeline_says_so(shop, monkeypatch):
    order, _, _ = shipped_card_order(shop)

    def declined(self, **kwargs):
        raise PaymentDeclined("Refund declined.", decline_code="generic_decline")

    monkeypatch.setattr(TestPaymentProvider, "refund", declined)
    refund = refund_order(order_id=order.pk, amount=D("10.00"), reason="goodwill", actor=SYSTEM)

    assert refund.status == RefundStatus.FAILED
    [row] = refund_rows(order)
    assert row.outcome == TransactionOutcome.FAILED
    assert Payment.objects.get(order=order).amount_refunded == 0
    assert OrderEvent.objects.filter(order=order, message__contains="failed").exists()
    order.refresh_from_db()
    assert order.payment_status == PaymentStatus.CAPTURED


def test_an_order_on_terms_is_credited_and_its_amount_due_goes_down(shop, refund_calls):
    [a] = make_products(shop, [D("30.00")])
    order, fo = place_routed([(a, 2)], customer=company_buyer("net30"))
    ship(fo)
    invoice = Invoice.objects.get(order=order)
    assert refunds.amount_due(invoice) == invoice.grand_total

    refund = refund_order(order_id=order.pk, amount=D("10.00"), reason="goodwill", actor=SYSTEM)

    assert refund.status == RefundStatus.CREDITED
    assert refunds.amount_due(invoice) == invoice.grand_total - D("10.00")
    assert not PaymentTransaction.objects.exists()
    assert refund_calls == []
    with pytest.raises(RefundExceedsRefundable):
        refund_order(order_id=order.pk, amount=invoice.grand_total, reason="goodwill", actor=SYSTEM)


def test_the_same_idempotency_key_returns_the_first_refund(shop, refund_calls):
    order, _, _ = shipped_card_order(shop)
    first = refund_order(
        order_id=order.pk, amount=D("10.00"), reason="goodwill", actor=SYSTEM, idempotency_key="k1"
    )
    again = refund_order(
        order_id=order.pk, amount=D("10.00"), reason="goodwill", actor=SYSTEM, idempotency_key="k1"
    )
    assert again.pk == first.pk
    assert Refund.objects.count() == 1
    assert len(refund_calls) == 1

    other, _, _ = shipped_card_order(shop, parts=1)
    with pytest.raises(refunds.IdempotencyKeyReused):
        refund_order(
            order_id=other.pk,
            amount=D("1.00"),
            reason="goodwill",
            actor=SYSTEM,
            idempotency_key="k1",
        )


def test_a_refund_in_another_process_than_the_capture_is_paid_back(shop):
    # The test provider knows a capture made elsewhere by its reference only: the
    # refund names the capture of the invoice it corrects.
    order, _, _ = shipped_card_order(shop)
    DEFAULT_STORE.clear()

    refund = refund_order(
        order_id=order.pk, amount=order.grand_total, reason="goodwill", actor=SYSTEM
    )

    assert refund.status == RefundStatus.REFUNDED
    assert all(tx.outcome == TransactionOutcome.SUCCEEDED for tx in refund_rows(order))
