"""Orders paid with store credit: spent at placement (or refused, 422, nothing written),
invoices issued paid, cancellations and edits giving back or spending the difference,
refunds back to store credit, the journal, and two orders racing for one balance."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from billing.journal import journal_accounts, journal_events
from billing.models import Invoice, InvoiceStatus, Payment, PaymentTransaction, RefundStatus
from billing.refunds import refund_order
from core.actors import Actor
from core.models import OutboxEvent
from customers.api_keys import create_storefront_api_key
from customers.store_credit import (
    InsufficientStoreCredit,
    get_store_credit_balance,
    grant_store_credit,
)
from customers.store_credit_models import StoreCreditEntry, StoreCreditKind
from fulfillment.changes import add_line, cancel_order, change_line_quantity
from inventory.models import NetworkStock
from oms.integrity import check_integrity
from orders.drafts import create_draft_order, submit_draft_order
from orders.models import Order, OrderEvent, OrderLine, PaymentMethod, PaymentStatus
from orders.placement import LineRequest, OrderRequest, place_order
from tests.api.support import celery_publishing_to, run_together
from tests.billing.conftest import NEW_YORK, SYSTEM, make_products, place_routed, ship
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db(transaction=True)

D = Decimal
ADDRESS = {"name": "Pat", "line1": "350 Fifth Avenue", "country": "US", **NEW_YORK}


def with_credit(amount: str):
    customer = CustomerFactory()
    grant_store_credit(
        customer_id=customer.pk,
        amount=D(amount),
        currency="USD",
        kind=StoreCreditKind.GOODWILL,
        reason="welcome",
        actor=SYSTEM,
    )
    return customer


def request_for(customer, lines, **extra) -> OrderRequest:
    return OrderRequest(
        customer=customer,
        channel="web",
        shipping_method_code="STANDARD",
        shipping_address=ADDRESS,
        lines=[LineRequest(sku=p.sku, quantity=q) for p, q in lines],
        **extra,
    )


def balance(customer) -> Decimal:
    return get_store_credit_balance(customer.pk)[0]


def spent_entries(order) -> list[StoreCreditEntry]:
    return list(StoreCreditEntry.objects.filter(order_number=order.number).order_by("id"))


# --- placement ----------------------------------------------------------------------


def test_placing_an_order_with_store_credit_spends_its_total(shop):
    (a,) = make_products(shop, [D("30.00")])
    customer = with_credit("100.00")

    order = place_order(
        request=request_for(customer, [(a, 2)], payment_method="store_credit"), actor=SYSTEM
    ).order

    order.refresh_from_db()
    # 2 × $30 + $5 shipping, 8.875 % tax on both
    assert order.grand_total == D("70.77")
    assert order.payment_method == PaymentMethod.STORE_CREDIT
    assert order.payment_status == PaymentStatus.CAPTURED
    assert balance(customer) == D("100.00") - order.grand_total
    [entry] = spent_entries(order)
    assert entry.kind == StoreCreditKind.SPENT
    assert entry.amount == -order.grand_total
    assert entry.balance_after == balance(customer)
    assert entry.actor_label == SYSTEM.label
    assert OrderEvent.objects.filter(order=order, message="Paid $70.77 with store credit").exists()
    # nothing to authorise or capture with a provider
    assert not Payment.objects.filter(order=order).exists()
    assert check_integrity() == []


def test_a_balance_short_of_the_total_places_nothing(shop):
    (a,) = make_products(shop, [D("30.00")])
    customer = with_credit("50.00")
    committed = NetworkStock.objects.get(product=a).committed
    events = OutboxEvent.objects.count()

    with pytest.raises(InsufficientStoreCredit) as refused:
        place_order(
            request=request_for(customer, [(a, 2)], payment_method="store_credit"), actor=SYSTEM
        )

    assert refused.value.status == 422
    assert "$50.00" in refused.value.message
    assert refused.value.details["balance"] == "50.00"
    assert not Order.objects.exists()
    assert not OrderLine.objects.exists()
    assert NetworkStock.objects.get(product=a).committed == committed
    assert OutboxEvent.objects.count() == events
    assert balance(customer) == D("50.00")
    assert StoreCreditEntry.objects.count() == 1  # the grant only


def test_a_customer_without_store_credit_cannot_pay_with_it(shop):
    (a,) = make_products(shop, [D("30.00")])
    with pytest.raises(InsufficientStoreCredit):
        place_order(
            request=request_for(CustomerFactory(), [(a, 1)], payment_method="store_credit"),
            actor=SYSTEM,
        )
    assert not Order.objects.exists()


def _placement_queries(customer, products, size: int, **extra) -> int:
    request = request_for(customer, [(p, 1) for p in products[:size]], **extra)
    with CaptureQueriesContext(connection) as context:
        place_order(request=request, actor=SYSTEM)
    return len(context.captured_queries)


def test_a_store_credit_order_costs_one_query_more_than_a_card_order_whatever_its_lines(shop):
    products = make_products(shop, [D("1.00")] * 5)
    customer = with_credit("1000.00")
    # Placement alone, as the placement pins measure it: the outbox's consumers are
    # published to an in-memory broker, not run inline. One warm-up order fills the
    # per-process caches (shipping method, tax rate).
    with celery_publishing_to("memory://"):
        place_order(request=request_for(customer, [(products[0], 1)]), actor=SYSTEM)
        card = {size: _placement_queries(customer, products, size) for size in (1, 5)}
        credit = {
            size: _placement_queries(customer, products, size, payment_method="store_credit")
            for size in (1, 5)
        }

    assert card[1] == card[5]
    assert credit == {size: count + 1 for size, count in card.items()}


# --- through the API ------------------------------------------------------------------


@pytest.fixture
def storefront(shop):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {create_storefront_api_key(name='web').raw_key}")
    return client


def api_body(customer, sku: str, quantity: int) -> dict:
    return {
        "customer": {
            "email": customer.email,
            "first_name": customer.first_name,
            "last_name": customer.last_name,
        },
        "shipping_method": "STANDARD",
        "shipping_address": ADDRESS,
        "lines": [{"sku": sku, "quantity": quantity}],
        "payment": {"method": "store_credit"},
    }


def test_the_api_places_a_store_credit_order(shop, storefront):
    (a,) = make_products(shop, [D("30.00")])
    customer = with_credit("100.00")

    response = storefront.post(
        "/api/v1/orders/", api_body(customer, a.sku, 1), format="json", HTTP_IDEMPOTENCY_KEY="k1"
    )

    assert response.status_code == 201, response.content
    assert response.json()["payment_method"] == "store_credit"
    assert response.json()["payment_status"] == "captured"
    order = Order.objects.get(number=response.json()["number"])
    assert balance(customer) == D("100.00") - order.grand_total
    detail = storefront.get(f"/api/v1/orders/{order.number}/")
    assert detail.status_code == 200, detail.content
    assert detail.json()["store_credit"] == {
        "spent": str(order.grand_total),
        "given_back": "0.00",
        "refunded": "0.00",
        "balance": str(D("100.00") - order.grand_total),
        "currency": "USD",
    }


def test_the_api_refuses_a_balance_short_of_the_total_with_422_naming_it(shop, storefront):
    (a,) = make_products(shop, [D("30.00")])
    customer = with_credit("20.00")

    response = storefront.post(
        "/api/v1/orders/", api_body(customer, a.sku, 1), format="json", HTTP_IDEMPOTENCY_KEY="k1"
    )

    assert response.status_code == 422, response.content
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == "insufficient_store_credit"
    assert "$20.00" in problem["detail"]
    assert not Order.objects.exists()
    assert balance(customer) == D("20.00")


# --- invoices, cancellations, edits -----------------------------------------------------


def placed_routed_with_credit(shop, credit: str = "500.00"):
    a, b = make_products(shop, [D("30.00"), D("12.50")])
    customer = with_credit(credit)
    order, fo = place_routed([(a, 2), (b, 1)], customer=customer, payment_method="store_credit")
    return order, fo, customer, a, b


def test_its_invoices_are_issued_paid_and_nothing_is_captured(shop):
    order, fo, _, _, _ = placed_routed_with_credit(shop)

    ship(fo)

    [invoice] = Invoice.objects.filter(order=order)
    assert invoice.payment_method == PaymentMethod.STORE_CREDIT
    assert invoice.status == InvoiceStatus.PAID
    assert invoice.amount_paid == invoice.grand_total == order.grand_total
    assert invoice.paid_at is not None
    assert not PaymentTransaction.objects.exists()


def test_cancelling_the_whole_order_gives_its_total_back(shop):
    order, _, customer, _, _ = placed_routed_with_credit(shop)
    total = order.grand_total

    cancel_order(order_id=order.pk, reason="changed mind", actor=SYSTEM)

    assert balance(customer) == D("500.00")
    back = spent_entries(order)[-1]
    assert back.kind == StoreCreditKind.GIVEN_BACK
    assert back.amount == total
    order.refresh_from_db()
    assert order.payment_status == PaymentStatus.REFUNDED
    assert OrderEvent.objects.filter(order=order, message__contains="given back").exists()
    assert check_integrity() == []


def test_cancelling_the_unshipped_part_gives_its_value_back(shop):
    order, fo, customer, a, b = placed_routed_with_credit(shop)
    ship(fo, {a.pk: 2})
    line_b = order.lines.get(product=b)

    cancel_order(
        order_id=order.pk, reason="out of stock", actor=SYSTEM, lines={line_b.line_number: 1}
    )

    order.refresh_from_db()
    # what the shipped units cost stays spent: 2 × $30, shipping, tax
    assert order.grand_total == D("70.77")
    assert balance(customer) == D("500.00") - D("70.77")
    assert order.payment_status == PaymentStatus.PARTIALLY_REFUNDED
    assert check_integrity() == []


def test_an_edit_that_raises_the_total_spends_the_difference(shop):
    order, _, customer, a, _ = placed_routed_with_credit(shop)
    before = balance(customer)
    total = order.grand_total

    change_line_quantity(
        order_id=order.pk,
        line_number=order.lines.get(product=a).line_number,
        quantity=3,
        actor=SYSTEM,
    )

    order.refresh_from_db()
    assert order.grand_total > total
    assert balance(customer) == before - (order.grand_total - total)
    assert spent_entries(order)[-1].kind == StoreCreditKind.SPENT
    assert check_integrity() == []


def test_an_edit_the_balance_cannot_cover_is_refused_and_changes_nothing(shop):
    order, _, customer, a, _ = placed_routed_with_credit(shop, credit="90.00")
    before = balance(customer)
    line = order.lines.get(product=a)
    entries = StoreCreditEntry.objects.count()

    with pytest.raises(InsufficientStoreCredit) as refused:
        change_line_quantity(
            order_id=order.pk, line_number=line.line_number, quantity=5, actor=SYSTEM
        )

    assert "nothing was changed" in refused.value.message
    assert balance(customer) == before
    assert StoreCreditEntry.objects.count() == entries
    line.refresh_from_db()
    assert line.quantity_ordered == 2
    refreshed = Order.objects.get(pk=order.pk)
    assert refreshed.grand_total == order.grand_total


def test_an_edit_that_lowers_the_total_gives_the_difference_back(shop):
    a, b = make_products(shop, [D("30.00"), D("4.00")])
    customer = with_credit("500.00")
    order = place_order(
        request=request_for(customer, [(a, 2)], payment_method="store_credit"), actor=SYSTEM
    ).order
    add_line(order_id=order.pk, sku=b.sku, quantity=1, actor=SYSTEM)
    after_add = balance(customer)

    change_line_quantity(order_id=order.pk, line_number=1, quantity=1, actor=SYSTEM)

    order.refresh_from_db()
    assert balance(customer) == D("500.00") - order.grand_total > after_add
    assert spent_entries(order)[-1].kind == StoreCreditKind.GIVEN_BACK
    assert check_integrity() == []


# --- refunds --------------------------------------------------------------------------


def test_a_refund_of_a_store_credit_order_goes_back_to_store_credit(shop):
    order, fo, customer, a, _ = placed_routed_with_credit(shop)
    ship(fo)
    before = balance(customer)

    refund = refund_order(
        order_id=order.pk,
        lines=[(order.lines.get(product=a).pk, 1)],
        reason="return",
        actor=SYSTEM,
    )

    assert refund.status == RefundStatus.STORE_CREDIT
    assert balance(customer) == before + refund.amount
    order.refresh_from_db()
    assert order.payment_status == PaymentStatus.PARTIALLY_REFUNDED
    assert not PaymentTransaction.objects.exists()


# --- the journal ----------------------------------------------------------------------


def test_the_journal_credits_the_liability_when_granted_and_debits_it_when_spent(shop):
    order, fo, _, a, _ = placed_routed_with_credit(shop)
    ship(fo)
    refund_order(
        order_id=order.pk,
        lines=[(order.lines.get(product=a).pk, 1)],
        reason="return",
        actor=SYSTEM,
    )
    today = timezone.localdate()

    events = journal_events(today - dt.timedelta(days=1), today + dt.timedelta(days=1))

    assert all(event.is_balanced for event in events)
    liability = journal_accounts()["store_credit"]
    kinds = {
        event.kind: [(row.debit, row.credit) for row in event.rows if row.account == liability]
        for event in events
        if event.kind.startswith("store_credit_")
    }
    assert kinds["store_credit_goodwill"] == [(D("0"), D("500.00"))]
    assert kinds["store_credit_spent"] == [(order.grand_total, D("0"))]
    refunded = StoreCreditEntry.objects.get(kind=StoreCreditKind.REFUND).amount
    assert kinds["store_credit_refund"] == [(D("0"), refunded)]
    total_debit = sum(e.debit_total for e in events)
    assert total_debit == sum(e.credit_total for e in events)


# --- the admin's order entry (drafts) -----------------------------------------------------


def test_a_draft_paid_with_store_credit_spends_when_submitted(shop):
    (a,) = make_products(shop, [D("30.00")])
    customer = with_credit("100.00")
    draft = create_draft_order(
        request=request_for(customer, [(a, 1)], payment_method="store_credit"), actor=SYSTEM
    )
    assert balance(customer) == D("100.00")
    assert draft.payment_status == PaymentStatus.PENDING

    placed = submit_draft_order(order_id=draft.pk, actor=SYSTEM).order

    placed.refresh_from_db()
    assert placed.payment_status == PaymentStatus.CAPTURED
    assert balance(customer) == D("100.00") - placed.grand_total


def test_a_draft_the_balance_cannot_cover_stays_a_draft(shop):
    (a,) = make_products(shop, [D("30.00")])
    customer = with_credit("10.00")
    draft = create_draft_order(
        request=request_for(customer, [(a, 1)], payment_method="store_credit"), actor=SYSTEM
    )

    with pytest.raises(InsufficientStoreCredit):
        submit_draft_order(order_id=draft.pk, actor=SYSTEM)

    draft.refresh_from_db()
    assert draft.status == "draft"
    assert balance(customer) == D("10.00")


# --- concurrency ----------------------------------------------------------------------


def test_two_orders_racing_for_one_balance_exactly_one_wins(shop):
    (a,) = make_products(shop, [D("30.00")])
    customer = with_credit("80.00")  # one order of $70.77 fits, not two

    def place():
        return place_order(
            request=request_for(customer, [(a, 2)], payment_method="store_credit"),
            actor=Actor.system("racer"),
        )

    results = run_together([place, place, place, place])

    placed = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, InsufficientStoreCredit)]
    assert len(placed) == 1, results
    assert len(refused) == 3, results
    assert Order.objects.count() == 1
    assert balance(customer) == D("80.00") - D("70.77")
    assert check_integrity() == []
