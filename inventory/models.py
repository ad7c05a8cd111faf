"""Products, locations, stock per location, the movement ledger and reservations.

Stock buckets per (location, SKU):

- ``on_hand``: sellable units physically there;
- ``allocated``: units of ``on_hand`` promised to fulfillment orders at this location;
- ``reserved``: units of ``on_hand`` held by soft reservations (drafts, quotes);
- ``safety_stock``: units kept back from promising;
- ``unsellable``: damaged or in QC, physically there but not part of ``on_hand``;
- ``incoming``: expected but not yet received.

A location's available to promise is ``on_hand - allocated - reserved - safety_stock``
(never below zero). ``NetworkStock`` holds, per SKU, the sum of that over active
locations (``available``) and the demand committed by orders not yet allocated
(``committed``). Every counter change writes ``StockMovement`` rows in the same
transaction; the counters always equal the sum of their ledger rows.
"""

from decimal import Decimal
from functools import cache
from zoneinfo import available_timezones

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q

from core.actors import ActorFields
from core.history import audit_history
from core.models import PostalAddress, TimeStamped, coordinate_constraints


class LocationKind(models.TextChoices):
    WAREHOUSE = "warehouse", "Warehouse"
    STORE = "store", "Store"
    DISTRIBUTION_CENTER = "dc", "Distribution centre"
    THIRD_PARTY = "3pl", "Third-party logistics"
    DROPSHIP_VENDOR = "dropship", "Dropship vendor"


@cache
def known_time_zones() -> frozenset[str]:
    """IANA zone names this machine's time-zone database knows."""
    return frozenset(available_timezones())


def validate_time_zone(value: str) -> None:
    if value not in known_time_zones():
        raise ValidationError(
            "%(value)s is not a known time zone; use an IANA name such as America/Denver.",
            code="unknown_time_zone",
            params={"value": value},
        )


def default_time_zone() -> str:
    return settings.TIME_ZONE


class Location(PostalAddress, TimeStamped):
    code = models.CharField(max_length=32, unique=True)
    kind = models.CharField(max_length=16, choices=LocationKind.choices, db_index=True)
    ships = models.BooleanField(default=True, help_text="Ships parcels to customers.")
    pickup = models.BooleanField(default=False, help_text="Hands orders over to customers.")
    customization = models.BooleanField(
        default=False, help_text="Can engrave, personalise or gift-wrap."
    )
    priority = models.PositiveSmallIntegerField(
        default=100, help_text="Lower ranks first when routing ties."
    )
    daily_capacity = models.PositiveIntegerField(
        null=True, blank=True, help_text="Fulfillment orders per day; empty means unlimited."
    )
    cost_per_shipment = models.DecimalField(max_digits=10, decimal_places=2, default=Decimal("0"))
    contact_email = models.EmailField(blank=True)
    time_zone = models.CharField(
        max_length=64,
        default=default_time_zone,
        validators=[validate_time_zone],
        help_text="Where the location's clock runs (IANA name, e.g. America/Denver): "
        "shipping cut-offs and working days are read on it.",
    )
    is_active = models.BooleanField(default=True)
    accepts_returns = models.BooleanField(
        default=True,
        help_text="Takes customers' returns (parcels sent back, or drop-offs at a store).",
    )

    history = audit_history()

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(cost_per_shipment__gte=0), name="location_cost_nonneg"
            ),
            *coordinate_constraints("location"),
        ]

    def __str__(self) -> str:
        return f"{self.code} · {self.name}"


class ProductCategory(models.Model):
    """A group of products, e.g. "Kitchen & dining"; return policy rules may cover one."""

    code = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=100)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "product categories"

    def __str__(self) -> str:
        return self.name


class Product(TimeStamped):
    sku = models.CharField("SKU", max_length=64, unique=True)
    name = models.CharField(max_length=200, db_index=True)
    description = models.TextField(blank=True)
    category = models.ForeignKey(
        ProductCategory,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="products",
    )
    list_price = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3, default="USD")
    weight_grams = models.PositiveIntegerField(default=0)
    is_customizable = models.BooleanField(default=False)
    customization_fields = models.JSONField(
        default=list,
        blank=True,
        help_text='Names of the customization fields a line may carry, e.g. ["engraving"].',
    )
    is_returnable = models.BooleanField(default=True)
    allow_backorder = models.BooleanField(default=False)
    dropship_vendor = models.ForeignKey(
        Location,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="dropship_products",
        limit_choices_to={"kind": LocationKind.DROPSHIP_VENDOR},
    )
    is_active = models.BooleanField(default=True)

    history = audit_history()

    class Meta:
        ordering = ["sku"]
        constraints = [
            models.CheckConstraint(condition=Q(list_price__gte=0), name="product_price_nonneg"),
            models.CheckConstraint(
                condition=Q(is_customizable=True) | Q(customization_fields=[]),
                name="product_customization_fields_need_flag",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sku} · {self.name}"


class NetworkStock(models.Model):
    """Per-SKU totals across the network; the row placement locks to commit demand."""

    product = models.OneToOneField(
        Product, primary_key=True, on_delete=models.CASCADE, related_name="network_stock"
    )
    available = models.IntegerField(
        default=0, help_text="Sum of available to promise over active locations."
    )
    committed = models.IntegerField(
        default=0, help_text="Demand of placed orders not yet allocated to a location."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(available__gte=0), name="network_available_nonneg"),
            models.CheckConstraint(condition=Q(committed__gte=0), name="network_committed_nonneg"),
        ]

    def __str__(self) -> str:
        return f"{self.product.sku} across the network"

    @property
    def available_to_promise(self) -> int:
        return max(self.available - self.committed, 0)


class StockBucket(models.TextChoices):
    ON_HAND = "on_hand", "On hand"
    ALLOCATED = "allocated", "Allocated"
    RESERVED = "reserved", "Reserved"
    SAFETY_STOCK = "safety_stock", "Safety stock"
    UNSELLABLE = "unsellable", "Unsellable"
    INCOMING = "incoming", "Incoming"


class StockLevel(models.Model):
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="stock_levels")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="stock_levels")
    on_hand = models.IntegerField(default=0)
    allocated = models.IntegerField(default=0)
    reserved = models.IntegerField(default=0)
    safety_stock = models.IntegerField(default=0)
    unsellable = models.IntegerField(default=0)
    incoming = models.IntegerField(default=0)
    bin_location = models.CharField(
        "bin",
        max_length=32,
        blank=True,
        help_text="Where the SKU sits at the location, e.g. A-03-2; the pick list walks "
        "the bins in this order.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["location_id", "product_id"]
        constraints = [
            models.UniqueConstraint(fields=["location", "product"], name="stock_level_unique"),
            *[
                models.CheckConstraint(condition=Q(**{f"{b}__gte": 0}), name=f"stock_{b}_nonneg")
                for b in StockBucket.values
            ],
            models.CheckConstraint(
                condition=Q(on_hand__gte=F("allocated") + F("reserved")),
                name="stock_commitments_within_on_hand",
            ),
        ]
        indexes = [models.Index(fields=["product", "location"])]
        permissions = [
            ("receive_stock", "Can receive stock"),
            ("adjust_stock", "Can adjust stock"),
            ("transfer_stock", "Can transfer stock"),
            ("count_stock", "Can record cycle counts"),
        ]

    def __str__(self) -> str:
        return f"{self.product.sku} at {self.location.code}"

    @property
    def available_to_promise(self) -> int:
        return max(self.on_hand - self.allocated - self.reserved - self.safety_stock, 0)


class StaffLocation(models.Model):
    """A staff user works at a location: the fulfillment queue opens on the work of the
    user's locations. A user with no row sees every location's work."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_locations"
    )
    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="staff")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["location__code", "user__username"]
        verbose_name = "staff location"
        constraints = [
            models.UniqueConstraint(fields=["user", "location"], name="staff_location_unique")
        ]
        permissions = [
            ("see_all_locations", "Can see the work of every location"),
        ]

    def __str__(self) -> str:
        return f"{self.user} at {self.location.code}"


class MovementReason(models.TextChoices):
    RECEIPT = "receipt", "Receipt"
    EXPECTED = "expected", "Expected receipt"
    EXPECTED_CANCELLED = "expected_cancelled", "Expected receipt cancelled"
    ADJUSTMENT = "adjustment", "Adjustment"
    DAMAGE = "damage", "Damaged / to QC"
    TRANSFER_OUT = "transfer_out", "Transfer out"
    TRANSFER_IN = "transfer_in", "Transfer in"
    CYCLE_COUNT = "cycle_count", "Cycle count"
    SAFETY_STOCK = "safety_stock", "Safety stock change"
    RESERVATION = "reservation", "Reservation"
    RESERVATION_RELEASE = "reservation_release", "Reservation released"
    ALLOCATION = "allocation", "Allocation"
    DEALLOCATION = "deallocation", "Allocation released"
    SHIPMENT = "shipment", "Shipment"
    RETURN_RESTOCK = "return_restock", "Return restocked"
    RETURN_DAMAGED = "return_damaged", "Return received damaged"
    RETURN_TO_VENDOR = "return_to_vendor", "Return held for the vendor"


class StockMovement(ActorFields):
    """One change of one bucket of one stock level. Append-only."""

    stock_level = models.ForeignKey(StockLevel, on_delete=models.PROTECT, related_name="movements")
    # Denormalised for filtering the ledger without joins.
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="+")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    bucket = models.CharField(max_length=16, choices=StockBucket.choices)
    delta = models.IntegerField()
    balance_after = models.IntegerField()
    reason = models.CharField(max_length=32, choices=MovementReason.choices)
    reference = models.CharField(max_length=100, blank=True, db_index=True)
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=~Q(delta=0), name="movement_delta_nonzero"),
            models.CheckConstraint(
                condition=Q(balance_after__gte=0), name="movement_balance_nonneg"
            ),
        ]
        indexes = [
            models.Index(fields=["stock_level", "bucket"]),
            models.Index(fields=["product", "-created_at"]),
            models.Index(fields=["location", "-created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_bucket_display()} {self.delta:+d} ({self.get_reason_display()})"


class ReservationStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    RELEASED = "released", "Released"
    EXPIRED = "expired", "Expired"
    CONSUMED = "consumed", "Consumed by an order"


class StockReservation(ActorFields):
    """A soft hold on stock at one location for a draft order or a quote, with an expiry."""

    stock_level = models.ForeignKey(
        StockLevel, on_delete=models.PROTECT, related_name="reservations"
    )
    quantity = models.PositiveIntegerField()
    reference = models.CharField(max_length=100, db_index=True)
    status = models.CharField(
        max_length=16, choices=ReservationStatus.choices, default=ReservationStatus.ACTIVE
    )
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    ALLOWED_TRANSITIONS = {
        ReservationStatus.ACTIVE: {
            ReservationStatus.RELEASED,
            ReservationStatus.EXPIRED,
            ReservationStatus.CONSUMED,
        },
    }

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="reservation_qty_positive"),
            models.CheckConstraint(
                condition=Q(status=ReservationStatus.ACTIVE, ended_at__isnull=True)
                | (~Q(status=ReservationStatus.ACTIVE) & Q(ended_at__isnull=False)),
                name="reservation_ended_when_not_active",
            ),
        ]
        indexes = [
            models.Index(
                fields=["expires_at"],
                condition=Q(status=ReservationStatus.ACTIVE),
                name="reservation_active_expiry",
            )
        ]

    def __str__(self) -> str:
        status = self.get_status_display()
        return f"{self.quantity} × {self.stock_level} for {self.reference} ({status})"


class NetworkReservation(ActorFields):
    """A soft hold on network availability for a draft order or a quote.

    It counts in ``NetworkStock.committed`` like a placed order does, but expires:
    the beat task gives the units back unless the draft is submitted first, in which
    case the order takes the commitment over (status ``consumed``).
    """

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()
    reference = models.CharField(max_length=100, db_index=True)
    status = models.CharField(
        max_length=16, choices=ReservationStatus.choices, default=ReservationStatus.ACTIVE
    )
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="network_reservation_qty_positive"
            ),
            models.CheckConstraint(
                condition=Q(status=ReservationStatus.ACTIVE, ended_at__isnull=True)
                | (~Q(status=ReservationStatus.ACTIVE) & Q(ended_at__isnull=False)),
                name="network_reservation_ended_when_not_active",
            ),
        ]
        indexes = [
            models.Index(
                fields=["expires_at"],
                condition=Q(status=ReservationStatus.ACTIVE),
                name="network_reservation_expiry",
            )
        ]

    def __str__(self) -> str:
        return (
            f"{self.quantity} × {self.product.sku} for {self.reference} "
            f"({self.get_status_display()})"
        )


# --- incoming supply: purchase orders and transfers in transit -----------------


class PurchaseOrderKind(models.TextChoices):
    PURCHASE = "purchase", "Purchase from a supplier"
    TRANSFER = "transfer", "Transfer between locations"


class PurchaseOrderStatus(models.TextChoices):
    OPEN = "open", "Open"
    PARTIALLY_RECEIVED = "partially_received", "Partly received"
    RECEIVED = "received", "Received"
    CANCELLED = "cancelled", "Cancelled"


class PurchaseOrder(TimeStamped):
    """Units on their way to one location: bought from a supplier, or sent from another
    location (a transfer in transit). Its open lines are the location's ``incoming``.

    ``status`` is derived from the lines' quantities by the service that changes them
    (``inventory.purchase_orders``), never typed.
    """

    number = models.CharField(max_length=32, unique=True)
    kind = models.CharField(
        max_length=16, choices=PurchaseOrderKind.choices, default=PurchaseOrderKind.PURCHASE
    )
    supplier = models.CharField(max_length=200, blank=True)
    source_location = models.ForeignKey(
        Location,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="outgoing_transfers",
        help_text="Where a transfer's units come from.",
    )
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="purchase_orders")
    expected_date = models.DateField(db_index=True)
    status = models.CharField(
        max_length=20,
        choices=PurchaseOrderStatus.choices,
        default=PurchaseOrderStatus.OPEN,
        db_index=True,
    )
    reference = models.CharField(
        max_length=100,
        blank=True,
        help_text="The supplier's or ERP's own number for this order.",
    )
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["location", "reference"],
                condition=~Q(reference=""),
                name="purchase_order_reference_unique",
            ),
            models.CheckConstraint(
                condition=Q(kind=PurchaseOrderKind.PURCHASE, source_location__isnull=True)
                | (
                    Q(kind=PurchaseOrderKind.TRANSFER, source_location__isnull=False)
                    & ~Q(source_location=F("location"))
                ),
                name="purchase_order_transfer_has_other_source",
            ),
        ]
        indexes = [models.Index(fields=["location", "expected_date"])]
        permissions = [
            ("receive_purchaseorder", "Can receive purchase orders"),
            ("cancel_purchaseorder", "Can cancel purchase order lines"),
        ]

    def __str__(self) -> str:
        origin = self.supplier if self.kind == PurchaseOrderKind.PURCHASE else "transfer"
        return f"{self.number} · {origin} → {self.location.code}"


class PurchaseOrderLine(models.Model):
    purchase_order = models.ForeignKey(
        PurchaseOrder, on_delete=models.CASCADE, related_name="lines"
    )
    line_number = models.PositiveSmallIntegerField()
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    quantity_ordered = models.PositiveIntegerField()
    quantity_received = models.PositiveIntegerField(default=0)
    quantity_cancelled = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["purchase_order_id", "line_number"]
        constraints = [
            models.UniqueConstraint(
                fields=["purchase_order", "product"], name="purchase_order_line_sku_unique"
            ),
            models.UniqueConstraint(
                fields=["purchase_order", "line_number"], name="purchase_order_line_number_unique"
            ),
            models.CheckConstraint(
                condition=Q(quantity_ordered__gt=0), name="purchase_order_line_qty_positive"
            ),
            models.CheckConstraint(
                condition=Q(quantity_ordered__gte=F("quantity_received") + F("quantity_cancelled")),
                name="purchase_order_line_within_ordered",
            ),
        ]
        indexes = [models.Index(fields=["product", "purchase_order"])]

    def __str__(self) -> str:
        return f"{self.product.sku} × {self.quantity_ordered}"

    @property
    def quantity_open(self) -> int:
        return self.quantity_ordered - self.quantity_received - self.quantity_cancelled


class PurchaseOrderReceipt(ActorFields):
    """One delivery counted in against a purchase order."""

    purchase_order = models.ForeignKey(
        PurchaseOrder, on_delete=models.PROTECT, related_name="receipts"
    )
    reference = models.CharField(
        max_length=100, blank=True, help_text="The delivery note or the warehouse's receipt id."
    )
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["purchase_order_id", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["purchase_order", "reference"],
                condition=~Q(reference=""),
                name="purchase_order_receipt_reference_unique",
            )
        ]

    def __str__(self) -> str:
        return f"Receipt {self.reference or self.pk} of {self.purchase_order.number}"


class PurchaseOrderReceiptLine(models.Model):
    receipt = models.ForeignKey(
        PurchaseOrderReceipt, on_delete=models.CASCADE, related_name="lines"
    )
    line = models.ForeignKey(PurchaseOrderLine, on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="purchase_order_receipt_qty_positive"
            )
        ]

    def __str__(self) -> str:
        return f"{self.line.product.sku} × {self.quantity}"


class PurchaseOrderEvent(ActorFields):
    """The purchase order's timeline (created, received, line cancelled). Append-only."""

    purchase_order = models.ForeignKey(
        PurchaseOrder, on_delete=models.CASCADE, related_name="events"
    )
    kind = models.CharField(max_length=32)
    payload = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["purchase_order_id", "id"]

    def __str__(self) -> str:
        return f"{self.purchase_order.number}: {self.kind}"
