"""Stock levels per location and SKU, and the stock operations on them.

Counters are never edited here: every change goes through a ``ServiceForm`` of
``inventory.forms`` that calls one service, under its own permission. The bin is the one
field edited on a stock level's page: by those with ``inventory.change_stocklevel`` who
may see every location, and by warehouse staff at their own locations only (Inventory >
Staff locations), who see only those locations' stock levels.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import F, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.http import urlencode

from core.admin import (
    AppendOnlyAdminMixin,
    OperatorAdminMixin,
    ServicePagesMixin,
    admin_changelist_url,
    render_table,
    short_datetime,
)

from ..forms import STOCK_OPERATIONS
from ..models import StockLevel, StockMovement
from .location_scope import scope_to_locations
from .staff import assigned_location_ids, may_see_all_locations

# Ledger rows shown on a stock level's page; the full ledger is one click away.
LEDGER_ROWS = 50


class StockStateFilter(admin.SimpleListFilter):
    title = "stock state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [
            ("nothing_to_promise", "Nothing to promise"),
            ("committed", "Has allocated or reserved units"),
            ("unsellable", "Has unsellable units"),
            ("incoming", "Has incoming units"),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any] | None:
        match self.value():
            case "nothing_to_promise":
                return queryset.filter(
                    on_hand__lte=F("allocated") + F("reserved") + F("safety_stock")
                )
            case "committed":
                return queryset.filter(Q(allocated__gt=0) | Q(reserved__gt=0))
            case "unsellable":
                return queryset.filter(unsellable__gt=0)
            case "incoming":
                return queryset.filter(incoming__gt=0)
        return queryset


class StockLevelForm(forms.ModelForm):
    class Meta:
        model = StockLevel
        fields = ("bin_location",)

    def clean_bin_location(self) -> str:
        # One spelling per bin, so that the pick list sorts "a-03" and "A-03" together.
        return " ".join(str(self.cleaned_data["bin_location"]).split()).upper()


@admin.register(StockLevel)
class StockLevelAdmin(
    ServicePagesMixin, OperatorAdminMixin, AppendOnlyAdminMixin, admin.ModelAdmin
):
    # The stock operations: one ``ServiceForm`` page each, on the list (``<slug>/``).
    service_pages = STOCK_OPERATIONS
    form = StockLevelForm
    list_display = (
        "sku",
        "location_code",
        "bin_location",
        "on_hand",
        "allocated",
        "reserved",
        "safety_stock",
        "unsellable",
        "incoming",
        "atp",
        "updated_at",
    )
    list_select_related = ("product", "location")
    list_filter = ("location", "location__kind", StockStateFilter)
    search_fields = ("product__sku", "location__code")
    search_help_text = "Exact SKU or location code."
    change_select_related = ("product", "location")
    fields = (
        "product",
        "location",
        "bin_location",
        ("on_hand", "allocated", "reserved"),
        ("safety_stock", "unsellable", "incoming"),
        "atp",
        "updated_at",
        "ledger",
    )
    readonly_fields = ("atp", "ledger")
    # The counters move only through the stock operations; the bin is the one field an
    # operator edits on the page (Django's history of the page records each change).
    COUNTERS = (
        "product",
        "location",
        "on_hand",
        "allocated",
        "reserved",
        "safety_stock",
        "unsellable",
        "incoming",
        "updated_at",
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[StockLevel]:
        # Staff confined to their locations see only their stock levels, on the list and
        # behind a typed URL (404) alike.
        return scope_to_locations(request, super().get_queryset(request))

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """The bin of any stock level for those who may see every location; of the
        stock levels at one's own locations for assigned staff; none for a user with
        the permission but neither (the warehouse role before its assignment)."""
        if not request.user.has_perm("inventory.change_stocklevel"):
            return False
        if may_see_all_locations(request):
            return True
        mine = assigned_location_ids(request)
        if obj is None:
            return bool(mine)
        return obj.location_id in mine

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return (*self.COUNTERS, *self.readonly_fields)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[StockLevel], search_term: str
    ) -> tuple[QuerySet[StockLevel], bool]:
        term = search_term.strip().upper()
        if not term:
            return queryset, False
        return queryset.filter(Q(product__sku=term) | Q(location__code=term)), False

    @admin.display(description="SKU", ordering="product__sku")
    def sku(self, obj: StockLevel) -> str:
        return obj.product.sku

    @admin.display(description="Location", ordering="location__code")
    def location_code(self, obj: StockLevel) -> str:
        return obj.location.code

    @admin.display(description="Available to promise")
    def atp(self, obj: StockLevel) -> int:
        return obj.available_to_promise

    @admin.display(description="Ledger (most recent first)")
    def ledger(self, obj: StockLevel) -> str:
        rows = StockMovement.objects.filter(stock_level=obj).order_by("-id")[:LEDGER_ROWS]
        table = render_table(
            ("When", "Bucket", "Change", "Balance", "Reason", "Reference", "Note", "By"),
            (
                (
                    short_datetime(m.created_at),
                    m.get_bucket_display(),
                    f"{m.delta:+d}",
                    m.balance_after,
                    m.get_reason_display(),
                    m.reference,
                    m.note,
                    m.actor_display,
                )
                for m in rows
            ),
        )
        url = admin_changelist_url(StockMovement, urlencode({"stock_level": obj.pk}))
        return format_html(
            '{}<p>Latest {} rows. <a href="{}">Full ledger</a></p>', table, LEDGER_ROWS, url
        )

    # --- stock operations: ``ServiceForm`` pages of the list (``service_pages``) ---

    def _operations_for(
        self, request: HttpRequest, level: StockLevel | None
    ) -> list[dict[str, str]]:
        query = (
            "?" + urlencode({"sku": level.product.sku, "location": level.location.code})
            if level is not None
            else ""
        )
        return [
            {
                "url": reverse(f"admin:{self.page_url_name(slug)}") + query,
                "title": form.title,
            }
            for slug, form in STOCK_OPERATIONS.items()
            if request.user.has_perm(form.permission)
        ]

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        extra = {**(extra_context or {}), "stock_operations": self._operations_for(request, None)}
        return super().changelist_view(request, extra)

    def render_change_form(  # noqa: PLR0917 - Django's signature
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Any = None,
    ) -> HttpResponse:
        context["stock_operations"] = self._operations_for(request, obj)
        return super().render_change_form(request, context, add, change, form_url, obj)
