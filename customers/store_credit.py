"""Store credit: the services that move a customer's balance, and its reads.

Every change locks the customer's ``StoreCreditAccount`` row, decides under that lock,
updates the balance and appends a ``StoreCreditEntry`` in the same transaction; the
database refuses a negative balance (CHECK) and any rewrite of an entry (trigger). In
the global lock order the account comes after the order row (cancel, edit, refund) and
before any stock row (placement spends before it commits demand).

Orders, returns and billing sit above ``customers``: they call these services inside
their own transaction and write the order's timeline entry themselves, naming the order
by its number here.
"""

from dataclasses import dataclass
from decimal import Decimal
from typing import NoReturn

from django.db import connection, transaction
from django.db.models import QuerySet, Sum
from django.utils import timezone

from core.actors import Actor
from core.errors import InvalidInput
from core.money import format_money, to_cents

from . import sql
from .models import Customer
from .store_credit_models import (
    GRANT_KINDS,
    ZERO,
    StoreCreditAccount,
    StoreCreditEntry,
    StoreCreditKind,
)


class InsufficientStoreCredit(InvalidInput):
    """The balance does not cover what was to be spent; nothing was written."""

    code = "insufficient_store_credit"
    status = 422


class StoreCreditCurrencyMismatch(InvalidInput):
    code = "store_credit_currency"
    status = 422


# --- reads ---------------------------------------------------------------------------


def get_store_credit_balance(customer_id: int) -> tuple[Decimal, str]:
    """The customer's balance and its currency (zero in US dollars without an account)."""
    row = (
        StoreCreditAccount.objects.filter(customer_id=customer_id)
        .values_list("balance", "currency")
        .first()
    )
    return row if row is not None else (ZERO, "USD")


def list_store_credit_entries(customer_id: int) -> QuerySet[StoreCreditEntry]:
    """The customer's ledger, newest first."""
    return StoreCreditEntry.objects.filter(account_id=customer_id).order_by("-created_at", "-id")


@dataclass(frozen=True)
class OrderStoreCredit:
    """What an order's store-credit payment amounts to, from the ledger."""

    spent: Decimal  # taken from the balance (positive)
    given_back: Decimal  # returned on cancellations and edits
    refunded: Decimal  # refunds credited as store credit

    @property
    def net_spent(self) -> Decimal:
        """What the order holds of the customer's credit: spent less given back."""
        return self.spent - self.given_back


def get_order_store_credit(order_number: str) -> OrderStoreCredit:
    sums = dict(
        StoreCreditEntry.objects.filter(order_number=order_number)
        .values("kind")
        .annotate(t=Sum("amount"))
        .values_list("kind", "t")
    )
    return OrderStoreCredit(
        spent=-(sums.get(StoreCreditKind.SPENT) or ZERO),
        given_back=sums.get(StoreCreditKind.GIVEN_BACK) or ZERO,
        refunded=sums.get(StoreCreditKind.REFUND) or ZERO,
    )


# --- writes --------------------------------------------------------------------------


def _check_amount(amount: Decimal, *, signed: bool = False) -> Decimal:
    if (
        not isinstance(amount, Decimal)
        or not amount.is_finite()
        or to_cents(amount) != amount
        or amount == 0
        or (amount < 0 and not signed)
    ):
        raise InvalidInput(
            "A store credit amount is a non-zero amount with cents at most.",
            fields={"amount": str(amount)},
        )
    return amount


def _check_currency(account: StoreCreditAccount, currency: str) -> None:
    if account.currency != currency:
        raise StoreCreditCurrencyMismatch(
            f"This customer's store credit is in {account.currency}, not {currency}.",
            currency=account.currency,
        )


def store_credit_account_for_update(customer_id: int, currency: str) -> StoreCreditAccount:
    """The customer's account row, locked (created in ``currency`` on first use)."""
    if not Customer.objects.filter(pk=customer_id).exists():
        raise InvalidInput(f"There is no customer {customer_id}.")
    StoreCreditAccount.objects.get_or_create(
        customer_id=customer_id, defaults={"currency": currency}
    )
    return StoreCreditAccount.objects.select_for_update(no_key=True).get(customer_id=customer_id)


def _append(
    account: StoreCreditAccount,
    *,
    kind: str,
    amount: Decimal,
    actor: Actor,
    order_number: str,
    reference: str,
    reason: str,
) -> StoreCreditEntry:
    if account.balance + amount < 0:
        raise InsufficientStoreCredit(
            f"The store credit balance is {format_money(account.balance, account.currency)}: "
            f"it cannot go down by {format_money(-amount, account.currency)}.",
            balance=str(account.balance),
        )
    account.balance += amount
    account.save(update_fields=["balance", "updated_at"])
    return StoreCreditEntry.objects.create(
        account=account,
        kind=kind,
        amount=amount,
        balance_after=account.balance,
        currency=account.currency,
        order_number=order_number,
        reference=reference[:64],
        reason=reason[:300],
        **actor.as_fields(),
    )


@transaction.atomic
def grant_store_credit(
    *,
    customer_id: int,
    amount: Decimal,
    currency: str,
    kind: str,
    actor: Actor,
    order_number: str = "",
    reference: str = "",
    reason: str = "",
) -> StoreCreditEntry:
    """Add ``amount`` (positive) to the customer's balance, for a return, a refund
    (billing's ``refund_order`` to store credit) or goodwill. Opens the account in
    ``currency`` on first use; refuses another currency, a bad amount or kind."""
    if kind not in GRANT_KINDS:
        raise InvalidInput(f"{kind!r} is not a kind of store credit grant.")
    if kind == StoreCreditKind.GOODWILL and not reason.strip():
        raise InvalidInput("Goodwill credit needs a reason.", fields={"reason": "required"})
    _check_amount(amount)
    account = store_credit_account_for_update(customer_id, currency)
    _check_currency(account, currency)
    return _append(
        account,
        kind=kind,
        amount=amount,
        actor=actor,
        order_number=order_number,
        reference=reference,
        reason=reason.strip(),
    )


@transaction.atomic
def adjust_store_credit(
    *, customer_id: int, amount: Decimal, currency: str, reason: str, actor: Actor
) -> StoreCreditEntry:
    """Finance's correction of a balance: ``amount`` signed, a reason required. Refused
    (nothing written) when it would take the balance below zero."""
    if not reason.strip():
        raise InvalidInput("An adjustment needs a reason.", fields={"reason": "required"})
    _check_amount(amount, signed=True)
    account = store_credit_account_for_update(customer_id, currency)
    _check_currency(account, currency)
    return _append(
        account,
        kind=StoreCreditKind.ADJUSTED,
        amount=amount,
        actor=actor,
        order_number="",
        reference="",
        reason=reason.strip(),
    )


def spend_store_credit(
    *,
    customer_id: int,
    amount: Decimal,
    currency: str,
    order_number: str,
    actor: Actor,
    reason: str = "",
) -> StoreCreditEntry:
    """Take ``amount`` (positive) from the customer's balance for an order. Raises
    ``InsufficientStoreCredit`` (422, naming the balance; nothing written) when the
    balance does not cover it, ``StoreCreditCurrencyMismatch`` in another currency.

    On PostgreSQL this is one statement (the conditional update of the account and the
    entry's insert), as placement runs it: the account row stays locked until commit,
    so two orders spending the same balance queue, and the second sees what is left."""
    _check_amount(amount)
    entry = _spend(
        customer_id=customer_id,
        amount=amount,
        currency=currency,
        order_number=order_number,
        actor=actor,
        reason=reason[:300],
    )
    if entry is None:
        _refuse_spend(customer_id, amount, currency)
    return entry


# Atomic without a savepoint of its own: placement calls it on its hot path, inside its
# transaction. It raises nothing (a refusal is raised by the caller, outside the block),
# so the caller's transaction is never left marked for rollback by a refusal.
@transaction.atomic(savepoint=False)
def _spend(
    *,
    customer_id: int,
    amount: Decimal,
    currency: str,
    order_number: str,
    actor: Actor,
    reason: str,
) -> StoreCreditEntry | None:
    """The spend, or None when the balance (in that currency) does not cover it."""
    fields = actor.as_fields()
    if connection.vendor == "postgresql":
        row = sql.spend(
            customer_id=customer_id,
            amount=amount,
            currency=currency,
            order_number=order_number,
            reason=reason,
            actor_kind=fields["actor_kind"],
            actor_user_id=fields["actor_user_id"],
            actor_label=fields["actor_label"],
            now=timezone.now(),
        )
        if row is None:
            return None
        entry_id, balance_after, created_at = row
        return StoreCreditEntry(
            id=entry_id,
            account_id=customer_id,
            kind=StoreCreditKind.SPENT,
            amount=-amount,
            balance_after=balance_after,
            currency=currency,
            order_number=order_number,
            reason=reason,
            created_at=created_at,
            **fields,
        )
    found = (
        StoreCreditAccount.objects.select_for_update(no_key=True)
        .filter(customer_id=customer_id, currency=currency, balance__gte=amount)
        .first()
    )
    if found is None:
        return None
    return _append(
        found,
        kind=StoreCreditKind.SPENT,
        amount=-amount,
        actor=actor,
        order_number=order_number,
        reference="",
        reason=reason,
    )


def _refuse_spend(customer_id: int, amount: Decimal, currency: str) -> NoReturn:
    balance, held_in = get_store_credit_balance(customer_id)
    if balance and held_in != currency:
        raise StoreCreditCurrencyMismatch(
            f"The store credit is in {held_in}; this order is in {currency}.",
            currency=held_in,
        )
    raise InsufficientStoreCredit(
        f"The store credit balance is {format_money(balance, currency)}, less than the "
        f"{format_money(amount, currency)} to pay: pay by card, or for less.",
        balance=str(balance),
        amount=str(amount),
    )


@transaction.atomic
def return_store_credit(
    *,
    customer_id: int,
    amount: Decimal,
    currency: str,
    order_number: str,
    actor: Actor,
    reason: str = "",
) -> StoreCreditEntry:
    """Give back ``amount`` (positive) of what an order spent, when it is cancelled or
    edited down. Refuses more than the order still holds of the customer's credit."""
    _check_amount(amount)
    account = store_credit_account_for_update(customer_id, currency)
    _check_currency(account, currency)
    held = get_order_store_credit(order_number).net_spent
    if amount > held:
        raise InvalidInput(
            f"Order {order_number} holds {format_money(held, currency)} of store credit; "
            f"{format_money(amount, currency)} cannot be given back.",
            held=str(held),
        )
    return _append(
        account,
        kind=StoreCreditKind.GIVEN_BACK,
        amount=amount,
        actor=actor,
        order_number=order_number,
        reference="",
        reason=reason,
    )
