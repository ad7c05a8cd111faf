"""The order page's read-only tables of rows: its lines, holds and timeline."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from core.admin import ReadOnlyInlineMixin
from core.money import format_money

from ..models import HOLD_RELEASED_BY, OrderEvent, OrderHold, OrderLine
from ..timeline import describe_changes

# Timeline entries shown on an order's page (oldest of the newest N first).
TIMELINE_ROWS = 200


class OrderLineInline(ReadOnlyInlineMixin, admin.TabularInline):
    model = OrderLine
    verbose_name = "line"
    verbose_name_plural = "lines"
    # Short captions for the table, and money as money; the line total counts the live
    # units only (cancelled ones are not charged), as the order's subtotal does.
    fields = (
        "line",
        "sku",
        "description",
        "price",
        "ordered",
        "cancelled",
        "open_quantity",
        "backordered",
        "allocated",
        "shipped",
        "delivered",
        "return_requested",
        "returned",
        "discount",
        "tax",
        "total",
    )
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[OrderLine]:
        return super().get_queryset(request).select_related("order")

    @admin.display(description="Line")
    def line(self, obj: OrderLine) -> int:
        return obj.line_number

    @admin.display(description="Unit price")
    def price(self, obj: OrderLine) -> str:
        return format_money(obj.unit_price, obj.order.currency)

    @admin.display(description="Ordered")
    def ordered(self, obj: OrderLine) -> int:
        return obj.quantity_ordered

    @admin.display(description="Cancelled")
    def cancelled(self, obj: OrderLine) -> int:
        return obj.quantity_cancelled

    @admin.display(description="Open")
    def open_quantity(self, obj: OrderLine) -> int:
        return obj.quantity_open

    @admin.display(description="Backordered")
    def backordered(self, obj: OrderLine) -> int:
        return obj.quantity_backordered

    @admin.display(description="Allocated")
    def allocated(self, obj: OrderLine) -> int:
        return obj.quantity_allocated

    @admin.display(description="Shipped")
    def shipped(self, obj: OrderLine) -> int:
        return obj.quantity_shipped

    @admin.display(description="Delivered")
    def delivered(self, obj: OrderLine) -> int:
        return obj.quantity_delivered

    @admin.display(description="Return requested")
    def return_requested(self, obj: OrderLine) -> int:
        return obj.quantity_return_requested

    @admin.display(description="Returned")
    def returned(self, obj: OrderLine) -> int:
        return obj.quantity_returned

    @admin.display(description="Discount")
    def discount(self, obj: OrderLine) -> str:
        return format_money(obj.discount_total, obj.order.currency)

    @admin.display(description="Tax")
    def tax(self, obj: OrderLine) -> str:
        return format_money(obj.tax_total, obj.order.currency)

    @admin.display(description="Line total")
    def total(self, obj: OrderLine) -> str:
        return format_money(obj.live_total, obj.order.currency)


class OrderHoldInline(ReadOnlyInlineMixin, admin.TabularInline):
    model = OrderHold
    fields = (
        "kind",
        "state",
        "reason",
        "placed_at",
        "placed_by",
        "released_at",
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


class OrderEventInline(ReadOnlyInlineMixin, admin.TabularInline):
    model = OrderEvent
    fk_name = "order"
    verbose_name = "timeline entry"
    verbose_name_plural = "timeline"
    fields = ("created_at", "type", "message", "changes", "actor")
    readonly_fields = fields
    max_rows = TIMELINE_ROWS
    newest_first = ("-created_at", "-id")

    def get_queryset(self, request: HttpRequest) -> QuerySet[OrderEvent]:
        return super().get_queryset(request).select_related("order")

    @admin.display(description="By")
    def actor(self, obj: OrderEvent) -> str:
        return obj.actor_display

    @admin.display(description="Before → after")
    def changes(self, obj: OrderEvent) -> str:
        return describe_changes(obj.payload, currency=obj.order.currency)
