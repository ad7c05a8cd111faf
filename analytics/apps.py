from typing import Any

from django.apps import AppConfig
from django.http import HttpRequest
from django.template.response import TemplateResponse


class AnalyticsConfig(AppConfig):
    name = "analytics"
    verbose_name = "Analytics"

    def ready(self) -> None:
        # The admin and the dashboard read models: imported once the registry is ready.
        from django.contrib import admin  # noqa: PLC0415 - app registry

        from .dashboard import dashboard_context  # noqa: PLC0415 - app registry
        from .routers import reading_reports, reports_database  # noqa: PLC0415
        from .sql import report_session  # noqa: PLC0415

        # The admin index becomes the dashboard: the same page (its app list stays, below
        # the panels), with the role's figures in its context. Wrapped on the instance
        # before the URLs are built (``oms.urls`` reads ``admin.site.urls`` after ready).
        site = admin.site
        original = site.index

        def index(
            request: HttpRequest, extra_context: dict[str, Any] | None = None
        ) -> TemplateResponse:
            # The read replica, when there is one, in a session sized for reports.
            with reading_reports(), report_session(reports_database()):
                context = {**dashboard_context(request), **(extra_context or {})}
            return original(request, extra_context=context)

        site.index = index  # type: ignore[method-assign]

        # The reports pages, the export jobs page, and the export actions on the lists.
        from .admin_reports import ExportJobAdmin, report_urls, with_reports  # noqa: PLC0415
        from .exports import add_export_actions  # noqa: PLC0415
        from .models import ExportJob  # noqa: PLC0415

        site.register(ExportJob, ExportJobAdmin)
        add_export_actions(site)
        site_urls = site.get_urls

        def get_urls() -> list[Any]:
            return [*report_urls(site), *site_urls()]

        site.get_urls = get_urls  # type: ignore[method-assign]
        site_app_list = site.get_app_list

        def get_app_list(request: HttpRequest, app_label: str | None = None) -> list[Any]:
            return with_reports(request, site_app_list(request, app_label))

        site.get_app_list = get_app_list  # type: ignore[method-assign]
