"""Routing, fulfillment orders and shipments, built on the carriers and shipping methods of
``shipping``."""

from django.db import models
from django.db.models import F, Q

from core.history import audit_history
from shipping.models import Carrier, ServiceLevel

# --- routing ------------------------------------------------------------------


class RoutingStep(models.TextChoices):
    ACTIVE = "active", "Location is active"
    CAPABILITY = "capability", "Capability (ships, pickup store, customization, dropship vendor)"
    STOCK = "stock", "Stock available after safety stock"
    CAPACITY = "capacity", "Capacity left today"
    SHIP_TOGETHER = "ship_together", "Ship together (never split these lines)"
    FEWEST_SHIPMENTS = "fewest_shipments", "Fewest shipments for the whole order"
    DISTANCE = "distance", "Nearest to the ship-to address"
    PRIORITY = "priority", "Location priority"
    COST = "cost", "Lowest cost per shipment"


FILTER_STEPS = {
    RoutingStep.ACTIVE,
    RoutingStep.CAPABILITY,
    RoutingStep.STOCK,
    RoutingStep.CAPACITY,
}


class RoutingRule(models.Model):
    """One step of the routing recipe, applied in ``position`` order.

    Filter steps drop ineligible locations; ranking steps order the candidate plans
    (earlier steps weigh more); ``ship_together`` keeps listed SKUs (``parameters:
    {"skus": [...]}``, or every line when empty) in one shipment.
    """

    step = models.CharField(max_length=32, choices=RoutingStep.choices, unique=True)
    position = models.PositiveSmallIntegerField()
    is_enabled = models.BooleanField(default=True)
    parameters = models.JSONField(default=dict, blank=True)
    description = models.CharField(max_length=200, blank=True)

    history = audit_history()

    class Meta:
        ordering = ["position"]

    def __str__(self) -> str:
        return f"{self.position}. {self.get_step_display()}"


class FulfillmentStatus(models.TextChoices):
    OPEN = "open", "Open"
    ON_HOLD = "on_hold", "On hold"
    IN_PROGRESS = "in_progress", "In progress"
    INCOMPLETE = "incomplete", "Incomplete"
    CLOSED = "closed", "Closed"
    CANCELLED = "cancelled", "Cancelled"


FULFILLMENT_TRANSITIONS: dict[str, set[str]] = {
    FulfillmentStatus.OPEN: {
        FulfillmentStatus.ON_HOLD,
        FulfillmentStatus.IN_PROGRESS,
        FulfillmentStatus.INCOMPLETE,
        FulfillmentStatus.CLOSED,
        FulfillmentStatus.CANCELLED,
    },
    # A held fulfillment order goes back to where it was (open or in progress) when the
    # order's last hold is released; a partner or the location may still give its units
    # back, which can close it.
    FulfillmentStatus.ON_HOLD: {
        FulfillmentStatus.OPEN,
        FulfillmentStatus.IN_PROGRESS,
        FulfillmentStatus.INCOMPLETE,
        FulfillmentStatus.CLOSED,
        FulfillmentStatus.CANCELLED,
    },
    FulfillmentStatus.IN_PROGRESS: {
        FulfillmentStatus.ON_HOLD,
        FulfillmentStatus.INCOMPLETE,
        FulfillmentStatus.CLOSED,
        FulfillmentStatus.CANCELLED,
    },
    FulfillmentStatus.INCOMPLETE: {FulfillmentStatus.CLOSED, FulfillmentStatus.CANCELLED},
    FulfillmentStatus.CLOSED: set(),
    FulfillmentStatus.CANCELLED: set(),
}


class RequestStatus(models.TextChoices):
    NOT_REQUIRED = "not_required", "Not required (own location)"
    SUBMITTED = "submitted", "Submitted"
    ACCEPTED = "accepted", "Accepted"
    REJECTED = "rejected", "Rejected"


class FulfillmentOrder(models.Model):
    """The part of an order one location fulfills."""

    number = models.CharField(max_length=40, unique=True)
    order = models.ForeignKey(
        "orders.Order", on_delete=models.CASCADE, related_name="fulfillment_orders"
    )
    location = models.ForeignKey(
        "inventory.Location", on_delete=models.PROTECT, related_name="fulfillment_orders"
    )
    status = models.CharField(
        max_length=16,
        choices=FulfillmentStatus.choices,
        default=FulfillmentStatus.OPEN,
        db_index=True,
    )
    request_status = models.CharField(
        max_length=16, choices=RequestStatus.choices, default=RequestStatus.NOT_REQUIRED
    )
    hold_reason = models.CharField(max_length=200, blank=True)
    status_before_hold = models.CharField(
        max_length=16,
        choices=FulfillmentStatus.choices,
        blank=True,
        help_text="Where it goes back to when the order's holds are released.",
    )
    ship_by_date = models.DateField()
    is_pickup = models.BooleanField(default=False)
    pickup_code = models.CharField(max_length=12, blank=True)
    ready_for_pickup_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    at_risk_since = models.DateTimeField(
        null=True, blank=True, help_text="Set by the SLA monitor when the promise is at risk."
    )

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["location", "status", "ship_by_date"]),
            models.Index(fields=["location", "created_at"]),
            # The unfiltered work queue (open work by ship-by date) and the exceptions
            # queue stay index scans on a large table.
            models.Index(
                fields=["ship_by_date", "id"],
                condition=Q(status__in=["open", "in_progress", "on_hold"]),
                name="fo_open_by_ship_date",
            ),
            models.Index(
                fields=["at_risk_since"],
                condition=Q(at_risk_since__isnull=False),
                name="fo_at_risk",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status=FulfillmentStatus.ON_HOLD) | Q(hold_reason=""),
                name="fo_hold_reason_only_on_hold",
            ),
            models.CheckConstraint(
                condition=Q(status=FulfillmentStatus.ON_HOLD) | Q(status_before_hold=""),
                name="fo_status_before_hold_only_on_hold",
            ),
            models.CheckConstraint(
                condition=Q(is_pickup=False) | ~Q(pickup_code=""),
                name="fo_pickup_has_code",
            ),
        ]
        permissions = [
            ("work_fulfillment", "Can pick, pack and ship fulfillment orders"),
            ("reject_fulfillment", "Can reject fulfillment order lines"),
        ]

    def __str__(self) -> str:
        return self.number


class FulfillmentOrderLine(models.Model):
    fulfillment_order = models.ForeignKey(
        FulfillmentOrder, on_delete=models.CASCADE, related_name="lines"
    )
    order_line = models.ForeignKey(
        "orders.OrderLine", on_delete=models.CASCADE, related_name="fulfillment_lines"
    )
    quantity = models.PositiveIntegerField()
    quantity_shipped = models.PositiveIntegerField(default=0)
    quantity_rejected = models.PositiveIntegerField(default=0)
    quantity_cancelled = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["fulfillment_order_id", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="fo_line_qty_positive"),
            models.CheckConstraint(
                condition=Q(
                    quantity__gte=F("quantity_shipped")
                    + F("quantity_rejected")
                    + F("quantity_cancelled")
                ),
                name="fo_line_buckets_within_quantity",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order_line.sku} × {self.quantity}"

    @property
    def quantity_open(self) -> int:
        return (
            self.quantity - self.quantity_shipped - self.quantity_rejected - self.quantity_cancelled
        )


class RoutingDecision(models.Model):
    """Why an order went where it went: the readable trace of one routing run."""

    order = models.ForeignKey(
        "orders.Order", on_delete=models.CASCADE, related_name="routing_decisions"
    )
    outcome = models.CharField(max_length=32)
    summary = models.CharField(max_length=300)
    trace = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["order", "-id"])]

    def __str__(self) -> str:
        return f"{self.order}: {self.summary}"


# --- shipments -------------------------------------------------------------------


class ShipmentStatus(models.TextChoices):
    LABEL_CREATED = "label_created", "Label created"
    IN_TRANSIT = "in_transit", "In transit"
    OUT_FOR_DELIVERY = "out_for_delivery", "Out for delivery"
    DELIVERED = "delivered", "Delivered"
    EXCEPTION = "exception", "Exception / delay"
    PICKED_UP = "picked_up", "Picked up in store"


class Shipment(models.Model):
    fulfillment_order = models.ForeignKey(
        FulfillmentOrder, on_delete=models.CASCADE, related_name="shipments"
    )
    order = models.ForeignKey("orders.Order", on_delete=models.CASCADE, related_name="shipments")
    carrier = models.ForeignKey(Carrier, null=True, blank=True, on_delete=models.PROTECT)
    service_level = models.CharField(max_length=16, choices=ServiceLevel.choices)
    tracking_number = models.CharField(max_length=64, blank=True, db_index=True)
    status = models.CharField(
        max_length=20, choices=ShipmentStatus.choices, default=ShipmentStatus.LABEL_CREATED
    )
    shipped_at = models.DateTimeField()
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["carrier", "tracking_number"],
                condition=~Q(tracking_number=""),
                name="shipment_tracking_unique_per_carrier",
            )
        ]

    def __str__(self) -> str:
        return f"Shipment {self.tracking_number}" if self.tracking_number else "Shipment"

    @property
    def tracking_url(self) -> str:
        return self.carrier.tracking_url(self.tracking_number) if self.carrier else ""


class ShipmentLine(models.Model):
    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="lines")
    fulfillment_line = models.ForeignKey(
        FulfillmentOrderLine, on_delete=models.CASCADE, related_name="shipment_lines"
    )
    quantity = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="shipment_line_qty_positive")
        ]

    def __str__(self) -> str:
        return f"{self.fulfillment_line.order_line.sku} × {self.quantity}"


class TrackingEvent(models.Model):
    """One scan reported by a carrier. ``external_id`` makes redelivered webhooks harmless."""

    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="events")
    status = models.CharField(max_length=20, choices=ShipmentStatus.choices)
    description = models.CharField(max_length=300, blank=True)
    location = models.CharField(max_length=120, blank=True)
    occurred_at = models.DateTimeField()
    external_id = models.CharField(max_length=100)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["occurred_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["shipment", "external_id"], name="tracking_event_unique"
            )
        ]

    def __str__(self) -> str:
        status = self.get_status_display()
        return f"{status}: {self.description}" if self.description else status
