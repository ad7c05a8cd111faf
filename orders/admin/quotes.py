"""The quotes sent to buyers (``orders.quotes``), read-only: which are open, which the
buyer accepted, which expired or were withdrawn, with their draft (or, once accepted,
the order it became), company, buyer, total and dates.

Quotes are written only by ``orders.quotes`` (sent from a draft's page, accepted through
the API, expired by the reservation job, withdrawn by an edit of the draft), so nothing
here adds, changes or deletes one. A quote past its expiry that the job has not closed
yet is shown and filtered as expired: the buyer can no longer accept it.

Linked from a draft's page (the quotes of that draft) and from the customer 360's open
quotes (the company's quotes, or a consumer's own).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html

from core.admin import (
    AppendOnlyAdminMixin,
    OperatorAdminMixin,
    admin_change_url,
    short_datetime,
)
from core.money import format_money
from core.preferences import format_date
from customers.models import Company

from ..models import Quote, QuoteStatus

# ``Q-2026-000017``; the digits alone (``17``) find that number of any year.
QUOTE_NUMBER = re.compile(r"^Q-\d{4}-\d+$")
OPEN = "open"
EXPIRED = QuoteStatus.EXPIRED.value


def day_with_time(value: dt.datetime | None) -> str:
    """The day in a list's cell, the time on hover."""
    return format_html('<span title="{}">{}</span>', short_datetime(value), format_date(value))


def is_past_expiry(quote: Quote) -> bool:
    return quote.status == QuoteStatus.SENT and quote.expires_at <= timezone.now()


def status_label(quote: Quote) -> str:
    """What the buyer can still do with it: "Open" until it expires, then "Expired"
    (whether or not the job has closed it yet), else how it ended."""
    if quote.status == QuoteStatus.SENT:
        return "Expired" if is_past_expiry(quote) else "Open"
    return quote.get_status_display()


class QuoteStatusFilter(admin.SimpleListFilter):
    """Open and expired as the buyer sees them: by the expiry, not only the stored
    status, which the reservation job moves to "expired" a little later."""

    title = "status"
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [
            (OPEN, "Open"),
            (QuoteStatus.ACCEPTED.value, "Accepted"),
            (EXPIRED, "Expired"),
            (QuoteStatus.WITHDRAWN.value, "Withdrawn"),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any] | None:
        now = timezone.now()
        match self.value():
            case "open":
                return queryset.filter(status=QuoteStatus.SENT, expires_at__gt=now)
            case "expired":
                return queryset.filter(
                    Q(status=QuoteStatus.EXPIRED) | Q(status=QuoteStatus.SENT, expires_at__lte=now)
                )
            case "accepted" | "withdrawn" as status:
                return queryset.filter(status=status)
        return queryset


class QuoteCompanyFilter(admin.SimpleListFilter):
    """The companies that have quotes, not every company of the book, in one query; its
    parameter is the one Django's own company filter would take, which the customer
    360 links to."""

    title = "company"
    parameter_name = "company__id__exact"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        with_quotes = Quote.objects.filter(company__isnull=False).values("company_id")
        companies = Company.objects.filter(pk__in=with_quotes).order_by("name", "pk")
        return [(str(pk), name) for pk, name in companies.values_list("pk", "name")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any] | None:
        value = self.value()
        if value and value.isdigit():
            return queryset.filter(company_id=int(value))
        return queryset


@admin.register(Quote)
class QuoteAdmin(OperatorAdminMixin, AppendOnlyAdminMixin, admin.ModelAdmin):
    # Seven columns beside the menu and the filters at 1366 px: the buyer's company is a
    # quieter second line of the buyer, the day it was accepted one of the status.
    list_display = (
        "number",
        "order_link",
        "buyer_and_company",
        "total",
        "status_and_when",
        "sent",
        "expires",
    )
    list_select_related = ("order", "company", "customer")
    list_filter = (QuoteStatusFilter, QuoteCompanyFilter)
    search_fields = ("number",)
    search_help_text = "Quote number (Q-2026-000017, or its digits: 17)."
    # Newest first; sorting walks the unique number, the id or the expiry index.
    ordering = ("-id",)
    sortable_by = ("number", "sent", "expires")
    change_select_related = ("order", "company", "customer", "sent_by")
    fields = (
        ("number", "state"),
        ("order_link", "total"),
        ("company_name", "buyer"),
        ("sent_to", "sent_by"),
        ("sent_at", "expires_at_shown", "closed_at_shown"),
    )
    readonly_fields = (
        "number",
        "state",
        "order_link",
        "total",
        "company_name",
        "buyer",
        "sent_to",
        "sent_by",
        "sent_at",
        "expires_at_shown",
        "closed_at_shown",
    )

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Quote], search_term: str
    ) -> tuple[QuerySet[Quote], bool]:
        term = search_term.strip().upper()
        if not term:
            return queryset, False
        if term.isdigit():
            # The number's digits without its year: any year's quote of that number.
            return queryset.filter(number__endswith=f"-{int(term):06d}"), False
        if QUOTE_NUMBER.match(term):
            prefix, year, digits = term.split("-")
            return queryset.filter(number=f"{prefix}-{year}-{int(digits):06d}"), False
        return queryset.filter(number=term), False

    # --- columns ---

    @admin.display(description="Order / draft")
    def order_link(self, obj: Quote) -> str:
        return format_html('<a href="{}">{}</a>', admin_change_url(obj.order), obj.order.number)

    @admin.display(description="Company")
    def company_name(self, obj: Quote) -> str:
        if obj.company is None:
            return "-"
        return format_html('<a href="{}">{}</a>', admin_change_url(obj.company), obj.company.name)

    @admin.display(description="Buyer")
    def buyer(self, obj: Quote) -> str:
        customer = obj.customer
        return format_html(
            '<a href="{}">{}</a>', admin_change_url(customer), customer.full_name or customer.email
        )

    @admin.display(description="Buyer")
    def buyer_and_company(self, obj: Quote) -> str:
        if obj.company is None:
            return self.buyer(obj)
        return format_html(
            '{}<span class="oms-list-sub" title="{}">{}</span>',
            self.buyer(obj),
            obj.company.name,
            self.company_name(obj),
        )

    @admin.display(description="Status")
    def status_and_when(self, obj: Quote) -> str:
        if obj.status != QuoteStatus.ACCEPTED or obj.closed_at is None:
            return status_label(obj)
        return format_html(
            '{}<span class="oms-list-sub">{}</span>', status_label(obj), self.accepted(obj)
        )

    @admin.display(description="Total")
    def total(self, obj: Quote) -> str:
        return format_money(obj.grand_total, obj.currency)

    @admin.display(description="Status")
    def state(self, obj: Quote) -> str:
        return status_label(obj)

    @admin.display(description="Sent", ordering="id")
    def sent(self, obj: Quote) -> str:
        return day_with_time(obj.created_at)

    @admin.display(description="Expires", ordering="expires_at")
    def expires(self, obj: Quote) -> str:
        return day_with_time(obj.expires_at)

    @admin.display(description="Accepted", empty_value="")
    def accepted(self, obj: Quote) -> str:
        if obj.status != QuoteStatus.ACCEPTED or obj.closed_at is None:
            return ""
        return day_with_time(obj.closed_at)

    # --- the page of one quote ---

    @admin.display(description="Sent")
    def sent_at(self, obj: Quote) -> str:
        return short_datetime(obj.created_at)

    @admin.display(description="Expires")
    def expires_at_shown(self, obj: Quote) -> str:
        return short_datetime(obj.expires_at)

    @admin.display(description="Closed (accepted, expired or withdrawn)")
    def closed_at_shown(self, obj: Quote) -> str:
        return short_datetime(obj.closed_at)
