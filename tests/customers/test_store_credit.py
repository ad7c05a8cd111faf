"""The store credit ledger: services that move a balance, the database's guards (never
below zero, entries never rewritten) and the integrity check."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.utils import DatabaseError

from core.actors import Actor
from core.errors import InvalidInput
from customers.integrity import check_store_credit
from customers.store_credit import (
    InsufficientStoreCredit,
    StoreCreditCurrencyMismatch,
    adjust_store_credit,
    get_order_store_credit,
    get_store_credit_balance,
    grant_store_credit,
    list_store_credit_entries,
    return_store_credit,
    spend_store_credit,
)
from customers.store_credit_models import StoreCreditAccount, StoreCreditEntry, StoreCreditKind
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

D = Decimal
FINANCE = Actor(kind="user", label="finance-user")


@pytest.fixture
def customer():
    return CustomerFactory()


def grant(customer, amount: str, kind: str = StoreCreditKind.GOODWILL, **extra):
    return grant_store_credit(
        customer_id=customer.pk,
        amount=D(amount),
        currency="USD",
        kind=kind,
        reason="sorry for the wait",
        actor=FINANCE,
        **extra,
    )


def test_a_grant_opens_the_account_and_appends_an_entry(customer):
    entry = grant(customer, "25.00", order_number="SO-1", reference="CN-2026-000001")

    assert get_store_credit_balance(customer.pk) == (D("25.00"), "USD")
    assert entry.kind == StoreCreditKind.GOODWILL
    assert entry.amount == entry.balance_after == D("25.00")
    assert entry.order_number == "SO-1"
    assert entry.reference == "CN-2026-000001"
    assert entry.actor_label == "finance-user"
    assert entry.created_at is not None


def test_every_movement_is_an_entry_and_the_balance_follows(customer):
    grant(customer, "50.00")
    spend_store_credit(
        customer_id=customer.pk,
        amount=D("30.00"),
        currency="USD",
        order_number="SO-9",
        actor=FINANCE,
    )
    return_store_credit(
        customer_id=customer.pk,
        amount=D("10.00"),
        currency="USD",
        order_number="SO-9",
        actor=FINANCE,
    )
    adjust_store_credit(
        customer_id=customer.pk,
        amount=D("-5.00"),
        currency="USD",
        reason="typo",
        actor=FINANCE,
    )

    entries = list(list_store_credit_entries(customer.pk))
    assert [e.kind for e in entries] == [
        StoreCreditKind.ADJUSTED,
        StoreCreditKind.GIVEN_BACK,
        StoreCreditKind.SPENT,
        StoreCreditKind.GOODWILL,
    ]
    assert [e.balance_after for e in entries] == [D("25.00"), D("30.00"), D("20.00"), D("50.00")]
    assert get_store_credit_balance(customer.pk)[0] == D("25.00")
    credit = get_order_store_credit("SO-9")
    assert (credit.spent, credit.given_back, credit.net_spent) == (D("30"), D("10"), D("20"))
    assert check_store_credit() == []


def test_spending_more_than_the_balance_is_refused_naming_it_and_writes_nothing(customer):
    grant(customer, "20.00")

    with pytest.raises(InsufficientStoreCredit) as refused:
        spend_store_credit(
            customer_id=customer.pk,
            amount=D("20.01"),
            currency="USD",
            order_number="SO-1",
            actor=FINANCE,
        )

    assert refused.value.status == 422
    assert refused.value.code == "insufficient_store_credit"
    assert "$20.00" in refused.value.message
    assert refused.value.details["balance"] == "20.00"
    assert get_store_credit_balance(customer.pk)[0] == D("20.00")
    assert StoreCreditEntry.objects.count() == 1


def test_an_adjustment_below_zero_is_refused_and_writes_nothing(customer):
    grant(customer, "10.00")

    with pytest.raises(InsufficientStoreCredit):
        adjust_store_credit(
            customer_id=customer.pk,
            amount=D("-10.01"),
            currency="USD",
            reason="clawback",
            actor=FINANCE,
        )

    assert get_store_credit_balance(customer.pk)[0] == D("10.00")
    assert StoreCreditEntry.objects.count() == 1


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda c: adjust_store_credit(
                customer_id=c.pk, amount=D("5"), currency="USD", reason=" ", actor=FINANCE
            ),
            "reason",
        ),
        (
            lambda c: grant_store_credit(
                customer_id=c.pk, amount=D("5"), currency="USD", kind="goodwill", actor=FINANCE
            ),
            "reason",
        ),
        (
            lambda c: grant_store_credit(
                customer_id=c.pk, amount=D("5"), currency="USD", kind="spent", actor=FINANCE
            ),
            "grant",
        ),
        (
            lambda c: grant_store_credit(
                customer_id=c.pk, amount=D("0.001"), currency="USD", kind="refund", actor=FINANCE
            ),
            "cents",
        ),
        (
            lambda c: grant_store_credit(
                customer_id=c.pk, amount=D("-5"), currency="USD", kind="refund", actor=FINANCE
            ),
            "non-zero",
        ),
    ],
)
def test_bad_input_is_refused_and_writes_nothing(customer, call, message):
    with pytest.raises(InvalidInput) as refused:
        call(customer)
    assert message in refused.value.message
    assert not StoreCreditEntry.objects.exists()
    assert get_store_credit_balance(customer.pk)[0] == 0


def test_another_currency_is_refused(customer):
    grant(customer, "10.00")
    with pytest.raises(StoreCreditCurrencyMismatch):
        grant_store_credit(
            customer_id=customer.pk, amount=D("5"), currency="EUR", kind="refund", actor=FINANCE
        )
    with pytest.raises(StoreCreditCurrencyMismatch):
        spend_store_credit(
            customer_id=customer.pk,
            amount=D("5"),
            currency="EUR",
            order_number="SO-1",
            actor=FINANCE,
        )
    assert StoreCreditEntry.objects.count() == 1


def test_an_order_cannot_get_back_more_than_it_spent(customer):
    grant(customer, "50.00")
    spend_store_credit(
        customer_id=customer.pk,
        amount=D("30.00"),
        currency="USD",
        order_number="SO-1",
        actor=FINANCE,
    )
    with pytest.raises(InvalidInput):
        return_store_credit(
            customer_id=customer.pk,
            amount=D("30.01"),
            currency="USD",
            order_number="SO-1",
            actor=FINANCE,
        )
    assert get_store_credit_balance(customer.pk)[0] == D("20.00")


# --- what the database guarantees -------------------------------------------------------


def test_the_database_refuses_a_negative_balance(customer):
    grant(customer, "10.00")
    with pytest.raises(IntegrityError), transaction.atomic():
        StoreCreditAccount.objects.filter(customer=customer).update(balance=D("-0.01"))
    assert get_store_credit_balance(customer.pk)[0] == D("10.00")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigger is PostgreSQL's")
def test_ledger_entries_cannot_be_updated_or_deleted(customer):
    entry = grant(customer, "10.00")

    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        StoreCreditEntry.objects.filter(pk=entry.pk).update(amount=D("1000.00"))
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        StoreCreditEntry.objects.filter(pk=entry.pk).delete()

    entry.refresh_from_db()
    assert entry.amount == D("10.00")


def test_the_integrity_check_finds_a_balance_changed_around_the_ledger(customer):
    grant(customer, "10.00")
    StoreCreditAccount.objects.filter(customer=customer).update(balance=D("12.00"))

    [violation] = check_store_credit()

    assert violation.check == "store_credit_ledger"
    assert "12.00" in violation.detail
