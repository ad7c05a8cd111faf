"""Exports run in the background (``analytics.exports``): who asked, for what, how far
it got, and the file it made, served only to the user who asked."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class ExportStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


def export_file_path(job: ExportJob, filename: str) -> str:
    return f"exports/{job.requested_by_id}/{job.pk or 'new'}-{filename}"


class ExportJob(models.Model):
    """One large export: the changelist it came from (its model and query string) is
    read again by the worker, as the user who asked, so it holds the same rows."""

    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    app_label = models.CharField(max_length=100)
    model_name = models.CharField(max_length=100)
    title = models.CharField(max_length=200)
    file_format = models.CharField(max_length=8)
    query_string = models.TextField(blank=True)
    status = models.CharField(
        max_length=16, choices=ExportStatus.choices, default=ExportStatus.QUEUED
    )
    rows_total = models.PositiveIntegerField(default=0)
    rows_done = models.PositiveIntegerField(default=0)
    file = models.FileField(upload_to=export_file_path, blank=True)
    error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["requested_by", "-created_at"])]
        permissions = [
            ("export_data", "Can export lists and reports"),
            ("view_reports", "Can view the reports pages"),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.get_status_display()})"

    @property
    def percent(self) -> int:
        if self.status == ExportStatus.DONE:
            return 100
        return int(self.rows_done * 100 / self.rows_total) if self.rows_total else 0


class DailyOrderSummary(models.Model):
    """The orders placed on one day (in the site's time zone), in one channel and currency,
    added up for the dashboard and the sales reports (``analytics.summary``).

    ``location`` empty: every order of the day. ``location`` set: the orders of the day
    with a fulfillment order at that location (an order split between two locations
    counts at both, as the location filter reads it). Rebuilt whole for a day by
    ``analytics.summary.refresh_days``; a day is read from here only once
    ``DailySummaryDay`` marks it refreshed."""

    day = models.DateField()
    channel = models.CharField(max_length=16)
    currency = models.CharField(max_length=3)
    location = models.ForeignKey(
        "inventory.Location", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    orders = models.PositiveIntegerField(default=0)
    cancelled = models.PositiveIntegerField(default=0)
    # Grand totals of the orders not cancelled.
    revenue = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    # Lines of the settled orders (completed, or cancelled after shipping part), and those
    # of them shipped complete: the fill rate.
    settled_lines = models.PositiveIntegerField(default=0)
    complete_lines = models.PositiveIntegerField(default=0)
    # Units shipped and returned on every line of the day's orders: the return rate.
    shipped_units = models.PositiveIntegerField(default=0)
    returned_units = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "channel", "currency", "location"],
                condition=models.Q(location__isnull=False),
                name="daily_summary_unique_at_location",
            ),
            models.UniqueConstraint(
                fields=["day", "channel", "currency"],
                condition=models.Q(location__isnull=True),
                name="daily_summary_unique_everywhere",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.channel} {self.currency}"


class DailySummaryDay(models.Model):
    """A day whose ``DailyOrderSummary`` rows are complete: when they were computed (the
    start of that refresh) and in which time zone its days were cut."""

    day = models.DateField(primary_key=True)
    time_zone = models.CharField(max_length=64)
    refreshed_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["refreshed_at"], name="summary_day_refreshed")]

    def __str__(self) -> str:
        return f"{self.day} ({self.time_zone})"
