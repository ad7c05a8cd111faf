"""The aging report page (Billing > Aging report), for finance and managers: what
invoices on terms still owe on an as-of date (today by default), by company and by days
past due (``billing.aging``), with a link to each company's open invoices and the same
table as CSV or XLSX.

The page is the changelist of ``AgingReport``, a proxy of ``Invoice`` that exists to be
listed in the billing section of the admin index; it shows no rows of its own. Viewing
it takes ``billing.view_invoice``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Model
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.http import urlencode

from core.admin import admin_changelist_url
from core.money import format_money

from ..aging import (
    BUCKETS,
    CONTENT_TYPES,
    FORMATS,
    AgingRow,
    AgingTable,
    aging_file,
    aging_filename,
    aging_report,
)
from ..dunning_models import AgingReport
from ..models import Invoice, InvoiceStatus

VIEW_PERMISSION = "billing.view_invoice"
OPEN_STATUSES = f"{InvoiceStatus.ISSUED},{InvoiceStatus.PARTIALLY_PAID}"


class AgingDateForm(forms.Form):
    as_of = forms.DateField(
        label="As of",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Days past due are counted on this date; today when empty.",
    )


def open_invoices_url(row: AgingRow) -> str:
    """The invoice list filtered to the row's company's (or the customers') open ones."""
    where: dict[str, str] = (
        {"company__id__exact": str(row.company_id)}
        if row.company_id is not None
        else {"company__isnull": "True"}
    )
    return admin_changelist_url(
        Invoice, urlencode({**where, "currency": row.currency, "status__in": OPEN_STATUSES})
    )


def _cells(row: AgingRow) -> list[str]:
    return [format_money(amount, row.currency) for amount in (*row.buckets, row.total)]


@admin.register(AgingReport)
class AgingReportAdmin(admin.ModelAdmin):
    """Billing > Aging report: one page, no rows to open, add or change."""

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return request.user.has_perm(VIEW_PERMISSION)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = AgingDateForm(request.GET or None)
        as_of: dt.date = timezone.localdate()
        if form.is_bound:
            if form.is_valid():
                as_of = form.cleaned_data["as_of"] or as_of
            else:
                self.message_user(
                    request,
                    "That is not a date: the report below is on today's date. "
                    "Pick a date with the calendar, or type it as YYYY-MM-DD.",
                    messages.ERROR,
                )
                form = AgingDateForm(initial={"as_of": as_of})
        file_format = request.GET.get("format", "")
        report = aging_report(as_of)
        if file_format in FORMATS:
            response = HttpResponse(
                aging_file(report, file_format), content_type=CONTENT_TYPES[file_format]
            )
            filename = aging_filename(as_of, file_format)
            response["Content-Disposition"] = f'attachment; filename="{filename}"'
            return response
        return self._render(request, form, report)

    def _render(self, request: HttpRequest, form: AgingDateForm, report: AgingTable) -> Any:
        opts = self.model._meta
        context = {
            **self.admin_site.each_context(request),
            "opts": opts,
            "app_label": opts.app_label,
            "title": f"Aging report on {report.as_of:%Y-%m-%d}",
            "form": form,
            "headings": [heading for _, heading, *_ in BUCKETS],
            "rows": [
                {"row": row, "url": open_invoices_url(row), "cells": _cells(row)}
                for row in report.rows
            ],
            "totals": [{"row": row, "cells": _cells(row)} for row in report.totals],
            "exports": [
                (label, "?" + urlencode({"as_of": report.as_of.isoformat(), "format": fmt}))
                for fmt, label in (("csv", "CSV"), ("xlsx", "Excel (XLSX)"))
            ],
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/billing/aging_report.html", context)
