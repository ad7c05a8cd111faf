"""The reports pages (``/admin/reports/``), their CSV and Excel downloads, and the export
jobs page with the download of a finished large export.

Reports need ``analytics.view_reports``; downloading one also ``analytics.export_data``
(managers and finance, ``oms.roles``). A finished export file is served only to the user
who asked for it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html

from inventory.models import Location, StaffLocation

from . import exports
from .dashboard import DashboardFilterForm, default_filters
from .models import ExportJob, ExportStatus
from .reports import REPORTS, REPORTS_BY_SLUG, Report, ReportKind
from .routers import reports_database
from .selectors import Filters
from .sql import report_session

VIEW_PERMISSION = "analytics.view_reports"


def _cell(value: Any, heading: str) -> str:
    """A cell as the page shows it (the downloads keep the plain values)."""
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value * 100:.1f}%" if "rate" in heading.lower() else f"{value:,.1f}"
    if isinstance(value, Decimal):
        return f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


# The rows a report's page shows: its first ones, in the report's order (the largest
# first). The downloads carry every row; a page of seventeen thousand companies is neither
# read nor quick to send.
PAGE_ROWS = 500


def _rows(report: Report) -> list[list[str]]:
    return [
        [_cell(value, heading) for value, heading in zip(row, report.columns, strict=True)]
        for row in report.rows[:PAGE_ROWS]
    ]


def _check(request: HttpRequest, permission: str) -> None:
    if not request.user.has_perm(permission):
        raise PermissionDenied


def report_filters(request: HttpRequest) -> tuple[Filters, DashboardFilterForm]:
    """The period, channel and location asked for (the dashboard's form and defaults: the
    last 30 days). A user assigned to locations reports on theirs only. Wrong dates show
    the form's message, and the default period."""
    locations = list(Location.objects.order_by("code"))
    user = request.user
    home = None
    if user.is_authenticated and not user.is_superuser:
        mine = set(StaffLocation.objects.filter(user=user).values_list("location_id", flat=True))
        if mine:
            locations = [loc for loc in locations if loc.pk in mine]
            home = locations[0]
    defaults = default_filters()
    home_id = home.pk if home else None
    data = request.GET.copy()
    data.pop("format", None)
    if not data:
        initial = {
            "start_date": defaults.start_date,
            "end_date": defaults.end_date,
            "location": home_id,
        }
        form = DashboardFilterForm(initial=initial, locations=locations, required_location=home)
        return Filters(defaults.start_date, defaults.end_date, location_id=home_id), form
    form = DashboardFilterForm(data, locations=locations, required_location=home)
    if not form.is_valid():
        return Filters(defaults.start_date, defaults.end_date, location_id=home_id), form
    cleaned = form.cleaned_data
    location = cleaned.get("location")
    return (
        Filters(
            start_date=cleaned["start_date"],
            end_date=cleaned["end_date"],
            channel=cleaned.get("channel") or "",
            location_id=location.pk if location else home_id,
        ),
        form,
    )


def reports_index(request: HttpRequest) -> TemplateResponse:
    _check(request, VIEW_PERMISSION)
    groups: dict[str, list[ReportKind]] = {}
    for kind in REPORTS:
        groups.setdefault(kind.group, []).append(kind)
    context = {
        **admin.site.each_context(request),
        "title": "Reports",
        "groups": groups,
    }
    return TemplateResponse(request, "admin/analytics/reports_index.html", context)


def report_view(request: HttpRequest, slug: str) -> HttpResponse:
    _check(request, VIEW_PERMISSION)
    kind = REPORTS_BY_SLUG.get(slug)
    if kind is None:
        raise Http404("No such report.")
    file_format = request.GET.get("format", "")
    filters, form = report_filters(request)
    if not kind.uses_channel:
        form.fields.pop("channel", None)
    if not kind.uses_period:
        form.fields.pop("start_date", None)
        form.fields.pop("end_date", None)
    with report_session(reports_database()):
        report = kind.selector(filters)
    if file_format:
        _check(request, exports.EXPORT_PERMISSION)
        if file_format not in exports.CONTENT_TYPES:
            raise Http404("Reports download as csv or xlsx.")
        period = "" if not kind.uses_period else f"-{filters.start_date}-{filters.end_date}"
        return exports.file_response(
            exports.table_dataset(report.columns, report.rows), file_format, f"{slug}{period}"
        )
    request_filters = request.GET.copy()
    request_filters.pop("format", None)
    filters_query = request_filters.urlencode()
    context = {
        **admin.site.each_context(request),
        "title": kind.title,
        "kind": kind,
        "form": form,
        "filters": filters,
        "columns": report.columns,
        "rows": _rows(report),
        "row_count": len(report.rows),
        "rows_cut": len(report.rows) > PAGE_ROWS,
        "description": (kind.selector.__doc__ or "").strip(),
        "can_export": request.user.has_perm(exports.EXPORT_PERMISSION),
        "csv_query": f"{filters_query}&format=csv" if filters_query else "format=csv",
        "xlsx_query": f"{filters_query}&format=xlsx" if filters_query else "format=xlsx",
        "reports": REPORTS,
    }
    return TemplateResponse(request, "admin/analytics/reports_report.html", context)


def report_urls(site: admin.AdminSite) -> list[URLPattern]:
    return [
        path("reports/", site.admin_view(reports_index), name="reports"),
        path("reports/<slug:slug>/", site.admin_view(report_view), name="report"),
    ]


class ExportJobAdmin(admin.ModelAdmin):
    """The export jobs page: each user sees their own exports, how far a running one has
    got, and downloads a finished one."""

    list_display = ("title", "file_format", "status", "progress", "created_at", "download")
    list_filter = ("status",)
    ordering = ("-created_at", "-id")
    actions = None

    def get_queryset(self, request: HttpRequest) -> Any:
        return super().get_queryset(request).filter(requested_by_id=request.user.pk)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: ExportJob | None = None) -> bool:
        return False

    def has_view_permission(self, request: HttpRequest, obj: ExportJob | None = None) -> bool:
        return request.user.has_perm(exports.EXPORT_PERMISSION)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(exports.EXPORT_PERMISSION)

    @admin.display(description="Progress")
    def progress(self, job: ExportJob) -> str:
        if job.status == ExportStatus.FAILED:
            return job.error or "Failed"
        return format_html(
            '<progress max="100" value="{}">{}%</progress> {} of {} rows',
            job.percent,
            job.percent,
            f"{job.rows_done:,}",
            f"{job.rows_total:,}",
        )

    @admin.display(description="File")
    def download(self, job: ExportJob) -> str:
        if job.status != ExportStatus.DONE or not job.file:
            return "–"
        url = reverse("admin:analytics_export_download", args=[job.pk])
        return format_html('<a href="{}">Download</a>', url)

    def get_urls(self) -> list[URLPattern]:
        return [
            path(
                "<int:job_id>/download/",
                self.admin_site.admin_view(download_export),
                name="analytics_export_download",
            ),
            *super().get_urls(),
        ]


def download_export(request: HttpRequest, job_id: int) -> FileResponse:
    """A finished export's file, for the user who asked for it only."""
    job = ExportJob.objects.filter(pk=job_id, requested_by_id=request.user.pk).first()
    if job is None or job.status != ExportStatus.DONE or not job.file:
        raise Http404("No finished export of yours has this number.")
    if not request.user.has_perm(exports.EXPORT_PERMISSION):
        raise PermissionDenied
    return FileResponse(
        job.file.open("rb"),
        as_attachment=True,
        filename=job.file.name.rsplit("/", 1)[-1],
        content_type=exports.CONTENT_TYPES.get(job.file_format),
    )


def with_reports(request: HttpRequest, app_list: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The admin's app list (the index and the sidebar) with Reports under Analytics, for
    the staff who may read them."""
    if not request.user.has_perm(VIEW_PERMISSION):
        return app_list
    entry = {
        "model": None,
        "name": "Reports",
        "object_name": "Reports",
        "perms": {"add": False, "change": False, "delete": False, "view": True},
        "admin_url": reverse("admin:reports"),
        "add_url": None,
        "view_only": True,
    }
    for app in app_list:
        if app["app_label"] == "analytics":
            app["models"] = [entry, *app["models"]]
            return app_list
    analytics = {
        "name": "Analytics",
        "app_label": "analytics",
        "app_url": reverse("admin:reports"),
        "has_module_perms": True,
        "models": [entry],
    }
    return sorted([*app_list, analytics], key=lambda app: str(app["name"]).lower())
