"""The planner's console: the reorder queue (with a button that drafts purchase orders
from its suggestions), the forecasts with their back-test error, and the planning runs."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from core.actors import Actor
from core.admin import (
    AppendOnlyAdminMixin,
    OperatorAdminMixin,
    admin_change_url,
    render_form_page,
    short_datetime,
)
from core.errors import DomainError
from inventory.purchase_orders import create_purchase_order

from .models import DemandForecast, LowStockCrossing, PlanningRun, ReorderSuggestion
from .replenishment import days_of_cover, list_reorder_suggestions, with_positions


def _percent(value: Decimal | None) -> str:
    return "-" if value is None else f"{value * 100:.1f} %"


class ForecastColumns:
    """Columns shared by the queue and the forecast list (rows from ``with_positions``)."""

    @admin.display(description="SKU", ordering="stock_level__product__sku")
    def sku(self, obj: DemandForecast) -> str:
        return obj.stock_level.product.sku

    @admin.display(description="Product")
    def product_name(self, obj: DemandForecast) -> str:
        return obj.stock_level.product.name

    @admin.display(description="Location", ordering="stock_level__location__code")
    def location(self, obj: DemandForecast) -> str:
        return obj.stock_level.location.code

    @admin.display(description="Net stock")
    def net_stock(self, obj: DemandForecast) -> int:
        level = obj.stock_level
        return level.on_hand - level.allocated - level.reserved

    @admin.display(description="Incoming")
    def incoming(self, obj: DemandForecast) -> int:
        return obj.stock_level.incoming

    @admin.display(description="Forecast / day", ordering="daily_demand")
    def per_day(self, obj: DemandForecast) -> str:
        return f"{obj.daily_demand:.2f}"

    @admin.display(description="Error (WAPE)", ordering="wape")
    def error(self, obj: DemandForecast) -> str:
        return _percent(obj.wape)

    @admin.display(description="Days of cover")
    def cover(self, obj: DemandForecast) -> str:
        days = days_of_cover(self.net_stock(obj), obj.daily_demand)
        return "-" if days is None else f"{days}"

    @admin.display(description="Reorder point", ordering="reorder_point_units")
    def reorder_point(self, obj: Any) -> int:
        return int(obj.reorder_point_units)

    @admin.display(description="Suggested", ordering="suggested_units")
    def suggested(self, obj: Any) -> int:
        return max(int(obj.suggested_units), 0)


class DraftPurchaseOrderForm(forms.Form):
    supplier = forms.CharField(max_length=200)
    expected_date = forms.DateField(help_text="When the goods are due (YYYY-MM-DD).")
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)

    def __init__(self, *args: Any, rows: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rows = rows
        for row in rows:
            self.fields[f"qty_{row.pk}"] = forms.IntegerField(
                label=f"{row.stock_level.product.sku} at {row.stock_level.location.code}",
                min_value=0,
                max_value=10_000_000,
                initial=max(int(row.suggested_units), 0),
                help_text=f"Suggested {max(int(row.suggested_units), 0)}; 0 leaves it out.",
            )


@admin.register(ReorderSuggestion)
class ReorderSuggestionAdmin(
    ForecastColumns, AppendOnlyAdminMixin, OperatorAdminMixin, admin.ModelAdmin
):
    list_display = (
        "sku",
        "location",
        "net_stock",
        "incoming",
        "per_day",
        "error",
        "cover",
        "reorder_point",
        "suggested",
    )
    list_filter = ("stock_level__location",)
    search_fields = ("=stock_level__product__sku",)
    search_help_text = "Exact SKU."
    actions = ("draft_purchase_orders",)
    list_per_page = 100

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return list_reorder_suggestions()

    def has_draft_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("planning.draft_purchase_order") and request.user.has_perm(
            "inventory.add_purchaseorder"
        )

    @admin.action(
        description="Draft purchase orders from the selected suggestions",
        permissions=["draft"],
    )
    def draft_purchase_orders(
        self, request: HttpRequest, queryset: QuerySet[Any]
    ) -> HttpResponse | None:
        rows = list(queryset[:200])
        lead = settings.OMS_PLANNING_LEAD_TIME_DAYS
        initial = {"expected_date": timezone.localdate() + timedelta(days=lead)}
        if "apply" in request.POST:
            form = DraftPurchaseOrderForm(request.POST, rows=rows)
            if form.is_valid() and self._record(request, form):
                return None
        else:
            form = DraftPurchaseOrderForm(initial=initial, rows=rows)
        return render_form_page(
            self,
            request,
            form=form,
            title="Draft purchase orders",
            submit_label="Record the purchase orders",
            summary="One purchase order per location, with the quantities below "
            "(prefilled with the suggestions). Their lines become incoming stock.",
            extra={
                "action_name": request.POST.get("action", ""),
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
                "selected_ids": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
                "select_across": request.POST.get("select_across", "0"),
                "selected": rows,
            },
        )

    def _record(self, request: HttpRequest, form: DraftPurchaseOrderForm) -> bool:
        by_location: dict[Any, list[tuple[str, int]]] = {}
        for row in form.rows:
            qty = form.cleaned_data[f"qty_{row.pk}"]
            if qty:
                location = row.stock_level.location
                by_location.setdefault(location, []).append((row.stock_level.product.sku, qty))
        if not by_location:
            self.message_user(request, "Every quantity is 0: nothing to order.", messages.WARNING)
            return False
        actor = Actor.for_user(request.user)
        recorded = []
        for location, lines in sorted(by_location.items(), key=lambda item: item[0].code):
            try:
                po = create_purchase_order(
                    location=location,
                    supplier=form.cleaned_data["supplier"],
                    expected_date=form.cleaned_data["expected_date"],
                    note=form.cleaned_data["note"],
                    lines=lines,
                    actor=actor,
                ).purchase_order
            except DomainError as exc:
                self.message_user(request, f"{location.code}: {exc.message}", messages.ERROR)
                continue
            recorded.append(po)
        if recorded:
            links = format_html_join(
                ", ", '<a href="{}">{}</a>', ((admin_change_url(po), po.number) for po in recorded)
            )
            self.message_user(
                request,
                format_html("Recorded {}: their lines are incoming.", links),
                messages.SUCCESS,
            )
        return bool(recorded)


@admin.register(DemandForecast)
class DemandForecastAdmin(
    ForecastColumns, AppendOnlyAdminMixin, OperatorAdminMixin, admin.ModelAdmin
):
    list_display = (
        "sku",
        "location",
        "method",
        "per_day",
        "error",
        "history_days",
        "net_stock",
        "cover",
        "reorder_point",
        "computed",
    )
    list_filter = ("method", "stock_level__location")
    search_fields = ("=stock_level__product__sku",)
    search_help_text = "Exact SKU."
    fields = (
        "stock_level",
        "method",
        "daily_demand",
        "wape",
        "history_days",
        "history_units",
        "lead_time_demand",
        "review_demand",
        "next_days",
        "computed_at",
        "run",
    )
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return with_positions(super().get_queryset(request))

    @admin.display(description="Computed", ordering="computed_at")
    def computed(self, obj: DemandForecast) -> str:
        return short_datetime(obj.computed_at)


@admin.register(PlanningRun)
class PlanningRunAdmin(AppendOnlyAdminMixin, OperatorAdminMixin, admin.ModelAdmin):
    list_display = (
        "started",
        "finished",
        "series",
        "overall_error",
        "history_days",
        "holdout_days",
        "lead_time_days",
        "review_days",
    )
    readonly_fields = (
        "started_at",
        "finished_at",
        "series",
        "wape",
        "history_days",
        "holdout_days",
        "lead_time_days",
        "review_days",
    )

    @admin.display(description="Started", ordering="started_at")
    def started(self, obj: PlanningRun) -> str:
        return short_datetime(obj.started_at)

    @admin.display(description="Finished")
    def finished(self, obj: PlanningRun) -> str:
        return short_datetime(obj.finished_at) if obj.finished_at else "running or failed"

    @admin.display(description="Error (WAPE)", ordering="wape")
    def overall_error(self, obj: PlanningRun) -> str:
        return _percent(obj.wape)


@admin.register(LowStockCrossing)
class LowStockCrossingAdmin(AppendOnlyAdminMixin, OperatorAdminMixin, admin.ModelAdmin):
    list_display = ("stock_level", "position", "reorder_point", "opened", "alerted", "closed")
    list_select_related = ("stock_level__product", "stock_level__location")
    list_filter = ("stock_level__location",)
    readonly_fields = (
        "stock_level",
        "position",
        "reorder_point",
        "opened_at",
        "alerted_at",
        "closed_at",
    )

    @admin.display(description="Crossed", ordering="opened_at")
    def opened(self, obj: LowStockCrossing) -> str:
        return short_datetime(obj.opened_at)

    @admin.display(description="Alerted")
    def alerted(self, obj: LowStockCrossing) -> str:
        return short_datetime(obj.alerted_at) if obj.alerted_at else "not yet"

    @admin.display(description="Back above")
    def closed(self, obj: LowStockCrossing) -> str:
        return short_datetime(obj.closed_at) if obj.closed_at else "still low"
