"""The journal export page of the invoice list (Billing > Invoices > Journal export):
finance picks a date range and a format and downloads ``billing.journal``'s file, as
``manage.py export_journal`` writes it."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, path
from django.utils import timezone

from core.admin import render_form_page

from ..journal import CONTENT_TYPES, journal_file, journal_filename

if TYPE_CHECKING:
    _ModelAdminBase = admin.ModelAdmin[Any]
else:
    _ModelAdminBase = object

JOURNAL_URL_NAME = "billing_invoice_journal"


def _last_month() -> tuple[dt.date, dt.date]:
    first_of_this_month = timezone.localdate().replace(day=1)
    last = first_of_this_month - dt.timedelta(days=1)
    return last.replace(day=1), last


class JournalExportForm(forms.Form):
    date_from = forms.DateField(
        label="From", widget=forms.DateInput(attrs={"type": "date"}), help_text="Inclusive."
    )
    date_to = forms.DateField(
        label="To", widget=forms.DateInput(attrs={"type": "date"}), help_text="Inclusive."
    )
    file_format = forms.ChoiceField(
        label="Format", choices=(("csv", "CSV"), ("xlsx", "Excel (XLSX)")), initial="csv"
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", "The range ends before it starts: pick a later date.")
        return cleaned


class JournalPageMixin(_ModelAdminBase):
    """``journal/`` under the invoice list, for whoever may view invoices."""

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view(self.journal_view)
        return [path("journal/", view, name=JOURNAL_URL_NAME), *super().get_urls()]

    def journal_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        if request.method == "POST":
            form = JournalExportForm(request.POST)
            if form.is_valid():
                start, end = form.cleaned_data["date_from"], form.cleaned_data["date_to"]
                file_format = form.cleaned_data["file_format"]
                response = HttpResponse(
                    journal_file(start, end, file_format), content_type=CONTENT_TYPES[file_format]
                )
                filename = journal_filename(start, end, file_format)
                response["Content-Disposition"] = f'attachment; filename="{filename}"'
                return response
        else:
            start, end = _last_month()
            form = JournalExportForm(initial={"date_from": start, "date_to": end})
        return render_form_page(
            self,
            request,
            form=form,
            title="Journal export",
            submit_label="Download",
            summary=(
                "Every invoice and credit note issued in the range, as balanced debit and "
                "credit rows on the ledger accounts: date, account, debit, credit, document, "
                "order, company and currency."
            ),
        )
