"""Invoices and credit notes: numbered without gaps, immutable once issued.

An invoice is issued for each shipment (``billing.invoicing``), a credit note corrects
an invoice (``billing.credit_notes``). PostgreSQL refuses any change to what a document
says once it is issued (migration ``0002_immutable_documents``): only the columns listed
in ``INVOICE_MUTABLE_COLUMNS`` / ``CREDIT_NOTE_MUTABLE_COLUMNS`` may change, and no row
may be deleted.
"""

from decimal import Decimal

from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Round

from core.actors import ActorFields
from core.money import format_money

# One list of payment methods: the order's (orders may not import billing).
from orders.models import PaymentMethod, PaymentStatus

ZERO = Decimal("0")

# The columns of an issued document that may still change: what is owed and paid, and
# the stored PDF (rendered after issuing). Every other column is frozen by the trigger,
# including columns added later unless they are listed here and in a migration.
INVOICE_MUTABLE_COLUMNS = ("status", "amount_paid", "paid_at", "pdf")
CREDIT_NOTE_MUTABLE_COLUMNS = ("pdf",)


# The rules the data migration seeds (code, name, days): one per value of
# customers.Company.payment_terms, and "due on receipt" for customers without terms.
# Invoicing puts back one of these when its row is missing (a flushed database).
BUILT_IN_PAYMENT_TERMS = (
    ("prepaid", "Prepaid (card)", 0),
    ("due_on_receipt", "Due on receipt", 0),
    ("net15", "Net 15", 15),
    ("net30", "Net 30", 30),
    ("net60", "Net 60", 60),
)


class PaymentTermsRule(models.Model):
    """How long a customer on terms has to pay: due date = issue date + ``days``.

    Looked up by ``code``, which is the value of ``customers.Company.payment_terms``
    (``net30``); a rule is data, so finance can add one without a release."""

    code = models.CharField(max_length=16, unique=True)
    name = models.CharField(max_length=64)
    days = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["days", "code"]
        verbose_name = "payment terms rule"

    def __str__(self) -> str:
        return self.name


class DocumentSeries(models.Model):
    """The last number given in a series (``INV``, ``CN``) in a year.

    ``billing.numbering.next_number`` increments it under its row lock in the
    transaction that writes the document, so numbers have no gaps: a rolled-back
    document rolls its number back too."""

    series = models.CharField(max_length=8)
    year = models.PositiveSmallIntegerField()
    last_number = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name_plural = "document series"
        constraints = [
            models.UniqueConstraint(fields=["series", "year"], name="document_series_year_unique")
        ]

    def __str__(self) -> str:
        return f"{self.series} {self.year}: {self.last_number}"


class InvoiceStatus(models.TextChoices):
    ISSUED = "issued", "Open"
    PARTIALLY_PAID = "partially_paid", "Partially paid"
    PAID = "paid", "Paid"


def _amounts_nonneg(prefix: str, fields: tuple[str, ...]) -> list[models.CheckConstraint]:
    return [
        models.CheckConstraint(condition=Q(**{f"{f}__gte": 0}), name=f"{prefix}_{f}_nonneg")
        for f in fields
    ]


class Invoice(models.Model):
    """What one shipment bills: its lines, their tax, its share of shipping; or, with no
    shipment, the order's closing invoice (``billing.settlement``): the shipping and
    tax its shipments' invoices left when cancelling the rest completed the order."""

    number = models.CharField(max_length=32, unique=True)
    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="invoices")
    shipment = models.OneToOneField(
        "fulfillment.Shipment",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="invoice",
        help_text="None: the order's closing invoice.",
    )
    company = models.ForeignKey(
        "customers.Company",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="invoices",
    )
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="invoices"
    )
    currency = models.CharField(max_length=3)
    issue_date = models.DateField(db_index=True)
    issued_at = models.DateTimeField()
    due_date = models.DateField(
        null=True, blank=True, help_text="When an invoice on terms is to be paid; none for cards."
    )
    status = models.CharField(
        max_length=16, choices=InvoiceStatus.choices, default=InvoiceStatus.ISSUED
    )
    payment_method = models.CharField(max_length=16, choices=PaymentMethod.choices)
    payment_terms = models.CharField(
        max_length=16, blank=True, help_text="The terms rule's code when issued (net30)."
    )
    payment_terms_days = models.PositiveSmallIntegerField(null=True, blank=True)

    subtotal = models.DecimalField(max_digits=14, decimal_places=2)
    discount_total = models.DecimalField(max_digits=14, decimal_places=2, default=ZERO)
    shipping_total = models.DecimalField(max_digits=12, decimal_places=2, default=ZERO)
    shipping_tax = models.DecimalField(max_digits=12, decimal_places=2, default=ZERO)
    tax_total = models.DecimalField(
        max_digits=12, decimal_places=2, help_text="Line tax and shipping tax."
    )
    grand_total = models.DecimalField(max_digits=14, decimal_places=2)

    bill_to = models.JSONField(default=dict, help_text="Who is billed, as on the invoice.")
    seller = models.JSONField(default=dict, help_text="Our legal details, as on the invoice.")
    completes_order = models.BooleanField(
        default=False, help_text="The last invoice of the order: it took the remainders."
    )

    amount_paid = models.DecimalField(max_digits=14, decimal_places=2, default=ZERO)
    paid_at = models.DateTimeField(null=True, blank=True)
    pdf = models.FileField(upload_to="invoices/%Y/", blank=True)

    class Meta:
        ordering = ["-issue_date", "-number"]
        indexes = [
            models.Index(fields=["company", "-issue_date"]),
            models.Index(fields=["status", "due_date"]),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["order"],
                condition=Q(shipment__isnull=True),
                name="invoice_one_closing_per_order",
            ),
            models.CheckConstraint(
                condition=Q(
                    grand_total=Round(
                        F("subtotal") - F("discount_total") + F("shipping_total") + F("tax_total"),
                        2,
                    )
                ),
                name="invoice_grand_total_adds_up",
            ),
            models.CheckConstraint(
                condition=Q(tax_total__gte=F("shipping_tax")), name="invoice_tax_has_shipping_tax"
            ),
            models.CheckConstraint(
                condition=Q(due_date__isnull=True) | Q(due_date__gte=F("issue_date")),
                name="invoice_due_after_issue",
            ),
            *_amounts_nonneg(
                "invoice",
                (
                    "subtotal",
                    "discount_total",
                    "shipping_total",
                    "shipping_tax",
                    "tax_total",
                    "grand_total",
                    "amount_paid",
                ),
            ),
            # Card captures and payments received never pay more than the invoice (the
            # receivables service also keeps them within its balance, credits included).
            models.CheckConstraint(
                condition=Q(amount_paid__lte=F("grand_total")), name="invoice_paid_within_total"
            ),
        ]

    def __str__(self) -> str:
        return f"Invoice {self.number}"

    @property
    def total_display(self) -> str:
        return format_money(self.grand_total, self.currency)

    @property
    def payment_reference(self) -> str:
        """What the customer quotes with a payment (the QR code carries it)."""
        return self.number


class InvoiceLine(models.Model):
    """Units of one order line in the shipment. ``line_total`` is net of discount and
    before tax, as on the order line."""

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField()
    order_line = models.ForeignKey("orders.OrderLine", on_delete=models.PROTECT, related_name="+")
    sku = models.CharField(max_length=64)
    description = models.CharField(max_length=200)
    quantity = models.PositiveIntegerField()
    unit_price = models.DecimalField(max_digits=12, decimal_places=2)
    discount = models.DecimalField(max_digits=12, decimal_places=2, default=ZERO)
    tax = models.DecimalField(max_digits=12, decimal_places=2, default=ZERO)
    line_total = models.DecimalField(max_digits=14, decimal_places=2)

    class Meta:
        ordering = ["invoice_id", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["invoice", "position"], name="invoice_line_position_unique"
            ),
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="invoice_line_quantity_positive"
            ),
            models.CheckConstraint(
                condition=Q(line_total=Round(F("unit_price") * F("quantity") - F("discount"), 2)),
                name="invoice_line_total_adds_up",
            ),
            *_amounts_nonneg("invoice_line", ("unit_price", "discount", "tax", "line_total")),
        ]

    def __str__(self) -> str:
        return f"{self.sku} × {self.quantity}"


class CreditReason(models.TextChoices):
    RETURN = "return", "Returned goods"
    DAMAGED = "damaged", "Damaged in transit"
    LOST = "lost_parcel", "Lost parcel"
    PRICE_ADJUSTMENT = "price_adjustment", "Price adjustment"
    GOODWILL = "goodwill", "Goodwill"
    INVOICE_ERROR = "invoice_error", "Invoicing error"
    OTHER = "other", "Other"


class CreditNote(ActorFields):
    """A correction of an invoice: credits some of its lines or an amount, never more
    than the invoice's total over all its credit notes."""

    number = models.CharField(max_length=32, unique=True)
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="credit_notes")
    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="credit_notes")
    company = models.ForeignKey(
        "customers.Company",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="credit_notes",
    )
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="credit_notes"
    )
    currency = models.CharField(max_length=3)
    issue_date = models.DateField(db_index=True)
    issued_at = models.DateTimeField()
    reason = models.CharField(max_length=20, choices=CreditReason.choices)
    note = models.TextField(blank=True)

    subtotal = models.DecimalField(max_digits=14, decimal_places=2)
    shipping_total = models.DecimalField(max_digits=12, decimal_places=2, default=ZERO)
    tax_total = models.DecimalField(max_digits=12, decimal_places=2)
    grand_total = models.DecimalField(max_digits=14, decimal_places=2)

    bill_to = models.JSONField(default=dict)
    seller = models.JSONField(default=dict)
    pdf = models.FileField(upload_to="credit_notes/%Y/", blank=True)

    class Meta:
        ordering = ["-issue_date", "-number"]
        indexes = [models.Index(fields=["company", "-issue_date"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    grand_total=Round(F("subtotal") + F("shipping_total") + F("tax_total"), 2)
                ),
                name="credit_note_grand_total_adds_up",
            ),
            models.CheckConstraint(
                condition=Q(grand_total__gt=0), name="credit_note_grand_total_positive"
            ),
            *_amounts_nonneg("credit_note", ("subtotal", "shipping_total", "tax_total")),
        ]

    def __str__(self) -> str:
        return f"Credit note {self.number}"

    @property
    def total_display(self) -> str:
        return format_money(self.grand_total, self.currency)


class CreditNoteLine(models.Model):
    """Credited units of an invoice line, or (without one) a credited amount.
    ``amount`` is net, before tax; ``line_total`` adds the tax."""

    credit_note = models.ForeignKey(CreditNote, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField()
    invoice_line = models.ForeignKey(
        InvoiceLine, null=True, blank=True, on_delete=models.PROTECT, related_name="credits"
    )
    description = models.CharField(max_length=200)
    quantity = models.PositiveIntegerField(default=0)
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    tax = models.DecimalField(max_digits=12, decimal_places=2, default=ZERO)
    line_total = models.DecimalField(max_digits=14, decimal_places=2)

    class Meta:
        ordering = ["credit_note_id", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["credit_note", "position"], name="credit_note_line_position_unique"
            ),
            models.CheckConstraint(
                condition=Q(line_total=Round(F("amount") + F("tax"), 2)),
                name="credit_note_line_total_adds_up",
            ),
            models.CheckConstraint(
                condition=Q(invoice_line__isnull=True, quantity=0)
                | Q(invoice_line__isnull=False, quantity__gt=0),
                name="credit_note_line_units_of_invoice_line",
            ),
            *_amounts_nonneg("credit_note_line", ("amount", "tax")),
        ]

    def __str__(self) -> str:
        return self.description


# --- card payments --------------------------------------------------------------


class Payment(models.Model):
    """One authorisation of an order's card: what it holds and what became of it.

    The amounts are sums of its ledger's succeeded transactions, updated in the
    transaction that finishes each one; ``status`` is derived from them
    (``billing.payments.derive_payment_status``). An order has one at placement and one
    more per edit that raised its total."""

    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="payments")
    provider = models.CharField(max_length=32, help_text="The provider's name (test, stripe).")
    authorisation_reference = models.CharField(
        max_length=255, blank=True, help_text="The provider's id of the authorisation."
    )
    currency = models.CharField(max_length=3)
    amount_authorised = models.DecimalField(max_digits=14, decimal_places=2, default=ZERO)
    amount_captured = models.DecimalField(max_digits=14, decimal_places=2, default=ZERO)
    amount_refunded = models.DecimalField(max_digits=14, decimal_places=2, default=ZERO)
    amount_voided = models.DecimalField(
        max_digits=14,
        decimal_places=2,
        default=ZERO,
        help_text="Released without being captured: by a void, or by the final capture.",
    )
    expires_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(
        max_length=24, choices=PaymentStatus.choices, default=PaymentStatus.PENDING
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["order_id", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount_captured__lte=F("amount_authorised")),
                name="payment_captured_within_authorised",
            ),
            models.CheckConstraint(
                condition=Q(amount_refunded__lte=F("amount_captured")),
                name="payment_refunded_within_captured",
            ),
            models.CheckConstraint(
                condition=Q(
                    amount_voided__lte=Round(F("amount_authorised") - F("amount_captured"), 2)
                ),
                name="payment_voided_within_uncaptured",
            ),
            *_amounts_nonneg(
                "payment",
                ("amount_authorised", "amount_captured", "amount_refunded", "amount_voided"),
            ),
        ]

    def __str__(self) -> str:
        held = format_money(self.amount_authorised, self.currency)
        return f"Card payment of {held} ({self.get_status_display().lower()})"

    @property
    def capturable(self) -> Decimal:
        """What is still held and not captured or released."""
        if self.status in (PaymentStatus.PENDING, PaymentStatus.FAILED):
            return ZERO
        return self.amount_authorised - self.amount_captured - self.amount_voided


class TransactionKind(models.TextChoices):
    AUTHORISE = "authorise", "Authorise"
    CAPTURE = "capture", "Capture"
    VOID = "void", "Void"
    REFUND = "refund", "Refund"


class TransactionOutcome(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


# The columns of a ledger row that may be set once, when a pending row is finished
# (migration 0005_append_only_payment_ledger); every other column never changes.
TRANSACTION_FINISH_COLUMNS = (
    "outcome",
    "error_code",
    "error_message",
    "provider_reference",
    "raw_response",
    "finished_at",
)


class PaymentTransaction(models.Model):
    """One attempt to move money, append-only: written pending before the provider is
    called (its idempotency key is then fixed), finished once with the outcome.
    PostgreSQL refuses any other change and any DELETE."""

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="transactions")
    kind = models.CharField(max_length=16, choices=TransactionKind.choices)
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    idempotency_key = models.CharField(max_length=200, unique=True)
    outcome = models.CharField(
        max_length=16, choices=TransactionOutcome.choices, default=TransactionOutcome.PENDING
    )
    final = models.BooleanField(
        default=False, help_text="A capture that releases what remains of the authorisation."
    )
    error_code = models.CharField(max_length=64, blank=True)
    error_message = models.CharField(max_length=300, blank=True)
    provider_reference = models.CharField(max_length=255, blank=True)
    raw_response = models.JSONField(default=dict, blank=True)
    shipment = models.ForeignKey(
        "fulfillment.Shipment",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="payment_transactions",
    )
    invoice = models.ForeignKey(
        Invoice,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="payment_transactions",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["payment_id", "id"]
        indexes = [models.Index(fields=["outcome", "created_at"])]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="payment_tx_amount_nonneg"),
            models.CheckConstraint(
                condition=Q(outcome=TransactionOutcome.PENDING, finished_at__isnull=True)
                | Q(~Q(outcome=TransactionOutcome.PENDING), finished_at__isnull=False),
                name="payment_tx_finished_when_decided",
            ),
        ]

    def __str__(self) -> str:
        return (
            f"{self.get_kind_display()} {self.amount} {self.payment.currency}: "
            f"{self.get_outcome_display().lower()}"
        )


# --- refunds ---------------------------------------------------------------------


class RefundStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    REFUNDED = "refunded", "Refunded"
    CREDITED = "credited", "Credited to the invoice"
    STORE_CREDIT = "store_credit", "Credited as store credit"
    FAILED = "failed", "Failed"


class RefundDestination(models.TextChoices):
    """Where a refund's money goes: back the way it was paid (the card, the invoice),
    or to the customer's store credit balance."""

    ORIGINAL = "original", "Original payment"
    STORE_CREDIT = "store_credit", "Store credit"


class Refund(ActorFields):
    """Money given back on an order (``billing.refunds.refund_order``): its credit
    notes, and for a card order the ledger's refund rows that pay it back. ``status``
    follows those rows: pending until the provider answered, refunded, or failed (finance
    pays back by other means); an order on terms is credited at once (its invoice's
    amount due went down)."""

    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="refunds")
    idempotency_key = models.CharField(
        max_length=300,
        unique=True,
        null=True,
        blank=True,
        help_text="A second request with the same key gets this refund back.",
    )
    request_hash = models.CharField(
        max_length=64, blank=True, help_text="The request's fingerprint, checked on a replay."
    )
    currency = models.CharField(max_length=3)
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    reason = models.CharField(max_length=20, choices=CreditReason.choices)
    note = models.TextField(blank=True)
    status = models.CharField(
        max_length=16, choices=RefundStatus.choices, default=RefundStatus.PENDING
    )
    destination = models.CharField(
        max_length=16, choices=RefundDestination.choices, default=RefundDestination.ORIGINAL
    )
    credit_notes = models.ManyToManyField(CreditNote, related_name="refunds")
    transactions = models.ManyToManyField(PaymentTransaction, related_name="refunds", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["order_id", "id"]
        permissions = [("refund_order", "Can refund money on an order")]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"Refund of {format_money(self.amount, self.currency)} ({self.status})"


# The payment reminders' log and the aging report's console entry (their own module).
from .dunning_models import AgingReport, DunningReminder  # noqa: E402, F401

# Payments received against invoices have a module of their own; importing it here
# registers their models.
from .receivable_models import (  # noqa: E402, F401
    PaymentApplication,
    ReceivedPayment,
    ReceivedPaymentMethod,
)
