"""Operator console for carriers and shipping methods."""

from __future__ import annotations

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from oms.core.admin import OperatorAdminMixin

from .models import Carrier, ShippingMethod


class ShippingMethodInline(admin.TabularInline):
    model = ShippingMethod
    fields = ("code", "name", "service_level", "price", "currency", "is_active")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: object, obj: object = None) -> bool:
        return False


@admin.register(Carrier)
class CarrierAdmin(OperatorAdminMixin, admin.ModelAdmin):
    list_display = ("code", "name", "tracking_url_template", "is_active")
    list_filter = ("is_active",)
    search_fields = ("code", "name")
    inlines = (ShippingMethodInline,)


@admin.register(ShippingMethod)
class ShippingMethodAdmin(OperatorAdminMixin, SimpleHistoryAdmin):
    list_display = (
        "code",
        "name",
        "service_level",
        "carrier",
        "transit_days_min",
        "transit_days_max",
        "cutoff_time",
        "price",
        "currency",
        "is_active",
    )
    list_select_related = ("carrier",)
    list_filter = ("service_level", "carrier", "is_active")
    search_fields = ("code", "name")
    change_select_related = ("carrier",)
    fieldsets = (
        (None, {"fields": ("code", "name", "service_level", "carrier", "is_active")}),
        (
            "Delivery",
            {
                "fields": (
                    ("transit_days_min", "transit_days_max"),
                    "cutoff_time",
                    "operating_days",
                ),
                "description": "Operating days are ISO weekdays: 1 = Monday … 7 = Sunday.",
            },
        ),
        ("Price", {"fields": ("price", "currency")}),
    )
