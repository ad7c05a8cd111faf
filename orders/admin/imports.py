"""Order file imports: the template, the dry run of an uploaded file and, on
"Import", the real run of the same file (``orders.imports``). The file waits on the
server in between (``orders.import_staging``); the confirm step posts only a token."""

from __future__ import annotations

import csv
import io

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse

from core.admin import admin_changelist_url
from core.errors import DomainError

from ..forms import OrderImportForm, add_domain_error
from ..import_staging import discard_staged_import, stage_import, staged_import
from ..imports import (
    ADDRESS_COLUMNS,
    ORDER_COLUMNS,
    REQUIRED_COLUMNS,
    ImportReport,
    import_orders,
    read_dataset,
)
from ..models import Order
from .base import PLACE_ON_BEHALF_PERMISSION, OrderPagesMixin, actor_of


def import_template_columns() -> list[str]:
    columns = [*REQUIRED_COLUMNS, "customization"]
    columns += [c for c in ORDER_COLUMNS if c not in columns]
    columns += [c for c in ADDRESS_COLUMNS if c not in columns]
    return columns


IMPORT_TEMPLATE_EXAMPLE = {
    "order_ref": "MKT-1001",
    "customer_email": "buyer@example.com",
    "sku": "MUG-RED",
    "quantity": "2",
    "customization": "",
    "shipping_method": "STANDARD",
    "po_number": "",
    "pickup_location": "",
    "ship_name": "Pat Buyer",
    "ship_line1": "1 Main Street",
    "ship_line2": "",
    "ship_city": "Reno",
    "ship_region": "NV",
    "ship_postal_code": "89502",
    "ship_country": "US",
    "ship_phone": "+17755550100",
}


class ImportPagesMixin(OrderPagesMixin):
    """The order list's import pages."""

    def import_template_view(self, request: HttpRequest) -> HttpResponse:
        self._require(request, PLACE_ON_BEHALF_PERMISSION)
        columns = import_template_columns()
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(columns)
        writer.writerow([IMPORT_TEMPLATE_EXAMPLE.get(c, "") for c in columns])
        response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="order-import-template.csv"'
        return response

    def import_view(self, request: HttpRequest) -> HttpResponse:
        """Upload → dry run report → "Import N orders" → the real report. The file
        stays on the server between the two steps; the confirm posts only a token."""
        self._require(request, PLACE_ON_BEHALF_PERMISSION)
        if request.method == "POST" and "confirm" in request.POST:
            return self._confirm_import(request)
        report: ImportReport | None = None
        token = ""
        if request.method == "POST":
            form = OrderImportForm(request.POST, request.FILES)
            if form.is_valid():
                upload = form.cleaned_data["file"]
                content = upload.read()
                channel = form.cleaned_data["channel"]
                try:
                    dataset = read_dataset(content, upload.name)
                    report = import_orders(
                        dataset, channel=channel, actor=actor_of(request), dry_run=True
                    )
                except DomainError as exc:
                    add_domain_error(form, exc)
                else:
                    if report.valid:
                        token = stage_import(
                            request.session, content=content, filename=upload.name, channel=channel
                        )
                    return self._import_report(
                        request, report, filename=upload.name, channel=channel, token=token
                    )
        else:
            form = OrderImportForm()
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Import orders",
            "form": form,
            "media": self.media + form.media,
            "cancel_url": admin_changelist_url(Order),
            "columns": import_template_columns(),
            "required_columns": REQUIRED_COLUMNS,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/orders/order/import_form.html", context)

    def _confirm_import(self, request: HttpRequest) -> HttpResponse:
        staged = staged_import(request.session, str(request.POST.get("token", "")))
        if staged is None:
            self.message_user(
                request,
                "The uploaded file is no longer available; upload it again.",
                messages.ERROR,
            )
            return HttpResponseRedirect(reverse("admin:orders_order_import"))
        try:
            report = import_orders(
                read_dataset(staged.content, staged.filename),
                channel=staged.channel,
                actor=actor_of(request),
                dry_run=False,
            )
        except DomainError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return HttpResponseRedirect(reverse("admin:orders_order_import"))
        finally:
            discard_staged_import(request.session)
        self.message_user(
            request,
            f"Imported {report.valid} order(s); {report.skipped} already imported, "
            f"{report.failed} refused.",
            messages.SUCCESS if not report.failed else messages.WARNING,
        )
        return self._import_report(
            request, report, filename=staged.filename, channel=staged.channel
        )

    def _import_report(
        self,
        request: HttpRequest,
        report: ImportReport,
        *,
        filename: str,
        channel: str,
        token: str = "",
    ) -> HttpResponse:
        numbers = [o.order_number for o in report.orders if o.order_number]
        ids = dict(Order.objects.filter(number__in=numbers).values_list("number", "pk"))
        rows = []
        for result in report.orders:
            if result.skipped:
                outcome = "already imported"
            elif result.errors:
                outcome = "refused" if not report.dry_run else "errors"
            else:
                outcome = "imported" if not report.dry_run else "ok"
            order_id = ids.get(result.order_number)
            rows.append(
                {
                    "result": result,
                    "outcome": outcome,
                    "rows": ", ".join(str(n) for n in result.rows),
                    "url": reverse("admin:orders_order_change", args=[order_id])
                    if order_id
                    else "",
                }
            )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": ("Dry run of " if report.dry_run else "Import of ") + filename,
            "report": report,
            "rows": rows,
            "filename": filename,
            "channel": channel,
            "token": token,
            "cancel_url": admin_changelist_url(Order),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/orders/order/import_report.html", context)
