"""The routing recipe and the decisions it took, with their traces."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.forms import BaseModelFormSet
from django.http import HttpRequest
from simple_history.admin import SimpleHistoryAdmin

from core.admin import (
    AppendOnlyAdminMixin,
    OperatorAdminMixin,
    OrderNumberSearchMixin,
    render_table,
    short_datetime,
)

from ..forms import RoutingRuleForm, RoutingRuleListFormSet
from ..models import RoutingDecision, RoutingRule
from .links import link_to


@admin.register(RoutingRule)
class RoutingRuleAdmin(OperatorAdminMixin, SimpleHistoryAdmin):
    """The routing recipe: a fixed set of steps (created by a data migration) that
    operators reorder, switch on and off, and parameterise. Every edit is kept in the
    rule's history."""

    form = RoutingRuleForm
    list_display = ("step", "position", "is_enabled", "parameters", "description")
    list_display_links = ("step",)
    list_editable = ("position", "is_enabled")
    ordering = ("position",)
    sortable_by = ()
    fields = ("step", "position", "is_enabled", "parameters", "description")
    readonly_fields = ("step",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_changelist_formset(self, request: HttpRequest, **kwargs: Any) -> type[BaseModelFormSet]:
        return super().get_changelist_formset(
            request, **{"formset": RoutingRuleListFormSet, **kwargs}
        )


class OutcomeFilter(admin.SimpleListFilter):
    # Fixed choices: a plain ``list_filter = ("outcome",)`` would read the distinct
    # values of the whole table on every page.
    title = "outcome"
    parameter_name = "outcome"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [
            ("routed", "Routed"),
            ("partial", "Partly routed"),
            ("unrouted", "Nothing routed"),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any] | None:
        value = self.value()
        return queryset.filter(outcome=value) if value else queryset


@admin.register(RoutingDecision)
class RoutingDecisionAdmin(
    OrderNumberSearchMixin, OperatorAdminMixin, AppendOnlyAdminMixin, admin.ModelAdmin
):
    list_display = ("created", "order_link", "outcome", "summary")
    list_select_related = ("order",)
    list_filter = (OutcomeFilter,)
    sortable_by = ("created",)
    ordering = ("-id",)
    change_select_related = ("order",)
    fields = ("order_link", "outcome", "summary", "created_at", "trace_table")
    readonly_fields = ("order_link", "trace_table")

    @admin.display(description="When", ordering="id")
    def created(self, obj: RoutingDecision) -> str:
        return short_datetime(obj.created_at)

    @admin.display(description="Order")
    def order_link(self, obj: RoutingDecision) -> str:
        return link_to(obj.order)

    @admin.display(description="Trace")
    def trace_table(self, obj: RoutingDecision) -> str:
        entries = obj.trace if isinstance(obj.trace, list) else []
        return render_table(
            ("Step", "Location", "Result", "Reason"),
            (
                (
                    entry.get("step", ""),
                    entry.get("location", "") or "-",
                    entry.get("result", ""),
                    entry.get("reason", ""),
                )
                for entry in entries
                if isinstance(entry, dict)
            ),
        )
