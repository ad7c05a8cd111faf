"""The order sections of the company and customer pages.

Customers sit below orders and may not import them, so their admin shows no orders;
here orders subclasses those admins, adds the sections that read orders (the company's
orders link; the customer 360: lifetime value and average order value, the company's
credit and open quotes, the latest orders and the messages sent) and registers the
subclasses in their place. Billing (invoices and payments) and returns add theirs the
same way, on top of these.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib import admin
from django.db.models import Count, Max, Min, Q, Sum
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.safestring import SafeString

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

from ..holds import company_credit_standing
from ..models import Notification, Order, OrderStatus, Quote, QuoteStatus
from ..selectors import list_recent_orders

# Orders listed on a customer's page; the full list is one click away.
RECENT_ORDERS = 20
# Rows of each other section of the customer 360 (messages, quotes; invoices, payments
# and returns from the apps above).
SECTION_ROWS = 20
# Orders that count in the lifetime value: placed ones, cancellations left out.
VALUE_STATUSES = (OrderStatus.PLACED, OrderStatus.PROCESSING, OrderStatus.COMPLETED)
OPEN_STATUSES = (OrderStatus.PLACED, OrderStatus.PROCESSING)


def customer_value(customer: Customer) -> SafeString:
    """Lifetime value and average order value, per currency, in one query."""
    rows = list(
        Order.objects.filter(customer=customer, status__in=VALUE_STATUSES)
        .order_by()
        .values("currency")
        .annotate(
            count=Count("id"),
            open=Count("id", filter=Q(status__in=OPEN_STATUSES)),
            total=Sum("grand_total"),
            first=Min("placed_at"),
            last=Max("placed_at"),
        )
        .order_by("-total")
    )
    if not rows:
        return format_html("<p>{}</p>", "No order placed yet.")
    return render_table(
        (
            "Currency",
            "Orders",
            "Open",
            "Lifetime value",
            "Average order value",
            "First order",
            "Latest order",
        ),
        (
            (
                row["currency"],
                f"{row['count']:,}",
                f"{row['open']:,}",
                format_money(row["total"], row["currency"]),
                format_money(row["total"] / row["count"], row["currency"]),
                short_datetime(row["first"]),
                short_datetime(row["last"]),
            )
            for row in rows
        ),
    )


def open_quotes_table(*, customer: Customer, company: Company | None) -> SafeString:
    """Quotes sent and not yet accepted, expired or withdrawn: the company's when the
    customer buys for one, else the customer's own."""
    quotes = Quote.objects.filter(status=QuoteStatus.SENT, expires_at__gt=timezone.now())
    quotes = quotes.filter(company=company) if company else quotes.filter(customer=customer)
    rows = quotes.select_related("order").order_by("expires_at", "id")[:SECTION_ROWS]
    # Every quote of theirs (accepted, expired, withdrawn too): the quotes list filtered.
    mine = {"company__id__exact": company.pk} if company else {"customer__id__exact": customer.pk}
    table = render_table(
        ("Quote", "Draft", "Total", "Sent to", "Expires"),
        (
            (
                format_html('<a href="{}">{}</a>', admin_change_url(quote), quote.number),
                format_html(
                    '<a href="{}">{}</a>', admin_change_url(quote.order), quote.order.number
                ),
                format_money(quote.grand_total, quote.currency),
                quote.sent_to,
                short_datetime(quote.expires_at),
            )
            for quote in rows
        ),
    )
    url = admin_changelist_url(Quote, urlencode(mine))
    return format_html('{}<p><a href="{}">All quotes</a></p>', table, url)


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
    """The customer page as a customer 360: what the customer is worth, the company's
    credit and open quotes, the latest orders and the messages sent, above its record."""

    # The sections this app adds, in the order they show, and where: the value right
    # under who the customer is, the company's context with the company, the rest before
    # the record. Apps above add theirs to ``sections_before_record``.
    sections_before_record: tuple[tuple[str, tuple[str, ...]], ...] = (
        ("Orders", ("recent_orders",)),
        ("Messages sent", ("messages_sent",)),
    )

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        fieldsets = [
            (name, {**options, "fields": (*options["fields"], "company_context")})
            if name == "Company" and obj is not None
            else (name, options)
            for name, options in super().get_fieldsets(request, obj)
        ]
        if obj is None:
            return fieldsets
        fieldsets.insert(1, ("Customer 360", {"fields": ("value",)}))
        record = next(i for i, (name, _) in enumerate(fieldsets) if name == "Record")
        for offset, (name, fields) in enumerate(self.sections_before_record):
            fieldsets.insert(record + offset, (name, {"fields": fields}))
        return fieldsets

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        own = (
            "value",
            "company_context",
            *(field for _, fields in self.sections_before_record for field in fields),
        )
        return (*own, *super().get_readonly_fields(request, obj))

    @admin.display(description="Lifetime value")
    def value(self, obj: Customer) -> str:
        if obj.pk is None:
            return "-"
        return customer_value(obj)

    @admin.display(description="Company context")
    def company_context(self, obj: Customer) -> str:
        if obj.pk is None:
            return "-"
        company = obj.company
        quotes = open_quotes_table(customer=obj, company=company)
        if company is None:
            return format_html("<p>A consumer (B2C). Open quotes:</p>{}", quotes)
        standing = company_credit_standing(company.pk)
        limit = company.credit_limit
        available = (
            format_money(max(limit - standing.exposure, Decimal("0")), company.currency)
            if limit
            else "-"
        )
        terms = render_table(
            (
                "Company",
                "Terms",
                "Credit limit",
                "Credit used",
                "Available",
                "Overdue invoices",
                "Approval above",
                "PO required",
            ),
            [
                (
                    format_html(
                        '<a href="{}">{}</a> ({})',
                        admin_change_url(company),
                        company.name,
                        company.account_number,
                    ),
                    company.get_payment_terms_display(),
                    format_money(limit, company.currency) if limit else "No limit",
                    format_money(standing.exposure, company.currency),
                    available,
                    standing.overdue_count,
                    format_money(company.approval_threshold, company.currency)
                    if company.approval_threshold is not None
                    else "-",
                    "Yes" if company.po_required else "No",
                )
            ],
        )
        return format_html("{}<p>Open quotes:</p>{}", terms, quotes)

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

    @admin.display(description="Latest messages")
    def messages_sent(self, obj: Customer) -> str:
        if obj.pk is None:
            return "-"
        messages = (
            Notification.objects.filter(order__customer=obj)
            .select_related("order")
            .order_by("-id")[:SECTION_ROWS]
        )
        table = render_table(
            ("When", "Channel", "About", "Subject", "To", "Status", "Order"),
            (
                (
                    short_datetime(message.sent_at or message.created_at),
                    message.get_channel_display(),
                    message.event.replace("_", " "),
                    message.subject or "-",
                    message.recipient,
                    message.get_status_display(),
                    format_html(
                        '<a href="{}">{}</a>', admin_change_url(message.order), message.order.number
                    )
                    if message.order
                    else "-",
                )
                for message in messages
            ),
        )
        # The message log searches by recipient: the customer's own address.
        url = admin_changelist_url(Notification, urlencode({"q": obj.email}))
        return format_html('{}<p><a href="{}">Every message to this customer</a></p>', table, url)


replace_admin(Company, CompanyWithOrdersAdmin)
replace_admin(Customer, CustomerWithOrdersAdmin)
