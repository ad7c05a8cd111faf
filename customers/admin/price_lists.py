"""Contract price lists and their entries."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from simple_history.admin import SimpleHistoryAdmin

from core.admin import OperatorAdminMixin

from ..models import PriceList, PriceListEntry


class PriceListEntryInline(admin.TabularInline):
    model = PriceListEntry
    fields = ("product", "min_quantity", "unit_price")
    raw_id_fields = ("product",)
    extra = 0

    def get_queryset(self, request: HttpRequest) -> QuerySet[PriceListEntry]:
        return super().get_queryset(request).select_related("product")


@admin.register(PriceList)
class PriceListAdmin(OperatorAdminMixin, SimpleHistoryAdmin):
    list_display = ("code", "name", "currency", "is_active")
    list_filter = ("is_active", "currency")
    search_fields = ("code", "name")
    inlines = (PriceListEntryInline,)
