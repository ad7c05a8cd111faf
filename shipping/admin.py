"""Operator console for carriers and their shipping methods.

A carrier's webhook secret is write-only on its page (``forms.CarrierAdminForm``); a
shipping method's changes are kept in its audit history.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from simple_history.admin import SimpleHistoryAdmin

from core.admin import OperatorAdminMixin

from .forms import CarrierAdminForm, mask_secret
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
    form = CarrierAdminForm
    list_display = ("code", "name", "tracking_url_template", "webhook_secret_masked", "is_active")
    list_filter = ("is_active",)
    search_fields = ("code", "name")
    readonly_fields = ("webhook_secret_masked",)
    inlines = (ShippingMethodInline,)

    @admin.display(description="Webhook secret")
    def webhook_secret_masked(self, obj: Carrier) -> str:
        return mask_secret(obj.webhook_secret)

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        # The secret itself is never a field of the page: the stored one is shown masked,
        # a new one is typed into a write-only field, offered only to who may change it.
        secret: list[str] = [] if obj is None else ["webhook_secret_masked"]
        can_edit = (
            self.has_add_permission(request)
            if obj is None
            else self.has_change_permission(request, obj)
        )
        if can_edit:
            secret.append("new_webhook_secret")
            if obj is not None and obj.webhook_secret:
                secret.append("remove_webhook_secret")
        return (
            (
                None,
                {
                    "fields": (
                        "code",
                        "name",
                        "tracking_url_template",
                        "offers_return_pickup",
                        "is_active",
                    )
                },
            ),
            ("Tracking webhook", {"fields": secret}),
        )


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
