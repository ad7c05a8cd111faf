"""The customer 360's returns: returns subclasses the customer page of billing (itself
on top of orders', ``orders.admin.customer_pages``) and adds the customer's latest
return requests."""

from __future__ import annotations

from django.contrib import admin
from django.utils.html import format_html
from django.utils.http import urlencode

from billing.admin.customer_pages import CustomerWithBillingAdmin
from core.admin import (
    admin_change_url,
    admin_changelist_url,
    render_table,
    replace_admin,
    short_datetime,
)
from customers.models import Customer
from orders.admin.customer_pages import SECTION_ROWS

from ..models import ReturnRequest


class CustomerWithReturnsAdmin(CustomerWithBillingAdmin):
    """The customer page, with the returns after the invoices and payments."""

    sections_before_record = (
        *CustomerWithBillingAdmin.sections_before_record,
        ("Returns", ("returns",)),
    )

    @admin.display(description="Latest returns")
    def returns(self, obj: Customer) -> str:
        if obj.pk is None:
            return "-"
        rows = (
            ReturnRequest.objects.filter(customer=obj)
            .select_related("order")
            .order_by("-id")[:SECTION_ROWS]
        )
        table = render_table(
            ("RMA", "Order", "Status", "Resolution", "Requested"),
            (
                (
                    format_html('<a href="{}">{}</a>', admin_change_url(rma), rma.number),
                    format_html(
                        '<a href="{}">{}</a>', admin_change_url(rma.order), rma.order.number
                    ),
                    rma.get_status_display(),
                    rma.get_resolution_display(),
                    short_datetime(rma.created_at),
                )
                for rma in rows
            ),
        )
        url = admin_changelist_url(ReturnRequest, urlencode({"customer__id__exact": obj.pk}))
        return format_html('{}<p><a href="{}">All returns of this customer</a></p>', table, url)


replace_admin(Customer, CustomerWithReturnsAdmin)
