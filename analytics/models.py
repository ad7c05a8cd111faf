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
