"""The order page, extended by returns: a section listing the order's returns and the
agent's page to ask for one on the customer's behalf.

Returns sit above billing, which registered its extension of the order admin (itself
extending fulfillment's). Returns subclasses whatever admin is registered for orders
once billing's admin is loaded, and registers the subclass in its place
(``core.admin.replace_admin``).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Prefetch
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

import billing.admin  # noqa: F401 - registers billing's order admin, which this extends
from core.admin import (
    ServiceForm,
    admin_change_url,
    render_table,
    replace_admin,
    short_datetime,
)
from orders.models import FulfillmentStatus, Order, OrderStatus

from ..models import ReturnLine, ReturnRequest
from .forms import ADD_PERMISSION, ORDER_RETURN_PAGES, RequestReturnForm
from .summaries import refund_summary, replacement_summary

RETURN_ROWS = 50
_MAY_ASK = "_returns_viewer_may_ask"

RegisteredOrderAdmin: Any = type(admin.site.get_model_admin(Order))


def returns_table(order: Order) -> SafeString:
    rows = list(
        ReturnRequest.objects.filter(order=order)
        .select_related("order", "destination", "exchange_order")
        # One query each, run only when the order has returns.
        .prefetch_related(
            Prefetch("lines", queryset=ReturnLine.objects.select_related("order_line", "reason")),
            "exchange_lines",
            "refunds__refund__credit_notes",
        )
        .order_by("id")[:RETURN_ROWS]
    )
    return render_table(
        ("Return", "Asked", "Status", "Method", "Goes to", "Lines", "Resolution", "Documents"),
        (
            (
                format_html('<a href="{}">{}</a>', admin_change_url(rma), rma.number),
                short_datetime(rma.created_at),
                rma.get_status_display(),
                rma.get_method_display(),
                rma.destination.code,
                "; ".join(
                    f"{line.order_line.sku} × {line.quantity} ({line.reason.label})"
                    for line in rma.lines.all()
                ),
                rma.get_resolution_display()
                + (" (the customer keeps the items)" if rma.keep_items else ""),
                format_html(
                    "{}<br>{}",
                    replacement_summary(rma) if rma.exchange_order_id else "",
                    refund_summary(rma) if rma.refunds.all() else "",
                ),
            )
            for rma in rows
        ),
    )


class OrderWithReturnsAdmin(RegisteredOrderAdmin):
    """The order page with its returns section and the "ask for a return" page."""

    service_pages = {**RegisteredOrderAdmin.service_pages, **ORDER_RETURN_PAGES}

    def get_object(
        self, request: HttpRequest, object_id: str, from_field: str | None = None
    ) -> Any:
        obj = super().get_object(request, object_id, from_field)
        if obj is not None:
            setattr(obj, _MAY_ASK, request.user.has_perm(ADD_PERMISSION))
        return obj

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return (*super().get_readonly_fields(request, obj), "order_returns")

    def get_service_form_kwargs(
        self, request: HttpRequest, obj: Any, form_class: type[ServiceForm]
    ) -> dict[str, Any]:
        kwargs = super().get_service_form_kwargs(request, obj, form_class)
        if form_class is RequestReturnForm and request.method == "POST":
            return {**kwargs, "files": request.FILES}  # the photos
        return kwargs

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        fieldsets = list(super().get_fieldsets(request, obj))
        if obj is None or obj.status == OrderStatus.DRAFT:
            return fieldsets
        at = next(i for i, (name, _) in enumerate(fieldsets) if name == "Notifications")
        fieldsets[at:at] = [("Returns", {"fields": ("order_returns",)})]
        return fieldsets

    @admin.display(description="Returns")
    def order_returns(self, obj: Order) -> SafeString:
        table = returns_table(obj)
        # Offered once something was delivered; the page says what is still returnable.
        delivered = obj.fulfillment_status in (
            FulfillmentStatus.DELIVERED,
            FulfillmentStatus.PARTIALLY_DELIVERED,
        )
        if not (delivered and getattr(obj, _MAY_ASK, False)):
            return table
        url = reverse(f"admin:{self.page_url_name('request-return')}", args=[obj.pk])
        return format_html('{}<p><a href="{}">Ask for a return</a></p>', table, url)


replace_admin(Order, OrderWithReturnsAdmin)
