"""Carriers and shipping methods: what a buyer chooses at checkout and who carries it.

Orders point at a shipping method; fulfillment's shipments point at a carrier. Both
tables were created by ``fulfillment`` and keep their names (``Meta.db_table``): the
models moved here without touching the data.
"""

import datetime as dt
from decimal import Decimal

from django.db import models
from django.db.models import Q

from core.history import audit_history


class Carrier(models.Model):
    code = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=100)
    tracking_url_template = models.CharField(
        max_length=300, blank=True, help_text="Use {tracking_number} where the number goes."
    )
    webhook_secret = models.CharField(
        max_length=128,
        blank=True,
        help_text="Shared secret the carrier sends in X-Carrier-Token with tracking events.",
    )
    offers_return_pickup = models.BooleanField(
        default=False,
        help_text="The carrier collects return parcels at the customer's address.",
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        db_table = "fulfillment_carrier"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def tracking_url(self, tracking_number: str) -> str:
        if not self.tracking_url_template:
            return ""
        return self.tracking_url_template.replace("{tracking_number}", tracking_number)


class ServiceLevel(models.TextChoices):
    STANDARD = "standard", "Standard"
    EXPRESS = "express", "Express"
    NEXT_DAY = "next_day", "Next day"
    SAME_DAY = "same_day", "Same day"
    WEEKEND = "weekend", "Weekend delivery"
    PICKUP = "pickup", "Store pickup"


class ShippingMethod(models.Model):
    """What the buyer chooses at checkout: a service level with its carrier, times and price.

    ``operating_days`` holds ISO weekdays (1 = Monday … 7 = Sunday) on which the
    carrier collects and delivers.
    """

    code = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=100)
    service_level = models.CharField(max_length=16, choices=ServiceLevel.choices)
    carrier = models.ForeignKey(
        Carrier, null=True, blank=True, on_delete=models.PROTECT, related_name="methods"
    )
    transit_days_min = models.PositiveSmallIntegerField(default=0)
    transit_days_max = models.PositiveSmallIntegerField(default=0)
    cutoff_time = models.TimeField(
        default=dt.time(14, 0), help_text="Orders placed after this ship the next working day."
    )
    operating_days = models.JSONField(default=list)
    price = models.DecimalField(max_digits=10, decimal_places=2, default=Decimal("0"))
    currency = models.CharField(max_length=3, default="USD")
    is_active = models.BooleanField(default=True)

    history = audit_history(table_name="fulfillment_historicalshippingmethod")

    class Meta:
        db_table = "fulfillment_shippingmethod"
        ordering = ["price", "code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(transit_days_max__gte=models.F("transit_days_min")),
                name="shipping_method_transit_range",
            ),
            models.CheckConstraint(condition=Q(price__gte=0), name="shipping_method_price_nonneg"),
            models.CheckConstraint(
                condition=Q(service_level=ServiceLevel.PICKUP) | Q(carrier__isnull=False),
                name="shipping_method_carrier_unless_pickup",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_pickup(self) -> bool:
        return self.service_level == ServiceLevel.PICKUP
