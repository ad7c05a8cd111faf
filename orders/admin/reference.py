"""The order timeline's own list, reference data (tax rates) and API bookkeeping
(idempotency keys): read-only or plain admin pages."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest

from core.admin import (
    AppendOnlyAdminMixin,
    OperatorAdminMixin,
    OrderNumberSearchMixin,
    short_datetime,
)

from ..models import IdempotencyKey, Order, OrderEvent, TaxRate


@admin.register(OrderEvent)
class OrderEventAdmin(
    OrderNumberSearchMixin, OperatorAdminMixin, AppendOnlyAdminMixin, admin.ModelAdmin
):
    list_display = ("created", "order", "type", "message", "actor")
    list_select_related = ("order",)
    list_filter = ("type", "actor_kind")
    change_select_related = ("order", "actor_user")
    ordering = ("-id",)

    @admin.display(description="When", ordering="id")
    def created(self, obj: OrderEvent) -> str:
        return short_datetime(obj.created_at)

    @admin.display(description="By")
    def actor(self, obj: OrderEvent) -> str:
        return obj.actor_display


# --- reference data and API bookkeeping ------------------------------------------------


@admin.register(TaxRate)
class TaxRateAdmin(OperatorAdminMixin, admin.ModelAdmin):
    """Destination tax rates. Orders keep the rate they were placed with, so a change
    here applies to new orders only."""

    list_display = ("country", "region", "rate", "taxes_shipping")
    search_fields = ("country", "region")
    list_filter = ("taxes_shipping",)


@admin.register(IdempotencyKey)
class IdempotencyKeyAdmin(OperatorAdminMixin, AppendOnlyAdminMixin, admin.ModelAdmin):
    """The stored responses to keyed API writes: read-only, for answering "did my
    retry create a second order?"."""

    list_display = ("key", "scope", "company", "response_status", "order", "created_at")
    list_select_related = ("company", "order")
    list_filter = ("response_status", "created_at")
    search_fields = ("key", "order__number")
    search_help_text = "Exact idempotency key or order number."
    change_select_related = ("company", "order")
    ordering = ("-id",)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[IdempotencyKey], search_term: str
    ) -> tuple[QuerySet[IdempotencyKey], bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        orders = Order.objects.filter(number=term.upper()).values("pk")
        return queryset.filter(Q(key=term) | Q(order__in=orders)), False
