"""Store credit: a customer's balance, and the append-only ledger that explains it.

The balance lives on one row per customer (``StoreCreditAccount``), locked by every
change and checked by the database never to go below zero; each change appends a
``StoreCreditEntry`` with its signed amount and the balance after it, so the balance
always equals the sum of the entries (``check_integrity`` holds that). PostgreSQL
refuses UPDATE and DELETE on the entries (migration ``customers/0005``), as it does on
the stock ledger. Orders and returns are named by number: ``customers`` sits below them.
The services are in ``customers.store_credit``.
"""

from decimal import Decimal

from django.db import models
from django.db.models import Q

from core.actors import ActorFields
from core.money import format_money

ZERO = Decimal("0")


class StoreCreditKind(models.TextChoices):
    """Why the balance moved. Grants and given-back amounts are positive, spends
    negative; a finance adjustment may be either."""

    RETURN = "return", "Granted for a return"
    GOODWILL = "goodwill", "Granted as goodwill"
    REFUND = "refund", "Refund as store credit"
    SPENT = "spent", "Spent on an order"
    GIVEN_BACK = "given_back", "Given back (order cancelled or edited)"
    ADJUSTED = "adjusted", "Adjusted by finance"


# The kinds ``grant_store_credit`` writes (money the customer gains from us).
GRANT_KINDS = (StoreCreditKind.RETURN, StoreCreditKind.GOODWILL, StoreCreditKind.REFUND)
POSITIVE_KINDS = (*GRANT_KINDS, StoreCreditKind.GIVEN_BACK)


class StoreCreditAccount(models.Model):
    """A customer's store-credit balance: the row every change locks."""

    customer = models.OneToOneField(
        "customers.Customer",
        primary_key=True,
        on_delete=models.PROTECT,
        related_name="store_credit",
    )
    currency = models.CharField(max_length=3, default="USD")
    balance = models.DecimalField(max_digits=14, decimal_places=2, default=ZERO)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "store credit account"
        permissions = [("adjust_store_credit", "Can grant and adjust store credit")]
        constraints = [
            models.CheckConstraint(condition=Q(balance__gte=0), name="store_credit_balance_nonneg"),
        ]

    def __str__(self) -> str:
        return f"Store credit of customer {self.customer_id}: " + format_money(
            self.balance, self.currency
        )


class StoreCreditEntry(ActorFields):
    """One movement of a customer's store credit. Append-only."""

    account = models.ForeignKey(
        StoreCreditAccount, on_delete=models.PROTECT, related_name="entries", db_index=False
    )
    kind = models.CharField(max_length=16, choices=StoreCreditKind.choices)
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    balance_after = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3)
    # What the movement is about, by number: the order that spent or got credit back,
    # the document behind a grant (a credit note, a return).
    order_number = models.CharField(max_length=32, blank=True)
    reference = models.CharField(max_length=64, blank=True)
    reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "store credit entry"
        verbose_name_plural = "store credit entries"
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["account", "-created_at"], name="store_credit_entry_account"),
            models.Index(
                fields=["order_number"],
                condition=~Q(order_number=""),
                name="store_credit_entry_order",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(balance_after__gte=0), name="store_credit_entry_balance_nonneg"
            ),
            models.CheckConstraint(
                condition=Q(kind__in=POSITIVE_KINDS, amount__gt=0)
                | Q(kind=StoreCreditKind.SPENT, amount__lt=0)
                | (Q(kind=StoreCreditKind.ADJUSTED) & ~Q(amount=0)),
                name="store_credit_entry_sign_by_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {format_money(self.amount, self.currency)}"
