"""Money received against invoices on terms (``billing.receivables``).

A ``ReceivedPayment`` is money a company (or a customer) sent: a bank transfer, a
cheque. Its ``PaymentApplication`` rows say which invoices it paid and how much of each;
what is not applied stays "on account", to be applied later. An application is never
edited: unapplying it stamps ``reversed_at`` (the journal reports both days).
"""

from decimal import Decimal

from django.db import models
from django.db.models import F, Q

from core.actors import ActorFields
from core.money import format_money

ZERO = Decimal("0.00")


class ReceivedPaymentMethod(models.TextChoices):
    BANK_TRANSFER = "bank_transfer", "Bank transfer"
    CHEQUE = "cheque", "Cheque"
    OTHER = "other", "Other"


class ReceivedPayment(ActorFields):
    """Money received from a company or a customer, applied to their invoices in part,
    in full or across several. ``applied_total`` is the sum of its live applications,
    kept by ``billing.receivables`` under the payment's row lock; the rest is on
    account."""

    company = models.ForeignKey(
        "customers.Company",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="received_payments",
    )
    customer = models.ForeignKey(
        "customers.Customer",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="received_payments",
        help_text="The payer when it is a customer without a company.",
    )
    received_date = models.DateField(db_index=True)
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3)
    method = models.CharField(
        max_length=16,
        choices=ReceivedPaymentMethod.choices,
        default=ReceivedPaymentMethod.BANK_TRANSFER,
    )
    bank_reference = models.CharField(
        max_length=100,
        blank=True,
        help_text="The bank's reference of the transfer (or the cheque number): a "
        "statement imported twice is not booked twice.",
    )
    note = models.TextField(blank=True)
    applied_total = models.DecimalField(max_digits=14, decimal_places=2, default=ZERO)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-received_date", "-id"]
        permissions = [
            ("record_receivedpayment", "Can record payments received and apply them"),
            ("import_receivedpayment", "Can import a bank statement of payments received"),
        ]
        indexes = [
            models.Index(fields=["company", "-received_date"], name="received_payment_company_date")
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(company__isnull=False) | Q(customer__isnull=False),
                name="received_payment_has_payer",
            ),
            models.CheckConstraint(
                condition=Q(amount__gt=0), name="received_payment_amount_positive"
            ),
            models.CheckConstraint(
                condition=Q(applied_total__gte=0) & Q(applied_total__lte=F("amount")),
                name="received_payment_applied_within_amount",
            ),
            models.UniqueConstraint(
                fields=["company", "bank_reference"],
                condition=Q(company__isnull=False) & ~Q(bank_reference=""),
                name="received_payment_company_reference_unique",
            ),
            models.UniqueConstraint(
                fields=["customer", "bank_reference"],
                condition=Q(company__isnull=True) & ~Q(bank_reference=""),
                name="received_payment_customer_reference_unique",
            ),
        ]

    def __str__(self) -> str:
        reference = f" ({self.bank_reference})" if self.bank_reference else ""
        return (
            f"Payment of {format_money(self.amount, self.currency)} received "
            f"{self.received_date:%Y-%m-%d}{reference}"
        )

    @property
    def on_account(self) -> Decimal:
        """What is not applied to any invoice yet."""
        return self.amount - self.applied_total


class PaymentApplication(ActorFields):
    """An amount of a received payment applied to one invoice. Live until
    ``reversed_at``; a reversed application no longer counts on either side."""

    payment = models.ForeignKey(
        ReceivedPayment, on_delete=models.PROTECT, related_name="applications"
    )
    invoice = models.ForeignKey(
        "billing.Invoice", on_delete=models.PROTECT, related_name="payment_applications"
    )
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    applied_at = models.DateTimeField()
    reversed_at = models.DateTimeField(null=True, blank=True)
    reversed_by_label = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["payment_id", "id"]
        indexes = [
            models.Index(fields=["invoice", "reversed_at"], name="payment_application_invoice")
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gt=0), name="payment_application_amount_positive"
            ),
            models.CheckConstraint(
                condition=Q(reversed_at__isnull=True) | Q(reversed_at__gte=F("applied_at")),
                name="payment_application_reversed_after_applied",
            ),
        ]

    def __str__(self) -> str:
        amount = format_money(self.amount, self.payment.currency)
        return f"{amount} of {self.payment} to invoice {self.invoice.number}"
