"""Customers (people), companies (B2B accounts), their addresses, preferences and notes."""

from collections.abc import Collection
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower

from core.history import audit_history
from core.models import PostalAddress, TimeStamped, coordinate_constraints
from core.money import format_money


class PaymentTerms(models.TextChoices):
    PREPAID = "prepaid", "Prepaid (card)"
    NET_15 = "net15", "Net 15"
    NET_30 = "net30", "Net 30"
    NET_60 = "net60", "Net 60"


class PriceList(TimeStamped):
    """Contract prices shared by one or more companies, with quantity breaks."""

    code = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=200)
    currency = models.CharField(max_length=3, default="USD")
    is_active = models.BooleanField(default=True)

    history = audit_history()

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} · {self.name}"


class PriceListEntry(models.Model):
    """The unit price of a SKU from ``min_quantity`` units per line upward."""

    price_list = models.ForeignKey(PriceList, on_delete=models.CASCADE, related_name="entries")
    product = models.ForeignKey(
        "inventory.Product", on_delete=models.CASCADE, related_name="price_entries"
    )
    min_quantity = models.PositiveIntegerField(default=1)
    unit_price = models.DecimalField(max_digits=12, decimal_places=2)

    class Meta:
        ordering = ["price_list_id", "product_id", "min_quantity"]
        verbose_name_plural = "price list entries"
        constraints = [
            models.UniqueConstraint(
                fields=["price_list", "product", "min_quantity"], name="price_entry_unique_break"
            ),
            models.CheckConstraint(
                condition=models.Q(min_quantity__gte=1), name="price_entry_min_qty_positive"
            ),
            models.CheckConstraint(
                condition=models.Q(unit_price__gte=0), name="price_entry_price_nonneg"
            ),
        ]

    def __str__(self) -> str:
        return (
            f"{self.product.sku} from {self.min_quantity} unit(s): "
            f"{format_money(self.unit_price, self.price_list.currency)}"
        )


class Company(TimeStamped):
    """A B2B account. Its buyers are ``Customer`` rows pointing here."""

    account_number = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=200, db_index=True)
    payment_terms = models.CharField(
        max_length=16, choices=PaymentTerms.choices, default=PaymentTerms.NET_30
    )
    currency = models.CharField(max_length=3, default="USD")
    credit_limit = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    tax_exempt = models.BooleanField(default=False)
    tax_exemption_number = models.CharField(max_length=64, blank=True)
    po_required = models.BooleanField("PO number required", default=False)
    approval_threshold = models.DecimalField(
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="Orders above this total wait for B2B approval. Empty: no approval needed.",
    )
    allow_backorders = models.BooleanField(default=False)
    price_list = models.ForeignKey(
        PriceList, null=True, blank=True, on_delete=models.PROTECT, related_name="companies"
    )
    # PROTECT: the method is a term agreed with the account (its freight contract), so a
    # method that is some company's default cannot be deleted from under it; retiring a
    # method is done by making it inactive, and drafts then fall back to the next rule
    # (``orders.drafts.default_shipping_method_code``) until someone picks another.
    default_shipping_method = models.ForeignKey(
        "shipping.ShippingMethod",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="default_for_companies",
        help_text="What new draft orders for this company ship with. Empty: the method of "
        "its latest order, else the cheapest that ships.",
    )
    is_active = models.BooleanField(default=True)

    history = audit_history()

    class Meta:
        verbose_name_plural = "companies"
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(credit_limit__gte=0), name="company_credit_limit_nonneg"
            ),
            models.CheckConstraint(
                condition=models.Q(approval_threshold__isnull=True)
                | models.Q(approval_threshold__gte=0),
                name="company_approval_threshold_nonneg",
            ),
            models.CheckConstraint(
                condition=models.Q(tax_exempt=False) | ~models.Q(tax_exemption_number=""),
                name="company_tax_exempt_needs_number",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.account_number})"


class CompanyRole(models.TextChoices):
    BUYER = "buyer", "Buyer"
    APPROVER = "approver", "Approver"
    ADMIN = "admin", "Account admin"


class Customer(TimeStamped):
    """A person who buys: a B2C shopper, or a buyer acting for a company."""

    email = models.EmailField(max_length=254)
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    phone = models.CharField(max_length=32, blank=True, db_index=True)
    company = models.ForeignKey(
        Company, null=True, blank=True, on_delete=models.PROTECT, related_name="buyers"
    )
    company_role = models.CharField(max_length=16, choices=CompanyRole.choices, blank=True)
    is_active = models.BooleanField(default=True)

    history = audit_history()

    class Meta:
        ordering = ["last_name", "first_name"]
        constraints = [
            models.UniqueConstraint(Lower("email"), name="customer_email_ci_unique"),
            models.CheckConstraint(
                condition=models.Q(company__isnull=True, company_role="")
                | models.Q(company__isnull=False) & ~models.Q(company_role=""),
                name="customer_company_role_with_company",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.full_name} <{self.email}>"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def is_b2b(self) -> bool:
        return self.company_id is not None


class AddressKind(models.TextChoices):
    SHIPPING = "shipping", "Shipping"
    BILLING = "billing", "Billing"


class Address(PostalAddress, TimeStamped):
    """A saved address of a customer or a company. Orders copy it; they never point at it."""

    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.CASCADE, related_name="addresses"
    )
    company = models.ForeignKey(
        Company, null=True, blank=True, on_delete=models.CASCADE, related_name="addresses"
    )
    kind = models.CharField(max_length=16, choices=AddressKind.choices)
    is_default = models.BooleanField(default=False)

    class Meta:
        verbose_name_plural = "addresses"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(customer__isnull=False, company__isnull=True)
                | models.Q(customer__isnull=True, company__isnull=False),
                name="address_has_one_owner",
            ),
            models.UniqueConstraint(
                fields=["customer", "kind"],
                condition=models.Q(is_default=True, customer__isnull=False),
                name="address_one_default_per_customer_kind",
            ),
            models.UniqueConstraint(
                fields=["company", "kind"],
                condition=models.Q(is_default=True, company__isnull=False),
                name="address_one_default_per_company_kind",
            ),
            *coordinate_constraints("address"),
        ]

    def __str__(self) -> str:
        return self.one_line()

    # The rule in words, where model validation (an admin form) finds it broken; the
    # database constraint itself would read "Constraint “address_has_one_owner” …".
    ONE_OWNER = "An address belongs to exactly one customer or one company."

    def validate_constraints(self, exclude: Collection[str] | None = None) -> None:
        try:
            super().validate_constraints(exclude=exclude)
        except ValidationError as exc:
            owner = next(c for c in self._meta.constraints if c.name == "address_has_one_owner")
            internal = str(owner.get_violation_error_message())
            raise ValidationError(
                {
                    field: [
                        self.ONE_OWNER if message == internal else message for message in errors
                    ]
                    for field, errors in exc.message_dict.items()
                }
            ) from exc


class NotificationEvent(models.TextChoices):
    """The kinds of message a customer hears about (docs/notifications.md)."""

    ORDER_CONFIRMED = "order_confirmed", "Order confirmed"
    ON_HOLD = "on_hold", "Order on hold, waiting for you"
    SHIPPED = "shipped", "Shipped"
    DELAYED = "delayed", "Delayed or exception"
    OUT_FOR_DELIVERY = "out_for_delivery", "Out for delivery"
    DELIVERED = "delivered", "Delivered"
    READY_FOR_PICKUP = "ready_for_pickup", "Ready for pickup"
    PICKED_UP = "picked_up", "Picked up"
    CANCELLED = "cancelled", "Cancelled"
    ADDRESS_CHANGED = "address_changed", "Delivery address changed"
    RETURN_APPROVED = "return_approved", "Return approved"
    RETURN_RECEIVED = "return_received", "Return received"
    REFUND_ISSUED = "refund_issued", "Refund issued"
    INVOICE_ISSUED = "invoice_issued", "Invoice issued"
    PAYMENT_FAILED = "payment_failed", "Payment failed"


class NotificationPreference(models.Model):
    """How a customer wants to hear about one kind of event. No row means the default:
    email on, SMS off."""

    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="notification_preferences"
    )
    event = models.CharField(max_length=32, choices=NotificationEvent.choices)
    email = models.BooleanField(default=True)
    sms = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["customer", "event"], name="notification_pref_unique")
        ]

    def __str__(self) -> str:
        channels = [name for name, on in (("e-mail", self.email), ("SMS", self.sms)) if on]
        return f"{self.get_event_display()}: {' and '.join(channels) or 'not notified'}"


class CustomerNote(models.Model):
    """An agent's note on a customer. Append-only."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey("auth.User", null=True, on_delete=models.SET_NULL, related_name="+")
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["customer", "-created_at"])]

    def __str__(self) -> str:
        return self.body[:60]


class ApiKey(models.Model):
    """A credential for the API, of exactly one kind: a company's (B2B ordering), a
    dropship vendor's or 3PL's (its fulfillment orders, and the purchase orders of its
    own location), the storefront's (B2C ordering), or an ERP's (purchase orders and
    their receipts for every location, nothing else). Only a hash of the secret is
    stored.

    The key handed out is ``oms_<prefix>_<secret>``; the prefix finds the row, the
    SHA-256 of the whole key proves it. Keys are 256-bit random, so a fast hash is
    enough (there is nothing to brute-force that a slow hash would protect).
    """

    company = models.ForeignKey(
        Company, null=True, blank=True, on_delete=models.CASCADE, related_name="api_keys"
    )
    buyer = models.ForeignKey(
        Customer,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="api_keys",
        help_text="The buyer that orders placed with this key are recorded for.",
    )
    vendor = models.ForeignKey(
        "inventory.Location",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="api_keys",
        help_text="A dropship vendor or 3PL confirming its fulfilment orders.",
    )
    is_storefront = models.BooleanField(
        default=False,
        help_text="The web storefront: places B2C orders for the customers it names.",
    )
    is_erp = models.BooleanField(
        "ERP",
        default=False,
        help_text="An ERP or back-office system: records purchase orders and their "
        "receipts for every location; places no orders.",
    )
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    key_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "API key"
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(
                    company__isnull=False,
                    buyer__isnull=False,
                    vendor__isnull=True,
                    is_storefront=False,
                    is_erp=False,
                )
                | models.Q(
                    company__isnull=True,
                    buyer__isnull=True,
                    vendor__isnull=False,
                    is_storefront=False,
                    is_erp=False,
                )
                | models.Q(
                    company__isnull=True,
                    buyer__isnull=True,
                    vendor__isnull=True,
                    is_storefront=True,
                    is_erp=False,
                )
                | models.Q(
                    company__isnull=True,
                    buyer__isnull=True,
                    vendor__isnull=True,
                    is_storefront=False,
                    is_erp=True,
                ),
                name="api_key_one_kind_of_owner",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


# Notification contacts and rules have a module of their own; importing it here
# registers its models.
from .notification_models import CompanyContact  # noqa: E402, F401

# Store credit has a module of its own; importing it here registers its models.
from .store_credit_models import (  # noqa: E402, F401
    StoreCreditAccount,
    StoreCreditEntry,
    StoreCreditKind,
)
