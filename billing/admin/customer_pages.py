"""The customer 360's invoices and payments: billing subclasses the customer page of
orders (``orders.admin.customer_pages``) and adds the customer's latest invoices with
what they still owe, and the card payments of the customer's orders."""

from __future__ import annotations

from django.contrib import admin
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
from customers.models import Customer
from orders.admin.customer_pages import SECTION_ROWS, CustomerWithOrdersAdmin

from ..models import Invoice, Payment


class CustomerWithBillingAdmin(CustomerWithOrdersAdmin):
    """The customer page, with invoices and payments after the orders."""

    sections_before_record = (
        *CustomerWithOrdersAdmin.sections_before_record,
        ("Invoices and payments", ("invoices", "payments")),
    )

    @admin.display(description="Latest invoices")
    def invoices(self, obj: Customer) -> str:
        if obj.pk is None:
            return "-"
        rows = (Invoice.objects.filter(customer=obj).select_related("order").order_by("-id"))[
            :SECTION_ROWS
        ]
        table = render_table(
            ("Invoice", "Order", "Issued", "Due", "Status", "Total", "Still owed"),
            (
                (
                    format_html('<a href="{}">{}</a>', admin_change_url(inv), inv.number),
                    format_html(
                        '<a href="{}">{}</a>', admin_change_url(inv.order), inv.order.number
                    ),
                    inv.issue_date,
                    inv.due_date or "-",
                    inv.get_status_display(),
                    format_money(inv.grand_total, inv.currency),
                    format_money(inv.grand_total - inv.amount_paid, inv.currency),
                )
                for inv in rows
            ),
        )
        url = admin_changelist_url(Invoice, urlencode({"customer__id__exact": obj.pk}))
        return format_html('{}<p><a href="{}">All invoices of this customer</a></p>', table, url)

    @admin.display(description="Latest card payments")
    def payments(self, obj: Customer) -> str:
        if obj.pk is None:
            return "-"
        rows = (
            Payment.objects.filter(order__customer=obj)
            .select_related("order")
            .order_by("-id")[:SECTION_ROWS]
        )
        return render_table(
            ("Order", "When", "Status", "Authorised", "Captured", "Refunded"),
            (
                (
                    format_html('<a href="{}">{}</a>', admin_change_url(p.order), p.order.number),
                    short_datetime(p.created_at),
                    p.get_status_display(),
                    format_money(p.amount_authorised, p.currency),
                    format_money(p.amount_captured, p.currency),
                    format_money(p.amount_refunded, p.currency),
                )
                for p in rows
            ),
        )


replace_admin(Customer, CustomerWithBillingAdmin)
