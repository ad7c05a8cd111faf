"""The holds queue of the order console: every hold, open or released, with who placed
and released it. Holds are placed and released through ``fulfillment.holds`` (the
order's fulfillment orders follow them), so the hold pages of an order and the queue's
release action are fulfillment's (``fulfillment.admin.order_holds``)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from core.admin import AppendOnlyAdminMixin, OperatorAdminMixin, OrderNumberSearchMixin

from ..models import OrderHold


class HoldStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("open", "Open"), ("released", "Released")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any] | None:
        if self.value() == "open":
            return queryset.filter(released_at__isnull=True)
        if self.value() == "released":
            return queryset.filter(released_at__isnull=False)
        return queryset


@admin.register(OrderHold)
class OrderHoldAdmin(
    OrderNumberSearchMixin, OperatorAdminMixin, AppendOnlyAdminMixin, admin.ModelAdmin
):
    list_display = (
        "order",
        "kind",
        "state",
        "reason",
        "placed_at",
        "placed_by",
        "released_at",
        "released_by",
    )
    list_select_related = ("order", "released_by")
    list_filter = (HoldStateFilter, "kind")
    date_hierarchy = "placed_at"
    change_select_related = ("order", "released_by")
    # Captions a person reads, not the model's field names ("placed by label").
    fields = (
        "order",
        "kind",
        "state",
        "reason",
        "placed_at",
        "placed_by",
        "released_at",
        "released_by",
        "release_reason",
    )
    readonly_fields = ("state", "placed_by")

    @admin.display(description="State")
    def state(self, obj: OrderHold) -> str:
        return "Open" if obj.is_open else "Released"

    @admin.display(description="Placed by")
    def placed_by(self, obj: OrderHold) -> str:
        return obj.placed_by_label
