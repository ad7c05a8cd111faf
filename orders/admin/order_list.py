"""The order list: its columns and its one search box (``orders.search``).

An exact order number (with or without its prefix, in any case) opens that order's
page; any other term lists what it finds: e-mail, names, phone in any format, PO,
external reference, SKU, and what the apps above orders register (tracking, RMA and
invoice numbers). The list's queries stay the count and the page, however many
sources match; an exact number costs one lookup more.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import admin
from django.contrib.admin.options import IS_POPUP_VAR
from django.contrib.admin.views.main import SEARCH_VAR
from django.db.models import Exists, OuterRef, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.html import format_html

from core.admin import admin_change_url, short_datetime
from core.money import format_money

from ..models import Order, OrderHold
from ..search import exact_order_number, search_orders

# Set on the request by the list's view: only the list shows the on-hold column, so
# only its queryset pays for the subquery.
_LISTING = "_oms_listing_orders"

if TYPE_CHECKING:
    _ModelAdminBase = admin.ModelAdmin[Order]
else:
    _ModelAdminBase = object


class OrderListMixin(_ModelAdminBase):
    """The changelist of ``OrderAdmin``: columns, on-hold flag, search and its redirect."""

    # Seven columns fit beside the menu and the filters at 1366 px (``static/oms/admin.css``,
    # "Order list"): the company sits under its buyer, the channel is a filter.
    list_display = (
        "number",
        "customer_name",
        "status",
        "fulfillment",
        "on_hold",
        "total",
        "created",
    )
    list_select_related = ("customer", "company")
    search_fields = ("number",)  # shows the box; ``get_search_results`` does the search
    search_help_text = (
        "Order number, e-mail, customer or company name, phone (any format), PO, SKU, "
        "tracking, external reference, RMA or invoice number. An exact order number "
        "opens the order."
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Order]:
        queryset = super().get_queryset(request)
        if getattr(request, _LISTING, False):
            open_hold = OrderHold.objects.filter(order=OuterRef("pk"), released_at__isnull=True)
            queryset = queryset.annotate(has_open_hold=Exists(open_hold))
        return queryset

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Order], search_term: str
    ) -> tuple[QuerySet[Order], bool]:
        return search_orders(queryset, search_term), False

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        number = exact_order_number(request.GET.get(SEARCH_VAR, ""))
        if number and IS_POPUP_VAR not in request.GET:
            found = self.get_queryset(request).filter(number=number).only("pk").first()
            if found is not None:
                return redirect(admin_change_url(found))
        setattr(request, _LISTING, True)
        return super().changelist_view(request, extra_context)

    @admin.display(description="Customer")
    def customer_name(self, obj: Order) -> str:
        name = obj.customer.full_name or obj.customer.email
        if obj.company is None:
            return name
        company = obj.company.name
        return format_html(
            '{}<span class="oms-list-sub" title="{}">{}</span>', name, company, company
        )

    @admin.display(description="Fulfillment")
    def fulfillment(self, obj: Order) -> str:
        return obj.get_fulfillment_status_display()

    @admin.display(description="On hold", empty_value="")
    def on_hold(self, obj: Order) -> str:
        # A mark on the held orders only: a column of "no" icons hides the few that are.
        if getattr(obj, "has_open_hold", False):
            return format_html('<span class="oms-list-hold">{}</span>', "On hold")
        return ""

    @admin.display(description="Total", ordering="grand_total")
    def total(self, obj: Order) -> str:
        return format_money(obj.grand_total, obj.currency)

    @admin.display(description="Created", ordering="id")
    def created(self, obj: Order) -> str:
        return short_datetime(obj.created_at)
