"""Shipments and their tracking events: written only by services, shown read-only."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from core.admin import (
    AppendOnlyAdminMixin,
    OperatorAdminMixin,
    ReadOnlyInlineMixin,
    short_datetime,
)

from ..models import Shipment, ShipmentLine, TrackingEvent
from .links import link_to, tracking_link

# Tracking events shown on a shipment's page.
SHIPMENT_EVENT_ROWS = 200


class ShipmentLineInline(ReadOnlyInlineMixin, admin.TabularInline):
    model = ShipmentLine
    fields = ("sku", "description", "quantity")
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[ShipmentLine]:
        return super().get_queryset(request).select_related("fulfillment_line__order_line")

    @admin.display(description="SKU")
    def sku(self, obj: ShipmentLine) -> str:
        return obj.fulfillment_line.order_line.sku

    @admin.display(description="Item")
    def description(self, obj: ShipmentLine) -> str:
        return obj.fulfillment_line.order_line.description


class TrackingEventInline(ReadOnlyInlineMixin, admin.TabularInline):
    model = TrackingEvent
    fk_name = "shipment"
    fields = ("occurred_at", "status", "description", "location", "external_id", "received_at")
    readonly_fields = fields
    max_rows = SHIPMENT_EVENT_ROWS
    newest_first = ("-occurred_at", "-id")


@admin.register(Shipment)
class ShipmentAdmin(OperatorAdminMixin, AppendOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "tracking",
        "order_link",
        "fo_link",
        "carrier",
        "service_level",
        "status",
        "shipped",
        "delivered_at",
    )
    list_select_related = ("order", "fulfillment_order", "carrier")
    list_filter = ("carrier", "status")
    search_fields = ("tracking_number", "order__number")
    search_help_text = "Exact tracking or order number."
    sortable_by = ("shipped",)
    ordering = ("-id",)
    change_select_related = ("order", "fulfillment_order", "carrier")
    fields = (
        "tracking",
        "carrier",
        "service_level",
        "status",
        "order_link",
        "fo_link",
        "shipped_at",
        "delivered_at",
    )
    readonly_fields = ("tracking", "order_link", "fo_link")
    inlines = (ShipmentLineInline, TrackingEventInline)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Shipment], search_term: str
    ) -> tuple[QuerySet[Shipment], bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        shipments = Shipment.objects.order_by()
        matching = (
            shipments.filter(tracking_number__in={term, term.upper()})
            .values("pk")
            .union(shipments.filter(order__number=term.upper()).values("pk"), all=True)
        )
        return queryset.filter(pk__in=matching), False

    @admin.display(description="Tracking number")
    def tracking(self, obj: Shipment) -> str:
        return tracking_link(obj)

    @admin.display(description="Order")
    def order_link(self, obj: Shipment) -> str:
        return link_to(obj.order)

    @admin.display(description="Fulfillment order")
    def fo_link(self, obj: Shipment) -> str:
        return link_to(obj.fulfillment_order)

    @admin.display(description="Shipped", ordering="id")
    def shipped(self, obj: Shipment) -> str:
        return short_datetime(obj.shipped_at)


@admin.register(TrackingEvent)
class TrackingEventAdmin(OperatorAdminMixin, AppendOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("occurred", "tracking", "status", "description", "location", "received")
    list_select_related = ("shipment__carrier",)
    list_filter = ("status",)
    search_fields = ("shipment__tracking_number",)
    search_help_text = "Exact tracking number."
    sortable_by = ("received",)
    ordering = ("-id",)
    change_select_related = ("shipment",)
    fields = (
        "shipment",
        "status",
        "description",
        "location",
        "occurred_at",
        "external_id",
        "received_at",
    )

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[TrackingEvent], search_term: str
    ) -> tuple[QuerySet[TrackingEvent], bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        return queryset.filter(shipment__tracking_number__in={term, term.upper()}), False

    @admin.display(description="Occurred")
    def occurred(self, obj: TrackingEvent) -> str:
        return short_datetime(obj.occurred_at)

    @admin.display(description="Tracking number")
    def tracking(self, obj: TrackingEvent) -> str:
        return tracking_link(obj.shipment)

    # Ids grow with arrival, so sorting by id is sorting by the time received.
    @admin.display(description="Received", ordering="id")
    def received(self, obj: TrackingEvent) -> str:
        return short_datetime(obj.received_at)
