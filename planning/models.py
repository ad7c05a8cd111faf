"""Stock planning: demand forecasts per stock level, the nightly run that makes them,
and low-stock crossings (one alert each).

A forecast hangs off its ``inventory.StockLevel`` (one per SKU and location), so the
reorder queue reads live stock and the forecast in one join. The reorder point is
``lead_time_demand + safety_stock``: the first part is fixed by the nightly run (the
lead time in days times the forecast daily demand, rounded up), the second is read
live from the stock level (see ``planning.replenishment``).
"""

from django.db import models
from django.db.models import Q

from inventory.models import StockLevel


class ForecastMethod(models.TextChoices):
    HOLT_WINTERS = "holt_winters", "Exponential smoothing, weekly seasonality"
    MEAN = "mean", "Daily average"


class PlanningRun(models.Model):
    """One recomputation of every forecast (nightly, or by hand)."""

    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    history_days = models.PositiveIntegerField()
    holdout_days = models.PositiveIntegerField()
    lead_time_days = models.PositiveIntegerField()
    review_days = models.PositiveIntegerField()
    series = models.PositiveIntegerField(default=0)
    wape = models.DecimalField(
        max_digits=8,
        decimal_places=4,
        null=True,
        blank=True,
        help_text="Weighted absolute percentage error of all back-tested series together.",
    )

    class Meta:
        ordering = ["-started_at"]
        get_latest_by = "started_at"

    def __str__(self) -> str:
        return f"Planning run of {self.started_at:%Y-%m-%d %H:%M}"


class DemandForecast(models.Model):
    stock_level = models.OneToOneField(
        StockLevel, on_delete=models.CASCADE, related_name="forecast"
    )
    run = models.ForeignKey(PlanningRun, on_delete=models.PROTECT, related_name="forecasts")
    method = models.CharField(max_length=16, choices=ForecastMethod.choices)
    daily_demand = models.DecimalField(
        max_digits=12, decimal_places=3, help_text="Forecast units per day, on average."
    )
    next_days = models.JSONField(
        default=list, help_text="Forecast units for each of the coming days."
    )
    history_days = models.PositiveIntegerField(help_text="Days of order history it learned from.")
    history_units = models.PositiveIntegerField()
    wape = models.DecimalField(
        "back-test error (WAPE)",
        max_digits=8,
        decimal_places=4,
        null=True,
        blank=True,
        help_text="Forecast against the held-out last weeks: sum of |actual - forecast| "
        "over sum of actual. Empty when the history is too short to hold weeks out.",
    )
    lead_time_demand = models.PositiveIntegerField(
        help_text="Units expected to sell during the lead time (rounded up)."
    )
    review_demand = models.PositiveIntegerField(
        help_text="Units expected to sell during one review period (rounded up)."
    )
    computed_at = models.DateTimeField()

    class Meta:
        ordering = ["stock_level_id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(daily_demand__gte=0), name="forecast_daily_demand_nonneg"
            ),
            models.CheckConstraint(condition=Q(wape__gte=0), name="forecast_wape_nonneg"),
        ]

    def __str__(self) -> str:
        return f"Forecast for {self.stock_level}"


class ReorderSuggestion(DemandForecast):
    """The reorder queue: forecasts whose stock is at or below the reorder point."""

    class Meta:
        proxy = True
        verbose_name = "reorder suggestion"
        permissions = [("draft_purchase_order", "Can draft purchase orders from suggestions")]


class LowStockCrossing(models.Model):
    """A stock level going at or below its reorder point: opened when it crosses, closed
    when stock is back above it. At most one open per stock level (the UNIQUE index),
    so the purchasing contact is alerted once per crossing."""

    stock_level = models.ForeignKey(
        StockLevel, on_delete=models.CASCADE, related_name="low_stock_crossings"
    )
    position = models.IntegerField(help_text="Stock plus incoming when it crossed.")
    reorder_point = models.PositiveIntegerField()
    opened_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    alerted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["stock_level"],
                condition=Q(closed_at__isnull=True),
                name="low_stock_one_open_crossing",
            )
        ]
        indexes = [
            models.Index(
                fields=["opened_at"],
                condition=Q(alerted_at__isnull=True),
                name="low_stock_crossing_unalerted",
            )
        ]

    def __str__(self) -> str:
        return f"Low stock: {self.stock_level}"
