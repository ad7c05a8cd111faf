"""Orders, their lines with quantity buckets, holds and the event timeline.

An order's ``status`` moves only along ``ALLOWED_TRANSITIONS`` and only through
``orders.services``. Fulfillment and return statuses are derived from the line
buckets (``derive_fulfillment_status``), never typed by hand.
"""

from decimal import Decimal

from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Round

from core.actors import ActorFields
from core.money import format_money, to_cents


class Channel(models.TextChoices):
    WEB = "web", "Web storefront"
    B2B_API = "b2b_api", "B2B API"
    AGENT = "agent", "Agent (admin)"
    SALES = "sales", "Sales rep (admin)"
    MARKETPLACE = "marketplace", "Marketplace"
    IMPORT = "import", "File import"


class OrderStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PLACED = "placed", "Placed"
    PROCESSING = "processing", "Processing"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"


ALLOWED_TRANSITIONS: dict[str, set[str]] = {
    OrderStatus.DRAFT: {OrderStatus.PLACED, OrderStatus.CANCELLED},
    # Placed: demand committed, not yet (fully) routed to locations.
    OrderStatus.PLACED: {OrderStatus.PROCESSING, OrderStatus.COMPLETED, OrderStatus.CANCELLED},
    # Processing: allocated to locations, being fulfilled.
    OrderStatus.PROCESSING: {OrderStatus.PLACED, OrderStatus.COMPLETED, OrderStatus.CANCELLED},
    OrderStatus.COMPLETED: set(),
    OrderStatus.CANCELLED: set(),
}


def can_transition(current: str, new: str) -> bool:
    return new in ALLOWED_TRANSITIONS.get(current, set())


class FulfillmentStatus(models.TextChoices):
    UNFULFILLED = "unfulfilled", "Unfulfilled"
    PARTIALLY_SHIPPED = "partially_shipped", "Partially shipped"
    SHIPPED = "shipped", "Shipped"
    PARTIALLY_DELIVERED = "partially_delivered", "Partially delivered"
    DELIVERED = "delivered", "Delivered"
    NOTHING_TO_FULFIL = "none", "Nothing to fulfill"


class ReturnStatus(models.TextChoices):
    NONE = "none", "No returns"
    REQUESTED = "requested", "Return requested"
    PARTIALLY_RETURNED = "partially_returned", "Partially returned"
    RETURNED = "returned", "Returned"


class PaymentMethod(models.TextChoices):
    """How an order is paid (``billing.models.PaymentMethod`` is this same class)."""

    CARD = "card", "Card"
    INVOICE = "invoice", "Invoice (payment terms)"
    STORE_CREDIT = "store_credit", "Store credit"


class PaymentStatus(models.TextChoices):
    """Where an order's card money stands, derived by billing from its payments
    (``billing.payments.derive_payment_status``) and set through
    ``orders.services.record_payment_status``; never typed by hand."""

    # Nothing to collect by card: an order paid by invoice on the company's terms.
    NONE = "none", "Not paid by card"
    # A card order with nothing authorised yet: the authorisation is on its way, or the
    # card is taken outside the OMS (a phone order without a token).
    PENDING = "pending", "Pending"
    AUTHORISED = "authorised", "Authorised"
    PARTIALLY_CAPTURED = "partially_captured", "Partially captured"
    CAPTURED = "captured", "Captured"
    PARTIALLY_REFUNDED = "partially_refunded", "Partially refunded"
    REFUNDED = "refunded", "Refunded"
    VOIDED = "voided", "Voided"
    # Declined, or the authorisation lapsed before it was captured: a payment hold asks
    # finance and the customer to act.
    FAILED = "failed", "Failed"


class Order(models.Model):
    number = models.CharField(max_length=32, unique=True)
    # Indexes on orders are in Meta: each costs every placement an index insert, so
    # none repeats what another already covers (a single column led by a composite, a
    # LIKE twin for exact-match searches).
    channel = models.CharField(max_length=16, choices=Channel.choices)
    status = models.CharField(max_length=16, choices=OrderStatus.choices, default=OrderStatus.DRAFT)
    fulfillment_status = models.CharField(
        max_length=24, choices=FulfillmentStatus.choices, default=FulfillmentStatus.UNFULFILLED
    )
    return_status = models.CharField(
        max_length=24, choices=ReturnStatus.choices, default=ReturnStatus.NONE
    )
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="orders", db_index=False
    )
    company = models.ForeignKey(
        "customers.Company",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="orders",
        db_index=False,
    )
    placed_by = models.ForeignKey(
        "auth.User",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="orders_placed",
        help_text="The agent or sales rep who placed it on the customer's behalf.",
    )
    po_number = models.CharField("PO number", max_length=64, blank=True)
    external_reference = models.CharField(
        max_length=100,
        blank=True,
        help_text="The order's id in the channel it came from (marketplace, import file).",
    )
    email = models.EmailField(help_text="Where notifications about this order go.")

    # Shipping address snapshot; routing reads the coordinates.
    ship_name = models.CharField(max_length=200)
    ship_line1 = models.CharField(max_length=200)
    ship_line2 = models.CharField(max_length=200, blank=True)
    ship_city = models.CharField(max_length=100)
    ship_region = models.CharField(max_length=100, blank=True)
    ship_postal_code = models.CharField(max_length=20, blank=True)
    ship_country = models.CharField(max_length=2)
    ship_phone = models.CharField(max_length=32, blank=True)
    ship_latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    ship_longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    billing_address = models.JSONField(default=dict, blank=True)

    shipping_method = models.ForeignKey(
        "shipping.ShippingMethod", on_delete=models.PROTECT, related_name="orders"
    )
    pickup_location = models.ForeignKey(
        "inventory.Location",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="pickup_orders",
    )
    promised_delivery_date = models.DateField(null=True, blank=True)

    currency = models.CharField(max_length=3, default="USD")
    subtotal = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    shipping_total = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    discount_total = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    tax_total = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    grand_total = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    # Kept by billing when it invoices the order on terms: the credit rule counts that
    # part as the invoices' unpaid balances (``OpenReceivable``), not as an open order.
    invoiced_on_terms = models.DecimalField(
        max_digits=14, decimal_places=2, default=Decimal("0"), editable=False
    )
    tax_rate = models.DecimalField(
        max_digits=6,
        decimal_places=5,
        default=Decimal("0"),
        help_text="Destination rate at placement (0 for exempt buyers); re-applied on edits.",
    )
    tax_shipping = models.BooleanField(default=False)

    # The payment instruction: billing authorises and captures from it (docs/billing.md).
    payment_method = models.CharField(
        max_length=16, choices=PaymentMethod.choices, default=PaymentMethod.CARD
    )
    payment_token = models.CharField(
        max_length=255, blank=True, help_text="The provider's opaque token of the card."
    )
    payment_authorisation = models.CharField(
        max_length=255,
        blank=True,
        help_text="An authorisation the storefront already made with the provider.",
    )
    payment_status = models.CharField(
        max_length=24, choices=PaymentStatus.choices, default=PaymentStatus.PENDING
    )

    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)
    placed_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            # Round(): SQLite (the demo) compares decimals as floats, where
            # 129.00 + 3.99 + 10.58 is not 143.57; PostgreSQL's numeric is exact anyway.
            models.CheckConstraint(
                condition=Q(
                    grand_total=Round(
                        F("subtotal") + F("shipping_total") + F("tax_total") - F("discount_total"),
                        2,
                    )
                ),
                name="order_grand_total_adds_up",
            ),
            *[
                models.CheckConstraint(condition=Q(**{f"{f}__gte": 0}), name=f"order_{f}_nonneg")
                for f in ("subtotal", "shipping_total", "discount_total", "tax_total")
            ],
            # A discarded draft is cancelled without ever having been placed.
            models.CheckConstraint(
                condition=Q(status__in=[OrderStatus.DRAFT, OrderStatus.CANCELLED])
                | Q(placed_at__isnull=False),
                name="order_placed_at_once_placed",
            ),
            models.CheckConstraint(
                condition=~Q(status=OrderStatus.CANCELLED) | Q(cancelled_at__isnull=False),
                name="order_cancelled_at_when_cancelled",
            ),
            models.UniqueConstraint(
                fields=["channel", "external_reference"],
                condition=~Q(external_reference=""),
                name="order_external_reference_unique",
            ),
        ]
        indexes = [
            models.Index(fields=["customer", "-created_at"]),
            models.Index(fields=["company", "-created_at"]),
            models.Index(fields=["company", "po_number"]),
            models.Index(fields=["po_number"]),
            models.Index(fields=["email"]),
            models.Index(fields=["ship_phone"]),
            models.Index(fields=["status", "-id"]),
            models.Index(fields=["channel"]),
            # The order list's payment filter (finance: what failed, what waits).
            models.Index(fields=["payment_status"]),
        ]
        permissions = [
            ("place_order_on_behalf", "Can place orders on behalf of customers"),
            ("cancel_order", "Can cancel orders"),
            ("edit_placed_order", "Can edit placed orders"),
            ("place_hold", "Can put orders on hold"),
            # Releasing a hold is a decision of the team the hold protects; see
            # HOLD_RELEASE_PERMISSIONS below and oms/roles.py.
            ("release_fraud_hold", "Can release fraud review holds"),
            ("release_payment_hold", "Can release payment holds"),
            ("release_credit_hold", "Can release credit limit holds"),
            ("release_approval_hold", "Can release B2B approval holds"),
            ("release_address_hold", "Can release address holds"),
            ("release_manual_hold", "Can release manual holds"),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def ship_to_one_line(self) -> str:
        parts = [
            self.ship_line1,
            self.ship_line2,
            self.ship_city,
            self.ship_region,
            self.ship_postal_code,
            self.ship_country,
        ]
        return ", ".join(p for p in parts if p)


class OrderLine(models.Model):
    """One SKU on an order, priced at placement, with its quantity buckets.

    ``quantity_ordered`` splits into cancelled, allocated (at a location, not yet
    shipped), shipped, and the remainder still open (committed to the network or
    backordered). Delivered and returns count within shipped.
    """

    # Looked up by order through the unique (order, line_number) constraint's index.
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines", db_index=False)
    line_number = models.PositiveSmallIntegerField()
    product = models.ForeignKey("inventory.Product", on_delete=models.PROTECT, related_name="+")
    sku = models.CharField(max_length=64)
    description = models.CharField(max_length=200)
    unit_price = models.DecimalField(max_digits=12, decimal_places=2)
    discount_total = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    tax_total = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    line_total = models.DecimalField(max_digits=14, decimal_places=2)
    customization = models.JSONField(default=dict, blank=True)

    quantity_ordered = models.PositiveIntegerField()
    quantity_allocated = models.PositiveIntegerField(default=0)
    quantity_shipped = models.PositiveIntegerField(default=0)
    quantity_delivered = models.PositiveIntegerField(default=0)
    quantity_cancelled = models.PositiveIntegerField(default=0)
    quantity_backordered = models.PositiveIntegerField(default=0)
    quantity_return_requested = models.PositiveIntegerField(default=0)
    quantity_returned = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["order_id", "line_number"]
        constraints = [
            models.UniqueConstraint(
                fields=["order", "line_number"], name="order_line_number_unique"
            ),
            models.CheckConstraint(condition=Q(quantity_ordered__gt=0), name="line_qty_positive"),
            models.CheckConstraint(
                condition=Q(
                    quantity_ordered__gte=F("quantity_cancelled")
                    + F("quantity_allocated")
                    + F("quantity_shipped")
                    + F("quantity_backordered")
                ),
                name="line_buckets_within_ordered",
            ),
            models.CheckConstraint(
                condition=Q(quantity_shipped__gte=F("quantity_delivered")),
                name="line_delivered_within_shipped",
            ),
            models.CheckConstraint(
                condition=Q(
                    quantity_shipped__gte=F("quantity_return_requested") + F("quantity_returned")
                ),
                name="line_returns_within_shipped",
            ),
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="line_price_nonneg"),
            models.CheckConstraint(
                condition=Q(
                    line_total=Round(
                        F("unit_price") * F("quantity_ordered") - F("discount_total"), 2
                    )
                ),
                name="line_total_adds_up",
            ),
        ]
        # A line's SKU is indexed with its order on PostgreSQL (``order_line_sku_order``,
        # migration 0027); SQLite (the demo) reads the few lines it has without it.

    def __str__(self) -> str:
        return f"Line {self.line_number}: {self.sku} × {self.quantity_ordered}"

    @property
    def quantity_open(self) -> int:
        """Ordered, not cancelled, not yet allocated or shipped."""
        return (
            self.quantity_ordered
            - self.quantity_cancelled
            - self.quantity_allocated
            - self.quantity_shipped
        )

    @property
    def quantity_live(self) -> int:
        """Units still expected to reach the customer."""
        return self.quantity_ordered - self.quantity_cancelled

    @property
    def live_total(self) -> Decimal:
        """What the live units cost, before tax: the figure the order's subtotal adds
        up (``line_total`` stays the total as ordered, cancelled units included)."""
        if self.quantity_live <= 0:
            return Decimal("0.00")
        return to_cents(self.unit_price * self.quantity_live - self.discount_total)


def derive_fulfillment_status(lines: list[OrderLine]) -> str:
    live = sum(line.quantity_live for line in lines)
    shipped = sum(line.quantity_shipped for line in lines)
    delivered = sum(line.quantity_delivered for line in lines)
    if live == 0:
        return FulfillmentStatus.NOTHING_TO_FULFIL
    if delivered >= live:
        return FulfillmentStatus.DELIVERED
    if delivered > 0:
        return FulfillmentStatus.PARTIALLY_DELIVERED
    if shipped >= live:
        return FulfillmentStatus.SHIPPED
    if shipped > 0:
        return FulfillmentStatus.PARTIALLY_SHIPPED
    return FulfillmentStatus.UNFULFILLED


def derive_return_status(lines: list[OrderLine]) -> str:
    requested = sum(line.quantity_return_requested for line in lines)
    returned = sum(line.quantity_returned for line in lines)
    shipped = sum(line.quantity_shipped for line in lines)
    if returned and returned >= shipped:
        return ReturnStatus.RETURNED
    if returned:
        return ReturnStatus.PARTIALLY_RETURNED
    if requested:
        return ReturnStatus.REQUESTED
    return ReturnStatus.NONE


class HoldKind(models.TextChoices):
    FRAUD_REVIEW = "fraud_review", "Fraud review"
    PAYMENT = "payment", "Payment"
    CREDIT_LIMIT = "credit_limit", "Credit limit"
    ADDRESS = "address", "Incomplete address"
    B2B_APPROVAL = "b2b_approval", "B2B approval"
    MANUAL = "manual", "Manual"
    # An exchange's replacement waits for the returned items (returns.resolution).
    EXCHANGE = "exchange", "Exchange awaiting return"


# Who may release each kind of hold: the permission, and the people who hold it (shown
# to everyone else on the order page). A B2B approval is also released by the buyer's
# company approver through the API (``orders.services.approve_order``).
HOLD_RELEASE_PERMISSIONS: dict[str, str] = {
    HoldKind.FRAUD_REVIEW: "orders.release_fraud_hold",
    HoldKind.PAYMENT: "orders.release_payment_hold",
    HoldKind.CREDIT_LIMIT: "orders.release_credit_hold",
    HoldKind.B2B_APPROVAL: "orders.release_approval_hold",
    HoldKind.ADDRESS: "orders.release_address_hold",
    HoldKind.MANUAL: "orders.release_manual_hold",
    HoldKind.EXCHANGE: "orders.release_manual_hold",
}

HOLD_RELEASED_BY: dict[str, str] = {
    HoldKind.FRAUD_REVIEW: "a risk analyst or a manager",
    HoldKind.PAYMENT: "finance or a manager",
    HoldKind.CREDIT_LIMIT: "finance or a manager",
    HoldKind.B2B_APPROVAL: "the company's approver (through the API) or a manager",
    HoldKind.ADDRESS: "an agent or a manager",
    HoldKind.MANUAL: "an agent or a manager",
    HoldKind.EXCHANGE: "the system when the return arrives, or an agent or a manager",
}


class OrderHold(models.Model):
    """A typed reason an order may not be fulfilled. At most one open hold of each kind
    per order. While any hold is open, the order's unshipped fulfillment orders are on
    hold too (``fulfillment.holds``)."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="holds")
    kind = models.CharField(max_length=16, choices=HoldKind.choices)
    reason = models.TextField()
    placed_at = models.DateTimeField(auto_now_add=True)
    placed_by_label = models.CharField(max_length=150)
    released_at = models.DateTimeField(null=True, blank=True)
    released_by = models.ForeignKey(
        "auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    released_by_label = models.CharField(
        "released by (name)",
        max_length=150,
        blank=True,
        help_text="Who released it: a staff user, a company approver or the hold rules.",
    )
    release_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["placed_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["order", "kind"],
                condition=Q(released_at__isnull=True),
                name="hold_one_open_per_kind",
            ),
            models.CheckConstraint(
                condition=Q(released_at__isnull=True, release_reason="")
                | (Q(released_at__isnull=False) & ~Q(release_reason="")),
                name="hold_release_needs_reason",
            ),
        ]
        indexes = [
            models.Index(
                fields=["kind", "placed_at"],
                condition=Q(released_at__isnull=True),
                name="hold_open_by_kind",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} hold on {self.order}"

    @property
    def is_open(self) -> bool:
        return self.released_at is None


class OrderEventType(models.TextChoices):
    CREATED = "created", "Draft created"
    PLACED = "placed", "Placed"
    STATUS_CHANGED = "status_changed", "Status changed"
    HOLD_PLACED = "hold_placed", "Hold placed"
    HOLD_RELEASED = "hold_released", "Hold released"
    EDITED = "edited", "Edited"
    CANCELLED = "cancelled", "Cancelled"
    LINES_CANCELLED = "lines_cancelled", "Lines cancelled"
    ROUTED = "routed", "Routed"
    SHIPPED = "shipped", "Shipped"
    DELIVERED = "delivered", "Delivered"
    NOTE = "note", "Note"
    NOTIFICATION_SENT = "notification_sent", "Notification sent"
    NOTIFICATION_FAILED = "notification_failed", "Notification failed"
    NOTIFICATION_RESEND = "notification_resend", "Notification resend requested"
    IMPORTED = "imported", "Imported"
    RETURN_REQUESTED = "return_requested", "Return requested"
    RETURN_APPROVED = "return_approved", "Return approved"
    RETURN_REJECTED = "return_rejected", "Return rejected"
    RETURN_CANCELLED = "return_cancelled", "Return cancelled"
    RETURN_IN_TRANSIT = "return_in_transit", "Return sent back"
    RETURN_RECEIVED = "return_received", "Return received"
    RETURN_CLOSED = "return_closed", "Return closed"
    RETURN_TRACKING = "return_tracking", "Return parcel scanned"
    RETURN_REFUNDED = "return_refunded", "Return refunded"
    RETURN_EXCHANGE = "return_exchange", "Return exchanged"


class OrderEvent(ActorFields):
    """One entry of an order's timeline. Append-only."""

    # Indexed by (order, created_at) in Meta, which serves lookups by order too.
    order = models.ForeignKey(
        Order, on_delete=models.CASCADE, related_name="events", db_index=False
    )
    type = models.CharField(max_length=32, choices=OrderEventType.choices)
    message = models.CharField(max_length=300, blank=True)
    payload = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["order", "created_at"])]

    def __str__(self) -> str:
        return f"{self.order} · {self.get_type_display()}"


class CompanyExposure(models.Model):
    """What a company's open orders (placed or processing) total, for the credit rule.

    On PostgreSQL the database keeps it: a deferred trigger on ``orders_order`` adds
    each committed change of an open order's total, status or company to one of a few
    slots per company (chosen by transaction, so concurrent orders rarely wait on each
    other), when the transaction commits, so these rows are always locked last.
    Reading it costs a few rows however many orders are open; it reflects committed
    orders only, never the reading transaction's own. SQLite (the demo) sums the
    orders instead and has no rows here.
    """

    SLOTS = 8

    company = models.ForeignKey(
        "customers.Company", on_delete=models.CASCADE, related_name="exposure_slots"
    )
    slot = models.PositiveSmallIntegerField()
    open_orders_total = models.DecimalField(max_digits=16, decimal_places=2, default=Decimal("0"))

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["company", "slot"], name="company_exposure_slot_unique")
        ]

    def __str__(self) -> str:
        total = format_money(self.open_orders_total)
        return f"Open orders of {self.company} (share {self.slot}): {total}"


class OpenReceivable(models.Model):
    """An invoice on terms that still owes money, as the credit rule sees it: its
    company, number, due date and balance due. Billing keeps one row per such invoice
    in the transaction that issues, pays, credits or unapplies it (and deletes it once
    nothing is owed), so that placement reads a company's unpaid balances and its
    overdue invoices in the same statement as its open orders (``orders.sql``)."""

    company = models.ForeignKey(
        "customers.Company", on_delete=models.CASCADE, related_name="open_receivables"
    )
    invoice_number = models.CharField(max_length=32, unique=True)
    due_date = models.DateField()
    balance_due = models.DecimalField(max_digits=14, decimal_places=2)

    class Meta:
        indexes = [models.Index(fields=["company", "due_date"], name="open_receivable_company_due")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(balance_due__gt=0), name="open_receivable_balance_positive"
            )
        ]

    def __str__(self) -> str:
        return f"Invoice {self.invoice_number}: {format_money(self.balance_due)} due"


class TaxRate(models.Model):
    """Sales tax by destination. A blank region applies to the whole country; the most
    specific match wins."""

    country = models.CharField(max_length=2)
    region = models.CharField(max_length=100, blank=True)
    rate = models.DecimalField(max_digits=6, decimal_places=5, help_text="0.0725 for 7.25 %.")
    taxes_shipping = models.BooleanField(default=False)

    class Meta:
        ordering = ["country", "region"]
        constraints = [
            models.UniqueConstraint(fields=["country", "region"], name="tax_rate_unique_place"),
            models.CheckConstraint(condition=Q(rate__gte=0, rate__lt=1), name="tax_rate_range"),
        ]

    def __str__(self) -> str:
        place = f"{self.country}, {self.region}" if self.region else f"{self.country} (everywhere)"
        return f"{place}: {(self.rate * 100).normalize():f} %"


class IdempotencyKey(models.Model):
    """Remembers the response to a keyed API write, per tenant (``scope``: a company,
    or the storefront).

    Inserted in the same transaction as the order: a concurrent duplicate waits on
    the unique index until the first commits, then reads the stored response.
    """

    scope = models.CharField(max_length=40)
    company = models.ForeignKey(
        "customers.Company",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="idempotency_keys",
    )
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField()
    response_body = models.TextField(help_text="The exact JSON sent, replayed byte for byte.")
    order = models.ForeignKey(Order, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scope", "key"], name="idempotency_scope_key_unique")
        ]

    def __str__(self) -> str:
        return f"Idempotency key {self.key}"


class NotificationStatus(models.TextChoices):
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Skipped (customer opted out)"
    QUEUED = "queued", "Queued (resend)"


class Notification(models.Model):
    """One message to one customer about one event on one channel.

    ``dedupe_key`` is unique: a task that runs twice finds the row and sends nothing.
    ``claimed_at`` is when the current sender claimed it (status "sending"); a claim
    older than ``OMS_NOTIFICATION_CLAIM_TIMEOUT`` was left by a worker that died, and
    the next attempt takes it over (``orders.notifications``).

    The table keeps the name it had when the log belonged to the project app.
    """

    dedupe_key = models.CharField(max_length=400, unique=True)
    channel = models.CharField(max_length=8, choices=[("email", "E-mail"), ("sms", "SMS")])
    event = models.CharField(max_length=32)
    recipient = models.CharField(max_length=254)
    subject = models.CharField(max_length=200, blank=True)
    order = models.ForeignKey(
        Order,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    status = models.CharField(max_length=16, choices=NotificationStatus.choices)
    error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Null on rows claimed before claims were timed: their created_at stands in.
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # What the message was built from (its builder and that builder's ids), so that an
    # agent can have it sent again; empty for messages that cannot be resent.
    params = models.JSONField(default=dict, blank=True)
    # The provider's id of a text message.
    provider_id = models.CharField(max_length=100, blank=True)
    # A resend: the message it repeats and the agent who asked for it.
    resend_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="resends"
    )
    requested_by = models.ForeignKey(
        "auth.User",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        db_table = "oms_notification"
        ordering = ["-id"]
        permissions = [("resend_notification", "Can resend notifications")]

    def __str__(self) -> str:
        return f"{self.event} → {self.recipient} ({self.status})"


class OrderNote(models.Model):
    """An agent's note on an order, kept beside its timeline; a pinned note is shown on
    top of the order page until it is unpinned. Written only by ``orders.notes``, which
    adds a timeline entry for each note and each pin."""

    MAX_LENGTH = 2000

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="agent_notes")
    author = models.ForeignKey(
        "auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Who wrote it, kept when the user is deleted.
    author_name = models.CharField(max_length=150)
    body = models.TextField()
    pinned = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["order", "created_at"], name="order_note_by_order")]
        constraints = [
            models.CheckConstraint(condition=~Q(body=""), name="order_note_not_empty"),
        ]

    def __str__(self) -> str:
        return f"{self.order} · note by {self.author_name}"


class QuoteStatus(models.TextChoices):
    SENT = "sent", "Sent"
    ACCEPTED = "accepted", "Accepted"
    EXPIRED = "expired", "Expired"
    WITHDRAWN = "withdrawn", "Withdrawn"


class Quote(models.Model):
    """A draft sent to its buyer as a priced offer, valid until ``expires_at``, with the
    draft's stock held for it until then (``orders.quotes``). The buyer accepts it
    through the API, which submits the draft. At most one open quote per draft: a new
    quote or an edit of the draft withdraws the open one."""

    number = models.CharField(max_length=32, unique=True)
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="quotes")
    company = models.ForeignKey(
        "customers.Company",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=16, choices=QuoteStatus.choices, default=QuoteStatus.SENT)
    currency = models.CharField(max_length=3)
    grand_total = models.DecimalField(max_digits=14, decimal_places=2)
    sent_to = models.EmailField()
    sent_by = models.ForeignKey(
        "auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["order"],
                condition=Q(status="sent"),
                name="quote_one_open_per_draft",
            ),
            models.CheckConstraint(
                condition=Q(grand_total__gte=0), name="quote_grand_total_nonneg"
            ),
        ]

    def __str__(self) -> str:
        return f"Quote {self.number}"


class QuoteSeries(models.Model):
    """The last quote number given out in a year: quote numbers have no gaps (the row
    is incremented, and stays locked, in the transaction that writes the quote)."""

    year = models.PositiveSmallIntegerField(unique=True)
    last_number = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"Quotes of {self.year}: {self.last_number}"
