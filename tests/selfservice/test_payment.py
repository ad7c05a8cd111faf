"""Another card from the status page, for an order held for its payment: authorised
through billing's three steps (the provider outside any transaction), the hold released
on approval, nothing changed on a decline."""

from decimal import Decimal

import pytest
from django.urls import reverse

from billing.models import PaymentTransaction, TransactionOutcome
from billing.providers.test import DEFAULT_STORE
from core.actors import ActorKind
from orders.models import (
    HoldKind,
    OrderEvent,
    OrderEventType,
    OrderHold,
    PaymentStatus,
)
from orders.placement import LineRequest, OrderRequest, place_order
from selfservice import links
from tests.billing.conftest import NEW_YORK, SYSTEM, make_products, shop, warehouse
from tests.factories import CustomerFactory

__all__ = ["shop", "warehouse"]

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _fresh_provider():
    DEFAULT_STORE.clear()
    yield
    DEFAULT_STORE.clear()


@pytest.fixture
def declined(shop):
    """A card order whose card was declined at placement: on a payment hold."""
    [product] = make_products(shop, [Decimal("30.00")])
    order = place_order(
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
            lines=[LineRequest(sku=product.sku, quantity=1)],
            payment_token="tok_decline",
        ),
        actor=SYSTEM,
    ).order
    order.refresh_from_db()
    assert order.payment_status == PaymentStatus.FAILED
    return order


def payment_holds(order):
    return OrderHold.objects.filter(order=order, kind=HoldKind.PAYMENT, released_at__isnull=True)


def test_another_card_is_authorised_after_its_confirmation_and_releases_the_hold(client, declined):
    order = declined
    token = links.make_token(order.pk)
    path = reverse("selfservice:payment", kwargs={"token": token})
    page = client.get(links.status_path(order)).content.decode()
    assert "Update your payment card" in page
    assert client.get(path).status_code == 200

    review = client.post(path, {"token": "tok_approve", "step": "review"})
    assert review.status_code == 200
    assert "Yes, use this card" in review.content.decode()
    assert "$" in review.content.decode()
    assert payment_holds(order).exists()

    done = client.post(path, {"token": "tok_approve", "step": "confirm"})

    assert done.status_code == 302
    order.refresh_from_db()
    assert order.payment_token == "tok_approve"
    assert order.payment_status == PaymentStatus.AUTHORISED
    assert not payment_holds(order).exists()
    hold = OrderHold.objects.get(order=order, kind=HoldKind.PAYMENT)
    assert order.email in hold.release_reason
    released = OrderEvent.objects.get(order=order, type=OrderEventType.HOLD_RELEASED)
    assert released.actor_kind == ActorKind.SYSTEM
    [note] = OrderEvent.objects.filter(order=order, actor_kind=ActorKind.CUSTOMER)
    assert note.actor_label == order.email
    assert "Another card" in note.message
    approved = PaymentTransaction.objects.get(
        payment__order=order, outcome=TransactionOutcome.SUCCEEDED
    )
    assert approved.amount == order.grand_total
    assert "Update your payment card" not in client.get(done["Location"]).content.decode()


def test_a_declined_card_is_a_message_and_changes_nothing(client, declined):
    order = declined
    path = reverse("selfservice:payment", kwargs={"token": links.make_token(order.pk)})
    timeline = OrderEvent.objects.filter(order=order).exclude(
        type=OrderEventType.NOTIFICATION_SENT  # the "payment failed" e-mail, sent again
    )
    events = timeline.count()

    response = client.post(path, {"token": "tok_insufficient_funds", "step": "confirm"})

    assert response.status_code == 402
    body = response.content.decode()
    assert "This card was declined" in body
    assert "Nothing was charged" in body
    order.refresh_from_db()
    assert order.payment_token == "tok_decline"
    assert order.payment_status == PaymentStatus.FAILED
    assert payment_holds(order).count() == 1
    assert not OrderEvent.objects.filter(order=order, actor_kind=ActorKind.CUSTOMER).exists()
    # Only the ledger keeps the attempt (append-only); the timeline is as it was.
    assert timeline.count() == events


def test_the_same_card_asked_twice_gets_the_first_answer(client, declined):
    order = declined
    path = reverse("selfservice:payment", kwargs={"token": links.make_token(order.pk)})
    client.post(path, {"token": "tok_decline", "step": "confirm"})
    attempts = PaymentTransaction.objects.filter(payment__order=order).count()
    again = client.post(path, {"token": "tok_decline", "step": "confirm"})
    assert again.status_code == 402
    assert PaymentTransaction.objects.filter(payment__order=order).count() == attempts


def test_an_order_without_a_payment_hold_has_nothing_to_update(client, shop):
    [product] = make_products(shop, [Decimal("10.00")])
    order = place_order(
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
            lines=[LineRequest(sku=product.sku, quantity=1)],
            payment_token="tok_approve",
        ),
        actor=SYSTEM,
    ).order
    path = reverse("selfservice:payment", kwargs={"token": links.make_token(order.pk)})
    response = client.post(path, {"token": "tok_approve", "step": "confirm"})
    assert response.status_code == 409
    assert PaymentTransaction.objects.filter(payment__order=order).count() == 1
