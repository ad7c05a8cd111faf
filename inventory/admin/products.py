"""Products (SKUs) and their availability across the network."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.http import urlencode
from simple_history.admin import SimpleHistoryAdmin

from core.admin import OperatorAdminMixin, admin_changelist_url, adopt_saved, render_table

from .. import services
from ..models import NetworkStock, Product, ProductCategory, StockLevel
from ..selectors import get_network_availability


class ProductAdminForm(forms.ModelForm):
    class Meta:
        model = Product
        fields = (
            "sku",
            "name",
            "description",
            "category",
            "is_active",
            "list_price",
            "currency",
            "weight_grams",
            "is_customizable",
            "customization_fields",
            "is_returnable",
            "allow_backorder",
            "dropship_vendor",
        )

    def clean_sku(self) -> str:
        return str(self.cleaned_data["sku"]).strip().upper()


@admin.register(Product)
class ProductAdmin(OperatorAdminMixin, SimpleHistoryAdmin):
    form = ProductAdminForm
    list_display = (
        "sku",
        "name",
        "category",
        "list_price",
        "currency",
        "network_available",
        "network_committed",
        "network_atp",
        "is_active",
    )
    list_select_related = ("network_stock", "category")
    list_filter = ("category", "is_active", "is_customizable", "is_returnable", "allow_backorder")
    search_fields = ("sku", "name")
    search_help_text = "Exact SKU, or part of the name."
    fieldsets = (
        (None, {"fields": ("sku", "name", "description", "category", "is_active")}),
        ("Price", {"fields": ("list_price", "currency")}),
        (
            "Handling",
            {
                "fields": (
                    "weight_grams",
                    "is_customizable",
                    "customization_fields",
                    "is_returnable",
                    "allow_backorder",
                    "dropship_vendor",
                )
            },
        ),
        ("Availability", {"fields": ("network_availability",)}),
        ("Record", {"fields": ("created_at", "updated_at")}),
    )

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        readonly = ("network_availability", "created_at", "updated_at")
        return ("sku", *readonly) if obj is not None else readonly

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Product], search_term: str
    ) -> tuple[QuerySet[Product], bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        return queryset.filter(Q(sku=term.upper()) | Q(name__icontains=term)), False

    @staticmethod
    def _network(obj: Product) -> NetworkStock | None:
        try:
            return obj.network_stock
        except NetworkStock.DoesNotExist:
            return None

    @admin.display(description="Network available")
    def network_available(self, obj: Product) -> int | None:
        network = self._network(obj)
        return network.available if network else None

    @admin.display(description="Committed")
    def network_committed(self, obj: Product) -> int | None:
        network = self._network(obj)
        return network.committed if network else None

    @admin.display(description="ATP")
    def network_atp(self, obj: Product) -> int | None:
        network = self._network(obj)
        return network.available_to_promise if network else None

    @admin.display(description="Network availability")
    def network_availability(self, obj: Product) -> str:
        if obj.pk is None:
            return "-"
        found = get_network_availability([obj.sku])
        if not found:
            return "No stock recorded."
        sku = found[0]
        table = render_table(
            ("Location", "Name", "On hand", "Available to promise"),
            (
                (loc.location_code, loc.location_name, loc.on_hand, loc.available_to_promise)
                for loc in sku.locations
            ),
        )
        url = admin_changelist_url(StockLevel, urlencode({"product__id__exact": obj.pk}))
        return format_html(
            "<p><strong>{}</strong> available to promise across the network "
            '(<a href="{}">stock levels</a>).</p>{}',
            sku.available_to_promise,
            url,
            table,
        )

    def save_model(self, request: HttpRequest, obj: Product, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        data = form.cleaned_data
        created = services.create_product(
            sku=data["sku"],
            name=data["name"],
            list_price=data["list_price"],
            currency=data["currency"],
            weight_grams=data["weight_grams"],
            description=data["description"],
            is_customizable=data["is_customizable"],
            customization_fields=data["customization_fields"],
            is_returnable=data["is_returnable"],
            allow_backorder=data["allow_backorder"],
            dropship_vendor=data["dropship_vendor"],
            category=data["category"],
        )
        adopt_saved(obj, created)


@admin.register(ProductCategory)
class ProductCategoryAdmin(OperatorAdminMixin, admin.ModelAdmin):
    list_display = ("name", "code")
    search_fields = ("code", "name")
