"""Store credit in the console: the customer page shows the balance and the ledger,
finance grants goodwill credit or corrects a balance with a reason (a refusal is a
message, nothing written), agents may not."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from core.actors import Actor
from customers.store_credit import get_store_credit_balance, grant_store_credit
from customers.store_credit_models import StoreCreditEntry, StoreCreditKind
from oms.roles import sync_staff_groups
from tests.factories import CustomerFactory, UserFactory

pytestmark = pytest.mark.django_db

D = Decimal


def client_for(role: str) -> Client:
    sync_staff_groups()
    user = UserFactory(username=f"{role}-user")
    user.groups.add(Group.objects.get(name=role))
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def customer():
    customer = CustomerFactory()
    grant_store_credit(
        customer_id=customer.pk,
        amount=D("40.00"),
        currency="USD",
        kind=StoreCreditKind.REFUND,
        order_number="SO-1000042",
        reference="CN-2026-000007",
        reason="Returned goods",
        actor=Actor.system("refunds"),
    )
    return customer


def adjust_url(customer) -> str:
    return reverse("admin:customers_customer_adjust_store_credit", args=[customer.pk])


def test_the_customer_page_shows_the_balance_and_the_ledger(customer):
    client = client_for("finance")

    page = client.get(reverse("admin:customers_customer_change", args=[customer.pk]))

    assert page.status_code == 200
    html = page.content.decode()
    assert "Store credit" in html
    assert "$40.00" in html
    assert "Refund as store credit" in html
    assert "SO-1000042" in html
    assert "CN-2026-000007" in html
    assert adjust_url(customer) in html  # finance has the button


def test_finance_grants_goodwill_credit_with_a_reason(customer):
    client = client_for("finance")

    response = client.post(
        adjust_url(customer), {"kind": "goodwill", "amount": "15.00", "reason": "Late parcel"}
    )

    assert response.status_code == 302
    assert get_store_credit_balance(customer.pk)[0] == D("55.00")
    entry = StoreCreditEntry.objects.order_by("-id").first()
    assert entry.kind == StoreCreditKind.GOODWILL
    assert entry.reason == "Late parcel"
    assert entry.actor_label == "finance-user"
    messages = [str(m) for m in get_messages(response.wsgi_request)]
    assert any("$55.00" in m for m in messages)


def test_a_correction_below_zero_is_refused_as_a_message_and_writes_nothing(customer):
    client = client_for("finance")

    response = client.post(
        adjust_url(customer), {"kind": "correction", "amount": "-50.00", "reason": "Clawback"}
    )

    assert response.status_code == 200
    messages = [str(m) for m in get_messages(response.wsgi_request)]
    assert any("$40.00" in m for m in messages)
    assert get_store_credit_balance(customer.pk)[0] == D("40.00")
    assert StoreCreditEntry.objects.count() == 1


def test_agents_cannot_adjust_store_credit(customer):
    client = client_for("agent")

    page = client.get(reverse("admin:customers_customer_change", args=[customer.pk]))
    assert page.status_code == 200
    assert "$40.00" in page.content.decode()
    assert adjust_url(customer) not in page.content.decode()
    response = client.post(
        adjust_url(customer), {"kind": "goodwill", "amount": "15.00", "reason": "x"}
    )
    assert response.status_code == 403
    assert StoreCreditEntry.objects.count() == 1
