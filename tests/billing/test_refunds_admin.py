"""The order's "Refund" page: finance and managers refund units or an amount; a refusal
is a message with nothing written; agents get neither the button nor the page."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from billing.models import CreditNote, Invoice, Payment, Refund, RefundStatus
from billing.providers.test import DEFAULT_STORE
from oms.roles import sync_staff_groups
from tests.billing.conftest import make_products, place_routed, ship
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

D = Decimal


@pytest.fixture(autouse=True)
def _fresh_provider():
    DEFAULT_STORE.clear()
    yield
    DEFAULT_STORE.clear()


@pytest.fixture
def shipped(shop):
    a, b = make_products(shop, [D("30.00"), D("12.50")])
    order, fo = place_routed([(a, 2), (b, 1)], payment_token="tok_approve")
    ship(fo)
    order.refresh_from_db()
    return order


def client_for(role: str) -> Client:
    sync_staff_groups()
    user = UserFactory(username=f"{role}-user")
    user.groups.add(Group.objects.get(name=role))
    client = Client()
    client.force_login(user)
    return client


def refund_url(order) -> str:
    return reverse("admin:orders_order_refund", args=[order.pk])


def order_page(client, order) -> str:
    response = client.get(reverse("admin:orders_order_change", args=[order.pk]))
    assert response.status_code == 200
    return response.content.decode()


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.mark.parametrize("role", ["finance", "manager"])
def test_finance_refunds_an_amount_from_the_order_page(shipped, role):
    client = client_for(role)
    assert refund_url(shipped) in order_page(client, shipped)
    page = client.get(refund_url(shipped))
    assert page.status_code == 200
    assert f"Refundable now: ${shipped.grand_total}" in page.content.decode()

    response = client.post(
        refund_url(shipped), {"amount": "10.00", "reason": "goodwill", "note": "Late"}
    )

    assert response.status_code == 302
    [credit_note] = CreditNote.objects.filter(order=shipped)
    [message] = messages_of(response)
    assert credit_note.number in message
    assert "paid back to the card" in message
    refund = Refund.objects.get()
    assert refund.status == RefundStatus.REFUNDED
    assert refund.actor_label == f"{role}-user"
    assert Payment.objects.get(order=shipped).amount_refunded == D("10.00")
    assert credit_note.number in order_page(client, shipped)


def test_finance_refunds_units_of_a_line(shipped):
    client = client_for("finance")
    line = shipped.lines.get(line_number=2)
    invoice_line = Invoice.objects.get(order=shipped).lines.get(order_line=line)

    response = client.post(refund_url(shipped), {f"quantity_{line.pk}": "1", "reason": "damaged"})

    assert response.status_code == 302
    assert Refund.objects.get().amount == invoice_line.line_total + invoice_line.tax


def test_a_refusal_is_a_message_and_writes_nothing(shipped):
    client = client_for("finance")
    too_much = str(shipped.grand_total + D("0.01"))

    response = client.post(refund_url(shipped), {"amount": too_much, "reason": "goodwill"})

    assert response.status_code == 200
    [message] = messages_of(response)
    assert f"can be refunded ${shipped.grand_total}" in message
    assert not Refund.objects.exists()
    assert not CreditNote.objects.exists()


def test_an_empty_refund_is_a_form_error(shipped):
    response = client_for("finance").post(refund_url(shipped), {"reason": "goodwill"})
    assert response.status_code == 200
    assert "Give units to refund, an amount, or both." in response.content.decode()
    assert not Refund.objects.exists()


def test_an_agent_has_no_button_and_no_page(shipped):
    client = client_for("agent")
    assert refund_url(shipped) not in order_page(client, shipped)
    assert client.get(refund_url(shipped)).status_code == 403
    response = client.post(refund_url(shipped), {"amount": "1.00", "reason": "goodwill"})
    assert response.status_code == 403
    assert not Refund.objects.exists()
