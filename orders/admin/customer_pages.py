"""The order sections of the company and customer pages.

Customers sit below orders and may not import them, so their admin shows no orders;
here orders subclasses those admins, adds the sections that read orders (the company's
orders link, the customer's latest orders) and registers the subclasses in their place.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.http import urlencode

from core.admin import (
    admin_change_url,
    admin_changelist_url,
    render_table,
    replace_admin,
    short_datetime,
)
from core.money import format_money
from customers.admin import CompanyAdmin, CustomerAdmin
from customers.models import Company, Customer

from ..models import Order
from ..selectors import list_recent_orders

# Orders listed on a customer's page; the full list is one click away.
RECENT_ORDERS = 20


class CompanyWithOrdersAdmin(CompanyAdmin):
    """The company page, with a link to the company's orders first in its record."""

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        return [
            (name, {**options, "fields": ("orders_link", *options["fields"])})
            if name == "Record"
            else (name, options)
            for name, options in super().get_fieldsets(request, obj)
        ]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return ("orders_link", *super().get_readonly_fields(request, obj))

    @admin.display(description="Orders")
    def orders_link(self, obj: Company) -> str:
        if obj.pk is None:
            return "-"
        url = admin_changelist_url(Order, urlencode({"company__id__exact": obj.pk}))
        return format_html('<a href="{}">Orders of {}</a>', url, obj.name)


class CustomerWithOrdersAdmin(CustomerAdmin):
    """The customer page, with the customer's latest orders above its record."""

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        fieldsets = list(super().get_fieldsets(request, obj))
        record = next(i for i, (name, _) in enumerate(fieldsets) if name == "Record")
        fieldsets.insert(record, ("Orders", {"fields": ("recent_orders",)}))
        return fieldsets

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return ("recent_orders", *super().get_readonly_fields(request, obj))

    @admin.display(description="Latest orders")
    def recent_orders(self, obj: Customer) -> str:
        if obj.pk is None:
            return "-"
        orders = list_recent_orders(customer=obj, limit=RECENT_ORDERS)
        table = render_table(
            ("Order", "Status", "Fulfillment", "Total", "Created"),
            (
                (
                    format_html('<a href="{}">{}</a>', admin_change_url(order), order.number),
                    order.get_status_display(),
                    order.get_fulfillment_status_display(),
                    format_money(order.grand_total, order.currency),
                    short_datetime(order.created_at),
                )
                for order in orders
            ),
        )
        url = admin_changelist_url(Order, urlencode({"customer__id__exact": obj.pk}))
        return format_html('{}<p><a href="{}">All orders of this customer</a></p>', table, url)


replace_admin(Company, CompanyWithOrdersAdmin)
replace_admin(Customer, CustomerWithOrdersAdmin)
