"""Card payments through the outbox (inline tasks): authorised at placement, captured
per invoice, voided on cancellation, re-authorised after an edit; the ledger, the
payment statuses, holds and the "payment failed" e-mail."""

from decimal import Decimal

import pytest
from django.core import mail
from django.db import IntegrityError, InternalError, transaction

from billing import payments
from billing.models import (
    Invoice,
    InvoiceStatus,
    Payment,
    PaymentTransaction,
    TransactionKind,
    TransactionOutcome,
)
from billing.providers.test import DEFAULT_STORE
from core.outbox import RetryLater
from fulfillment.changes import add_line, cancel_order
from orders.models import (
    HoldKind,
    Notification,
    Order,
    OrderHold,
    PaymentMethod,
    PaymentStatus,
)
from orders.placement import LineRequest, OrderRequest, place_order
from tests.billing.conftest import (
    NEW_YORK,
    SYSTEM,
    company_buyer,
    make_products,
    place_routed,
    ship,
)
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db(transaction=True)

D = Decimal


@pytest.fixture(autouse=True)
def _fresh_provider():
    DEFAULT_STORE.clear()
    yield
    DEFAULT_STORE.clear()


def place(lines, **kwargs) -> Order:
    """Place an order (not routed: a held order is not)."""
    return place_order(
        request=OrderRequest(
            customer=CustomerFactory(),
            channel="web",
            shipping_method_code="STANDARD",
            shipping_address={
                "name": "Pat",
                "line1": "350 Fifth Avenue",
                "country": "US",
                **NEW_YORK,
            },
            lines=[LineRequest(sku=p.sku, quantity=q) for p, q in lines],
            **kwargs,
        ),
        actor=SYSTEM,
    ).order


def ledger(order: Order) -> list[PaymentTransaction]:
    return list(PaymentTransaction.objects.filter(payment__order=order).order_by("id"))


@pytest.mark.parametrize(
    ("amounts", "failed", "expected"),
    [
        ((0, 0, 0, 0), False, PaymentStatus.PENDING),
        ((100, 0, 0, 0), False, PaymentStatus.AUTHORISED),
        ((100, 40, 0, 0), False, PaymentStatus.PARTIALLY_CAPTURED),
        ((100, 100, 0, 0), False, PaymentStatus.CAPTURED),
        ((100, 90, 0, 10), False, PaymentStatus.CAPTURED),
        ((100, 0, 0, 100), False, PaymentStatus.VOIDED),
        ((100, 90, 30, 10), False, PaymentStatus.PARTIALLY_REFUNDED),
        ((100, 90, 90, 10), False, PaymentStatus.REFUNDED),
        ((100, 0, 0, 0), True, PaymentStatus.FAILED),
    ],
)
def test_the_payment_status_follows_the_amounts(amounts, failed, expected):
    authorised, captured, refunded, voided = (D(a) for a in amounts)
    status = payments.derive_payment_status(
        authorised=authorised, captured=captured, refunded=refunded, voided=voided, failed=failed
    )
    assert status == expected


def test_an_order_not_paid_by_card_has_no_payment_status():
    assert payments.order_payment_status(PaymentMethod.INVOICE, []) == PaymentStatus.NONE
    assert payments.order_payment_status(PaymentMethod.CARD, []) == PaymentStatus.PENDING


def test_a_card_order_is_authorised_at_placement_and_captured_per_invoice(shop):
    # Given a card order of two lines, authorised when placed
    a, b = make_products(shop, [D("30.00"), D("12.50")])
    order, fo = place_routed([(a, 2), (b, 1)], payment_token="tok_approve")
    order.refresh_from_db()
    [payment] = Payment.objects.filter(order=order)
    assert payment.amount_authorised == order.grand_total
    assert payment.authorisation_reference.startswith("testauth_ok_USD_")
    assert order.payment_status == PaymentStatus.AUTHORISED
    [authorise] = ledger(order)
    assert authorise.idempotency_key == f"authorise:{order.pk}:1"
    assert authorise.outcome == TransactionOutcome.SUCCEEDED

    # When the lines ship in two parcels
    first = ship(fo, {a.pk: 2})
    first_invoice = Invoice.objects.get(shipment=first)
    order.refresh_from_db()
    assert order.payment_status == PaymentStatus.PARTIALLY_CAPTURED
    second = ship(fo)
    second_invoice = Invoice.objects.get(shipment=second)

    # Then each invoice's total was captured under its own key, the last one final,
    # and both invoices are paid
    captures = [tx for tx in ledger(order) if tx.kind == TransactionKind.CAPTURE]
    assert [(tx.idempotency_key, tx.amount, tx.final) for tx in captures] == [
        (f"capture:{first_invoice.pk}", first_invoice.grand_total, False),
        (f"capture:{second_invoice.pk}", second_invoice.grand_total, True),
    ]
    assert all(tx.outcome == TransactionOutcome.SUCCEEDED for tx in captures)
    assert captures[0].shipment_id == first.pk
    for invoice in (first_invoice, second_invoice):
        invoice.refresh_from_db()
        assert invoice.status == InvoiceStatus.PAID
        assert invoice.amount_paid == invoice.grand_total
    payment.refresh_from_db()
    assert payment.amount_captured == order.grand_total
    assert payment.status == PaymentStatus.CAPTURED
    order.refresh_from_db()
    assert order.payment_status == PaymentStatus.CAPTURED

    # and running the consumers again moves no money
    payments.authorise_order(order.pk)
    payments.capture_invoice(second_invoice.pk)
    assert len(ledger(order)) == 3


def test_a_declined_card_holds_the_order_and_asks_the_customer_once(shop):
    [a] = make_products(shop, [D("30.00")])
    order = place([(a, 1)], payment_token="tok_insufficient_funds")
    order.refresh_from_db()
    assert order.payment_status == PaymentStatus.FAILED
    [tx] = ledger(order)
    assert tx.outcome == TransactionOutcome.FAILED
    assert tx.error_code == "payment_declined"
    assert "insufficient_funds" in tx.error_message
    hold = OrderHold.objects.get(order=order, kind=HoldKind.PAYMENT, released_at__isnull=True)
    assert "another card" in hold.reason
    [message] = [m for m in mail.outbox if "Payment needed" in m.subject]
    assert order.number in message.body
    assert "insufficient funds" in message.body

    # A second run finds the finished attempt: no call, no second hold or e-mail
    payments.authorise_order(order.pk)
    assert len(ledger(order)) == 1
    assert OrderHold.objects.filter(order=order, kind=HoldKind.PAYMENT).count() == 1
    assert Notification.objects.filter(order=order, event="payment_failed").count() == 1


def test_an_authorisation_that_lapsed_fails_at_capture_and_holds_the_order(shop):
    a, b = make_products(shop, [D("30.00"), D("5.00")])
    order, fo = place_routed([(a, 1), (b, 1)], payment_token="tok_expires")
    order.refresh_from_db()
    assert order.payment_status == PaymentStatus.AUTHORISED

    shipment = ship(fo, {a.pk: 1})

    invoice = Invoice.objects.get(shipment=shipment)
    [capture] = [tx for tx in ledger(order) if tx.kind == TransactionKind.CAPTURE]
    assert capture.outcome == TransactionOutcome.FAILED
    assert capture.error_code == "authorisation_expired"
    assert invoice.status == InvoiceStatus.ISSUED
    assert invoice.amount_paid == 0
    order.refresh_from_db()
    assert order.payment_status == PaymentStatus.FAILED
    assert OrderHold.objects.filter(order=order, kind=HoldKind.PAYMENT, released_at=None).exists()
    assert Notification.objects.filter(order=order, event="payment_failed").count() == 1


def test_an_unreachable_provider_is_retried_with_the_same_key(shop):
    [a] = make_products(shop, [D("30.00")])
    order, _ = place_routed([(a, 1)], payment_token="tok_timeout")
    # The consumer's inline run was retried (and gave up); the attempt stays pending
    [tx] = ledger(order)
    assert tx.outcome == TransactionOutcome.PENDING
    with pytest.raises(RetryLater):
        payments.authorise_order(order.pk)
    assert ledger(order) == [tx]
    order.refresh_from_db()
    assert order.payment_status == PaymentStatus.PENDING


def test_cancelling_a_card_order_voids_its_authorisation(shop):
    [a, b] = make_products(shop, [D("30.00"), D("5.00")])
    order, _ = place_routed([(a, 1), (b, 1)], payment_token="tok_approve")

    # A partial cancellation voids nothing: the rest still ships
    cancel_order(order_id=order.pk, reason="changed mind", actor=SYSTEM, lines={2: 1})
    assert not [tx for tx in ledger(order) if tx.kind == TransactionKind.VOID]

    cancel_order(order_id=order.pk, reason="changed mind", actor=SYSTEM)

    [void] = [tx for tx in ledger(order) if tx.kind == TransactionKind.VOID]
    payment = Payment.objects.get(order=order)
    assert void.idempotency_key == f"void:{payment.pk}:1"
    assert void.outcome == TransactionOutcome.SUCCEEDED
    assert payment.amount_voided == payment.amount_authorised
    order.refresh_from_db()
    assert order.payment_status == PaymentStatus.VOIDED


def test_cancelling_what_was_not_shipped_releases_the_rest_of_the_authorisation(shop):
    [a, b] = make_products(shop, [D("30.00"), D("5.00")])
    order, fo = place_routed([(a, 1), (b, 1)], payment_token="tok_approve")
    shipment = ship(fo, {a.pk: 1})
    invoice = Invoice.objects.get(shipment=shipment)
    assert not invoice.completes_order

    cancel_order(order_id=order.pk, reason="out of stock", actor=SYSTEM, lines={2: 1})

    # The order's total is captured (the shipment's invoice and the closing invoice of
    # the shipping share it left), and the rest of the authorisation voided.
    order.refresh_from_db()
    closing = Invoice.objects.get(order=order, shipment__isnull=True)
    assert invoice.grand_total + closing.grand_total == order.grand_total
    payment = Payment.objects.get(order=order)
    assert payment.amount_captured == order.grand_total
    assert payment.amount_voided == payment.amount_authorised - order.grand_total
    assert order.payment_status == PaymentStatus.CAPTURED


def test_an_edit_that_raises_the_total_authorises_the_difference(shop):
    [a, b] = make_products(shop, [D("30.00"), D("7.00")])
    order, _ = place_routed([(a, 1)], payment_token="tok_approve")
    authorised_before = order.grand_total

    add_line(order_id=order.pk, sku=b.sku, quantity=2, actor=SYSTEM)

    order.refresh_from_db()
    first, second = Payment.objects.filter(order=order).order_by("id")
    assert first.amount_authorised == authorised_before
    assert second.amount_authorised == order.grand_total - authorised_before
    [tx] = second.transactions.all()
    assert tx.idempotency_key == f"reauthorise:{order.pk}:{order.grand_total}"
    assert order.payment_status == PaymentStatus.AUTHORISED
    # The same total again authorises nothing more
    assert payments.reauthorise_order(order.pk) == second
    assert Payment.objects.filter(order=order).count() == 2


def test_an_authorisation_from_the_storefront_is_recorded_without_a_call(shop):
    [a] = make_products(shop, [D("30.00")])
    order, _ = place_routed([(a, 1)], payment_authorisation="pi_storefront_1")
    order.refresh_from_db()
    [payment] = Payment.objects.filter(order=order)
    assert payment.authorisation_reference == "pi_storefront_1"
    assert payment.amount_authorised == order.grand_total
    assert order.payment_status == PaymentStatus.AUTHORISED
    assert not DEFAULT_STORE.outcomes  # the provider was not called


def test_an_order_on_terms_is_paid_by_invoice_and_captures_nothing(shop):
    [a] = make_products(shop, [D("30.00")])
    order, fo = place_routed([(a, 1)], customer=company_buyer("net30"))
    order.refresh_from_db()
    assert order.payment_method == PaymentMethod.INVOICE
    assert order.payment_status == PaymentStatus.NONE
    ship(fo)
    assert not Payment.objects.filter(order=order).exists()
    assert Invoice.objects.get(order=order).status == InvoiceStatus.ISSUED


def test_the_provider_is_never_called_inside_a_transaction(shop):
    [a] = make_products(shop, [D("30.00")])
    order, _ = place_routed([(a, 1)], payment_token="tok_timeout")
    [tx] = ledger(order)
    with transaction.atomic(), pytest.raises(payments.ProviderCalledInTransaction):
        payments.execute_transaction(tx.pk)
    assert PaymentTransaction.objects.get(pk=tx.pk).outcome == TransactionOutcome.PENDING


def test_the_ledger_is_append_only(shop):
    [a] = make_products(shop, [D("30.00")])
    order, _ = place_routed([(a, 1)], payment_token="tok_approve")
    [tx] = ledger(order)
    for change in (
        lambda: PaymentTransaction.objects.filter(pk=tx.pk).update(amount=D("1.00")),
        lambda: PaymentTransaction.objects.filter(pk=tx.pk).update(outcome="failed"),
        lambda: PaymentTransaction.objects.filter(pk=tx.pk).delete(),
    ):
        with pytest.raises((IntegrityError, InternalError)), transaction.atomic():
            change()
    tx.refresh_from_db()
    assert tx.outcome == TransactionOutcome.SUCCEEDED
    assert tx.amount == order.grand_total


def test_captured_never_exceeds_authorised(shop):
    [a] = make_products(shop, [D("30.00")])
    order, _ = place_routed([(a, 1)], payment_token="tok_approve")
    payment = Payment.objects.get(order=order)
    with pytest.raises(IntegrityError), transaction.atomic():
        Payment.objects.filter(pk=payment.pk).update(amount_captured=D("9999.00"))
