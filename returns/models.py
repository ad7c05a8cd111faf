"""Return requests (RMAs), the policy that decides them, and what the warehouse found.

A request moves only along ``ALLOWED_TRANSITIONS``, through ``returns.services``,
under the order's row lock. The order lines' return buckets move with it:
``quantity_return_requested`` holds the units of open requests not yet received,
``quantity_returned`` the units received.
"""

from __future__ import annotations

from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q

from core.actors import ActorFields

DEFAULT_WINDOW_DAYS = 30


class ReturnReason(models.Model):
    """Why a customer sends something back; the restocking fee is per reason."""

    code = models.SlugField(max_length=32, unique=True)
    label = models.CharField(max_length=100)
    restocking_fee_percent = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(0), MaxValueValidator(100)],
        help_text="Kept from the refund of a unit returned for this reason (0 to 100).",
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["label"]
        constraints = [
            models.CheckConstraint(
                condition=Q(restocking_fee_percent__gte=0, restocking_fee_percent__lte=100),
                name="return_reason_fee_percent_range",
            )
        ]

    def __str__(self) -> str:
        return self.label


class PolicyScope(models.TextChoices):
    DEFAULT = "default", "Everyone (default)"
    CATEGORY = "category", "One product category"
    SKU = "sku", "One product"
    COMPANY = "company", "One company"


# The most specific scope wins: a company's own terms, then a product's, then its
# category's, then the default.
SCOPE_RANK = {
    PolicyScope.COMPANY: 0,
    PolicyScope.SKU: 1,
    PolicyScope.CATEGORY: 2,
    PolicyScope.DEFAULT: 3,
}


class ReturnPolicy(models.Model):
    """One rule of the return policy. See docs/returns.md for how rules are chosen."""

    name = models.CharField(max_length=100)
    scope = models.CharField(max_length=16, choices=PolicyScope.choices)
    product = models.ForeignKey(
        "inventory.Product",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text="The product this rule covers (scope: one product).",
    )
    category = models.ForeignKey(
        "inventory.ProductCategory",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text="The product category this rule covers (scope: one product category).",
    )
    company = models.ForeignKey(
        "customers.Company",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text="The company this rule covers (scope: one company).",
    )
    window_days = models.PositiveIntegerField(
        default=DEFAULT_WINDOW_DAYS, help_text="Days after delivery during which a return is taken."
    )
    non_returnable = models.BooleanField(
        default=False, help_text="Nothing under this rule may be returned."
    )
    auto_approve_below = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="Requests worth less than this are approved at once (empty: never by amount).",
    )
    auto_approve_reasons = models.ManyToManyField(
        ReturnReason,
        blank=True,
        related_name="+",
        help_text="Requests whose every line has one of these reasons are approved at once.",
    )
    refund_without_return_below = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="A refund request worth less than this is refunded when it is approved and "
        "the customer keeps the items (empty: the items always come back first).",
    )
    trust_exchanges = models.BooleanField(
        default=False,
        help_text="An exchange's replacement ships as soon as the return is approved, "
        "without waiting for the returned items.",
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["scope", "name"]
        verbose_name_plural = "return policies"
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(
                        scope=PolicyScope.DEFAULT,
                        product__isnull=True,
                        category__isnull=True,
                        company__isnull=True,
                    )
                    | Q(
                        scope=PolicyScope.CATEGORY,
                        product__isnull=True,
                        category__isnull=False,
                        company__isnull=True,
                    )
                    | Q(
                        scope=PolicyScope.SKU,
                        product__isnull=False,
                        category__isnull=True,
                        company__isnull=True,
                    )
                    | Q(
                        scope=PolicyScope.COMPANY,
                        product__isnull=True,
                        category__isnull=True,
                        company__isnull=False,
                    )
                ),
                name="return_policy_scope_target",
            ),
            models.UniqueConstraint(
                fields=["scope"],
                condition=Q(scope=PolicyScope.DEFAULT, is_active=True),
                name="return_policy_one_active_default",
            ),
            models.UniqueConstraint(
                fields=["product"],
                condition=Q(is_active=True, product__isnull=False),
                name="return_policy_one_active_per_product",
            ),
            models.UniqueConstraint(
                fields=["category"],
                condition=Q(is_active=True, category__isnull=False),
                name="return_policy_one_active_per_category",
            ),
            models.UniqueConstraint(
                fields=["company"],
                condition=Q(is_active=True, company__isnull=False),
                name="return_policy_one_active_per_company",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ReturnStatus(models.TextChoices):
    REQUESTED = "requested", "Requested"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    IN_TRANSIT = "in_transit", "On its way back"
    RECEIVED = "received", "Partly received"
    INSPECTED = "inspected", "Received and inspected"
    CLOSED = "closed", "Closed"
    CANCELLED = "cancelled", "Cancelled"


ALLOWED_TRANSITIONS: dict[str, set[str]] = {
    ReturnStatus.REQUESTED: {ReturnStatus.APPROVED, ReturnStatus.REJECTED, ReturnStatus.CANCELLED},
    ReturnStatus.APPROVED: {
        ReturnStatus.IN_TRANSIT,
        ReturnStatus.RECEIVED,
        ReturnStatus.INSPECTED,
        ReturnStatus.CANCELLED,
        # Refunded without return: the customer keeps the items, nothing comes back.
        ReturnStatus.CLOSED,
    },
    ReturnStatus.IN_TRANSIT: {ReturnStatus.RECEIVED, ReturnStatus.INSPECTED},
    # Received: some units are in and inspected, more are expected.
    ReturnStatus.RECEIVED: {ReturnStatus.RECEIVED, ReturnStatus.INSPECTED, ReturnStatus.CLOSED},
    ReturnStatus.INSPECTED: {ReturnStatus.CLOSED},
    ReturnStatus.REJECTED: set(),
    ReturnStatus.CLOSED: set(),
    ReturnStatus.CANCELLED: set(),
}

# Requests whose units still count in the lines' ``quantity_return_requested``.
OPEN_STATUSES = (
    ReturnStatus.REQUESTED,
    ReturnStatus.APPROVED,
    ReturnStatus.IN_TRANSIT,
    ReturnStatus.RECEIVED,
)
# Requests the warehouse may receive units of.
RECEIVABLE_STATUSES = (ReturnStatus.APPROVED, ReturnStatus.IN_TRANSIT, ReturnStatus.RECEIVED)


def can_transition(current: str, new: str) -> bool:
    return new in ALLOWED_TRANSITIONS.get(current, set())


class ReturnMethod(models.TextChoices):
    MAIL = "mail", "By mail, with a return label"
    DROP_OFF = "drop_off", "Drop-off at a store"
    PICKUP = "pickup", "Carrier pickup"


class Resolution(models.TextChoices):
    REFUND = "refund", "Refund to the original payment"
    EXCHANGE = "exchange", "Exchange for a replacement"
    STORE_CREDIT = "store_credit", "Store credit"


class ReturnRequest(models.Model):
    """An RMA: units of one order's lines the customer sends back."""

    number = models.CharField("RMA number", max_length=32, unique=True)
    order = models.ForeignKey(
        "orders.Order", on_delete=models.PROTECT, related_name="return_requests"
    )
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="return_requests"
    )
    company = models.ForeignKey(
        "customers.Company",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="return_requests",
    )
    status = models.CharField(
        max_length=16, choices=ReturnStatus.choices, default=ReturnStatus.REQUESTED
    )
    method = models.CharField(max_length=16, choices=ReturnMethod.choices)
    destination = models.ForeignKey(
        "inventory.Location", on_delete=models.PROTECT, related_name="return_requests"
    )
    destination_reason = models.CharField(
        max_length=300, help_text="Why this location takes the return (the rule's trace)."
    )
    policy_trace = models.JSONField(
        default=dict, blank=True, help_text="The policy rules applied to each line."
    )
    auto_approved = models.BooleanField(default=False)
    resolution = models.CharField(
        max_length=16, choices=Resolution.choices, default=Resolution.REFUND
    )
    # The policy refunds on approval and the customer keeps the items (nothing comes back).
    keep_items = models.BooleanField(default=False)
    exchange_order = models.OneToOneField(
        "orders.Order",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="exchange_for",
        help_text="The replacement order of an exchange.",
    )
    # The return parcel's label with a carrier, and what its scans said.
    carrier = models.ForeignKey(
        "shipping.Carrier", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    tracking_number = models.CharField(max_length=64, blank=True)
    tracking_status = models.CharField(max_length=20, blank=True)
    delivered_at = models.DateTimeField(
        null=True, blank=True, help_text="When the carrier delivered the parcel to us."
    )
    # A carrier pickup (method "pickup"): booked with ``carrier`` once the return is approved.
    pickup_confirmation = models.CharField(max_length=64, blank=True)
    pickup_date = models.DateField(null=True, blank=True)
    note = models.TextField(blank=True)
    decision_note = models.TextField(blank=True)
    # Who asked, and the API's replay key (one RMA per key and tenant).
    client_scope = models.CharField(max_length=64, blank=True)
    idempotency_key = models.CharField(max_length=255, blank=True)
    request_hash = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["status", "-id"]),
            models.Index(fields=["destination", "status"]),
            models.Index(fields=["company", "-id"]),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["client_scope", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="return_request_idempotency_key_unique",
            ),
            # A carrier's webhook finds the return by its tracking number.
            models.UniqueConstraint(
                fields=["carrier", "tracking_number"],
                condition=~Q(tracking_number=""),
                name="return_request_tracking_number_unique",
            ),
            models.CheckConstraint(
                condition=Q(tracking_number="") | Q(carrier__isnull=False),
                name="return_request_tracking_has_carrier",
            ),
        ]
        permissions = [
            ("approve_returnrequest", "Can approve or reject return requests"),
            ("receive_returnrequest", "Can receive and inspect returned units"),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class ReturnLine(models.Model):
    request = models.ForeignKey(ReturnRequest, on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey(
        "orders.OrderLine", on_delete=models.PROTECT, related_name="return_lines"
    )
    quantity = models.PositiveIntegerField()
    quantity_received = models.PositiveIntegerField(default=0)
    # Units refunded (``returns.resolution``): received ones, or kept by the customer.
    quantity_refunded = models.PositiveIntegerField(default=0)
    reason = models.ForeignKey(ReturnReason, on_delete=models.PROTECT, related_name="+")
    note = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["request_id", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="return_line_qty_positive"),
            models.CheckConstraint(
                condition=Q(quantity_received__lte=F("quantity")),
                name="return_line_received_within_quantity",
            ),
            models.CheckConstraint(
                condition=Q(quantity_refunded__lte=F("quantity")),
                name="return_line_refunded_within_quantity",
            ),
            models.UniqueConstraint(
                fields=["request", "order_line"], name="return_line_order_line_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order_line.sku} × {self.quantity}"

    @property
    def quantity_outstanding(self) -> int:
        return self.quantity - self.quantity_received


def return_photo_path(instance: ReturnPhoto, filename: str) -> str:
    return f"returns/photos/{instance.request.number}/{filename}"


class ReturnPhoto(models.Model):
    request = models.ForeignKey(ReturnRequest, on_delete=models.CASCADE, related_name="photos")
    image = models.FileField(upload_to=return_photo_path)
    content_type = models.CharField(max_length=64)
    size = models.PositiveIntegerField()
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"Photo of {self.request}"


class Condition(models.TextChoices):
    NEW = "new", "As new, sealed"
    OPENED = "opened", "Opened, like new"
    USED = "used", "Used"
    DAMAGED = "damaged", "Damaged"


class Disposition(models.TextChoices):
    RESTOCK = "restock", "Restock (sellable)"
    DAMAGED = "damaged", "Damaged (unsellable)"
    SCRAP = "scrap", "Scrap"
    RETURN_TO_VENDOR = "return_to_vendor", "Return to vendor"


class ReturnReceipt(ActorFields):
    """One submission of the receiving form: its token makes a second submit a no-op."""

    request = models.ForeignKey(ReturnRequest, on_delete=models.CASCADE, related_name="receipts")
    token = models.CharField(max_length=64, unique=True)
    location = models.ForeignKey("inventory.Location", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"Receipt of {self.request} at {self.created_at:%Y-%m-%d %H:%M}"


class ReturnInspection(models.Model):
    """Units of one return line received together, in one condition, sent one way."""

    receipt = models.ForeignKey(ReturnReceipt, on_delete=models.CASCADE, related_name="inspections")
    line = models.ForeignKey(ReturnLine, on_delete=models.CASCADE, related_name="inspections")
    quantity = models.PositiveIntegerField()
    condition = models.CharField(max_length=16, choices=Condition.choices)
    disposition = models.CharField(max_length=20, choices=Disposition.choices)
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="return_inspection_qty_positive"
            )
        ]

    def __str__(self) -> str:
        return f"{self.line.order_line.sku} × {self.quantity}: {self.get_disposition_display()}"


class ReturnExchangeLine(models.Model):
    """A replacement asked for in an exchange: a product (the same or another variant)
    and how many."""

    request = models.ForeignKey(
        ReturnRequest, on_delete=models.CASCADE, related_name="exchange_lines"
    )
    product = models.ForeignKey("inventory.Product", on_delete=models.PROTECT, related_name="+")
    sku = models.CharField(max_length=64)
    quantity = models.PositiveIntegerField()
    unit_price = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        help_text="The replacement's price when asked for (the order charges nothing).",
    )

    class Meta:
        ordering = ["request_id", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="return_exchange_line_qty_positive"
            ),
            models.UniqueConstraint(
                fields=["request", "product"], name="return_exchange_line_product_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sku} × {self.quantity}"


class ReturnRefund(models.Model):
    """One refund of a return's units, made through billing (``billing.Refund``, its
    credit notes). ``key`` makes a second attempt for the same units find this row."""

    request = models.ForeignKey(ReturnRequest, on_delete=models.CASCADE, related_name="refunds")
    refund = models.OneToOneField(
        "billing.Refund", on_delete=models.PROTECT, related_name="return_refund"
    )
    key = models.CharField(max_length=100, unique=True)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    restocking_fee = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    units = models.JSONField(default=list, help_text="The units refunded, per SKU.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gte=0, restocking_fee__gte=0),
                name="return_refund_amounts_nonneg",
            )
        ]

    def __str__(self) -> str:
        return f"Refund of {self.request}"


class ReturnTrackingEvent(models.Model):
    """One carrier scan of a return parcel. ``external_id`` makes redelivered webhooks
    harmless."""

    request = models.ForeignKey(
        ReturnRequest, on_delete=models.CASCADE, related_name="tracking_events"
    )
    status = models.CharField(max_length=20)
    occurred_at = models.DateTimeField()
    external_id = models.CharField(max_length=100)
    description = models.CharField(max_length=300, blank=True)
    location = models.CharField(max_length=120, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["occurred_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["request", "external_id"], name="return_tracking_event_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.request}: {self.status}"


class ReturnEventType(models.TextChoices):
    REQUESTED = "requested", "Requested"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    CANCELLED = "cancelled", "Cancelled"
    IN_TRANSIT = "in_transit", "Sent back"
    TRACKING = "tracking", "Carrier scan"
    PICKUP = "pickup", "Pickup booked"
    RECEIVED = "received", "Units received"
    REFUNDED = "refunded", "Refunded"
    REFUND_BLOCKED = "refund_blocked", "Refund not made"
    EXCHANGE = "exchange", "Exchange"
    CLOSED = "closed", "Closed"


class ReturnEvent(ActorFields):
    """One entry of a return's own history. Append-only."""

    request = models.ForeignKey(ReturnRequest, on_delete=models.CASCADE, related_name="events")
    type = models.CharField(max_length=16, choices=ReturnEventType.choices)
    message = models.CharField(max_length=300, blank=True)
    payload = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.request} · {self.get_type_display()}"
