"""Refunds to store credit: ``refund_order(..., destination="store_credit")`` issues the
credit notes as usual and credits the customer's balance instead of the card."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from billing.models import (
    CreditNote,
    Payment,
    PaymentTransaction,
    Refund,
    RefundDestination,
    RefundStatus,
    TransactionKind,
)
from billing.providers.test import DEFAULT_STORE, TestPaymentProvider
from billing.refunds import RefundExceedsRefundable, refund_order, refundable_amount
from core.errors import InvalidInput
from customers.api_keys import create_api_key
from customers.store_credit import get_store_credit_balance, grant_store_credit
from customers.store_credit_models import StoreCreditEntry, StoreCreditKind
from oms.roles import sync_staff_groups
from orders.models import OrderEvent, PaymentStatus
from tests.billing.conftest import SYSTEM, company_buyer, make_products, place_routed, ship
from tests.factories import CustomerFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

D = Decimal


@pytest.fixture(autouse=True)
def _fresh_provider():
    DEFAULT_STORE.clear()
    yield
    DEFAULT_STORE.clear()


@pytest.fixture
def refund_calls(monkeypatch):
    """The provider's refund calls (the boundary), counted and still made."""
    calls: list[str] = []
    original = TestPaymentProvider.refund

    def counting(self, **kwargs):
        calls.append(kwargs["idempotency_key"])
        return original(self, **kwargs)

    monkeypatch.setattr(TestPaymentProvider, "refund", counting)
    return calls


def client_for(role: str) -> Client:
    sync_staff_groups()
    user = UserFactory(username=f"{role}-user")
    user.groups.add(Group.objects.get(name=role))
    client = Client()
    client.force_login(user)
    return client


def shipped_card_order(shop):
    a, b = make_products(shop, [D("30.00"), D("12.50")])
    order, fo = place_routed([(a, 2), (b, 1)], payment_token="tok_approve")
    ship(fo)
    order.refresh_from_db()
    return order, a


def test_a_card_refund_to_store_credit_grows_the_balance_and_calls_no_provider(shop, refund_calls):
    order, a = shipped_card_order(shop)
    line = order.lines.get(product=a)
    payment_status = order.payment_status

    refund = refund_order(
        order_id=order.pk,
        lines=[(line.pk, 1)],
        reason="return",
        actor=SYSTEM,
        destination="store_credit",
    )

    # The credit note is issued as for any refund ...
    [credit_note] = refund.credit_notes.all()
    assert refund.amount == credit_note.grand_total > D("30.00")
    assert refund.status == RefundStatus.STORE_CREDIT
    assert refund.destination == RefundDestination.STORE_CREDIT
    # ... and the money lands in the ledger, not with the provider
    assert refund_calls == []
    assert not PaymentTransaction.objects.filter(
        payment__order=order, kind=TransactionKind.REFUND
    ).exists()
    assert Payment.objects.get(order=order).amount_refunded == 0
    assert get_store_credit_balance(order.customer_id) == (refund.amount, "USD")
    [entry] = StoreCreditEntry.objects.filter(account_id=order.customer_id)
    assert entry.kind == StoreCreditKind.REFUND
    assert entry.amount == entry.balance_after == refund.amount
    assert entry.order_number == order.number
    assert entry.reference == credit_note.number
    # the card payment is untouched; the timeline says where the money went
    order.refresh_from_db()
    assert order.payment_status == payment_status
    assert OrderEvent.objects.filter(
        order=order, message__contains="credited as store credit"
    ).exists()
    # what is left refundable went down by the credit
    assert refundable_amount(order) == order.grand_total - refund.amount


def test_the_default_destination_still_pays_the_card_back(shop, refund_calls):
    order, _ = shipped_card_order(shop)
    refund = refund_order(order_id=order.pk, amount=D("10.00"), reason="goodwill", actor=SYSTEM)
    assert refund.destination == RefundDestination.ORIGINAL
    assert refund.status == RefundStatus.REFUNDED
    assert len(refund_calls) == 1
    assert not StoreCreditEntry.objects.exists()


def test_store_credit_then_card_never_pays_back_more_than_was_captured(shop, refund_calls):
    order, _ = shipped_card_order(shop)
    refund_order(
        order_id=order.pk,
        amount=D("40.00"),
        reason="goodwill",
        actor=SYSTEM,
        destination="store_credit",
    )
    rest = order.grand_total - D("40.00")
    with pytest.raises(RefundExceedsRefundable):
        refund_order(order_id=order.pk, amount=rest + D("0.01"), reason="other", actor=SYSTEM)
    card = refund_order(order_id=order.pk, amount=rest, reason="other", actor=SYSTEM)
    assert card.status == RefundStatus.REFUNDED
    assert get_store_credit_balance(order.customer_id)[0] == D("40.00")
    assert refundable_amount(order) == 0


def test_an_order_on_terms_cannot_be_refunded_as_store_credit(shop):
    (a,) = make_products(shop, [D("20.00")])
    order, fo = place_routed([(a, 1)], customer=company_buyer())
    ship(fo)
    notes = CreditNote.objects.count()

    with pytest.raises(InvalidInput) as refused:
        refund_order(
            order_id=order.pk,
            amount=D("5.00"),
            reason="goodwill",
            actor=SYSTEM,
            destination="store_credit",
        )

    assert "payment terms" in refused.value.message
    assert CreditNote.objects.count() == notes
    assert not Refund.objects.exists()
    assert not StoreCreditEntry.objects.exists()


def test_an_unknown_destination_is_refused(shop):
    order, _ = shipped_card_order(shop)
    with pytest.raises(InvalidInput):
        refund_order(
            order_id=order.pk, amount=D("5.00"), reason="goodwill", actor=SYSTEM, destination="x"
        )
    assert not Refund.objects.exists()
    assert order.payment_status in (PaymentStatus.CAPTURED, PaymentStatus.PARTIALLY_CAPTURED)


def test_finance_refunds_a_card_order_as_store_credit_from_the_order_page(shop, refund_calls):
    order, _ = shipped_card_order(shop)
    client = client_for("finance")
    url = reverse("admin:orders_order_refund", args=[order.pk])
    assert "As store credit for the customer" in client.get(url).content.decode()

    response = client.post(
        url, {"amount": "10.00", "reason": "goodwill", "destination": "store_credit"}
    )

    assert response.status_code == 302
    assert refund_calls == []
    assert get_store_credit_balance(order.customer_id)[0] == D("10.00")
    messages = [str(m) for m in get_messages(response.wsgi_request)]
    assert any("credited to the customer's store credit" in m for m in messages)


def test_the_refunds_api_takes_store_credit_as_the_destination(shop, refund_calls):
    (a,) = make_products(shop, [D("20.00")])
    buyer = company_buyer("prepaid")
    order, fo = place_routed([(a, 1)], customer=buyer, payment_token="tok_approve")
    ship(fo)
    api = APIClient()
    api.credentials(
        HTTP_AUTHORIZATION=f"Bearer {create_api_key(company=buyer.company, name='erp').raw_key}"
    )

    response = api.post(
        f"/api/v1/orders/{order.number}/refunds/",
        {"amount": "5.00", "reason": "goodwill", "destination": "store_credit"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="r1",
    )

    assert response.status_code == 201, response.content
    assert response.json()["status"] == "store_credit"
    assert response.json()["destination"] == "store_credit"
    assert refund_calls == []
    assert get_store_credit_balance(buyer.pk)[0] == D("5.00")


def test_the_order_page_says_paid_with_store_credit(shop):
    (a,) = make_products(shop, [D("20.00")])
    customer = CustomerFactory()
    grant_store_credit(
        customer_id=customer.pk,
        amount=D("100.00"),
        currency="USD",
        kind=StoreCreditKind.GOODWILL,
        reason="welcome",
        actor=SYSTEM,
    )
    order, _ = place_routed([(a, 1)], customer=customer, payment_method="store_credit")

    page = client_for("agent").get(reverse("admin:orders_order_change", args=[order.pk]))

    assert page.status_code == 200
    assert "Paid with store credit" in page.content.decode()
