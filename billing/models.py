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


class PaymentMethod(models.TextChoices):
    CARD = "card", "Card"
    INVOICE = "invoice", "Invoice (payment terms)"
    STORE_CREDIT = "store_credit", "Store credit"


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
    """What one shipment bills: its lines, their tax, its share of shipping."""

    number = models.CharField(max_length=32, unique=True)
    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="invoices")
    shipment = models.OneToOneField(
        "fulfillment.Shipment", on_delete=models.PROTECT, related_name="invoice"
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
                condition=Q(line_total=F("amount") + F("tax")),
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
