"""The order page's history of holds (its lines and timeline are the page's own tables,
``order_summary``)."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from core.admin import ReadOnlyInlineMixin, short_datetime

from ..models import HOLD_RELEASED_BY, OrderHold


class OrderHoldInline(ReadOnlyInlineMixin, admin.TabularInline):
    model = OrderHold
    fields = (
        "kind",
        "state",
        "reason",
        "placed",
        "placed_by",
        "released",
        "releaser",
        "release_reason",
    )
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[OrderHold]:
        return super().get_queryset(request).select_related("order", "released_by")

    @admin.display(description="State")
    def state(self, obj: OrderHold) -> str:
        if obj.is_open:
            return f"Open: released by {HOLD_RELEASED_BY[obj.kind]}"
        return "Released"

    @admin.display(description="Released by")
    def releaser(self, obj: OrderHold) -> str:
        if obj.is_open:
            return ""
        return obj.released_by_label or (obj.released_by.get_username() if obj.released_by else "")

    @admin.display(description="Placed by")
    def placed_by(self, obj: OrderHold) -> str:
        return obj.placed_by_label

    # Dates as every date of the console is written (the viewer's zone and style).

    @admin.display(description="Placed at")
    def placed(self, obj: OrderHold) -> str:
        return short_datetime(obj.placed_at)

    @admin.display(description="Released at")
    def released(self, obj: OrderHold) -> str:
        return short_datetime(obj.released_at) if obj.released_at else ""
