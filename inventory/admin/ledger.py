"""The stock ledger, network totals and reservations: written only by services, so
shown here read-only (reservations can be released).
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.html import format_html
from django.utils.http import urlencode

from core.actors import Actor
from core.admin import (
    AppendOnlyAdminMixin,
    ConfirmForm,
    OperatorAdminMixin,
    RowsOutcome,
    admin_changelist_url,
    count_of,
    run_action_with_form,
    run_on_rows,
    short_datetime,
)

from .. import services
from ..models import NetworkReservation, NetworkStock, StockLevel, StockMovement, StockReservation


def _actor(request: HttpRequest) -> Actor:
    return Actor.for_user(request.user)


@admin.register(StockMovement)
class StockMovementAdmin(OperatorAdminMixin, AppendOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "created",
        "sku",
        "location_code",
        "bucket",
        "delta",
        "balance_after",
        "reason",
        "reference",
        "actor",
        "short_note",
    )
    list_select_related = ("product", "location")
    list_filter = ("bucket", "reason", "actor_kind", "location")
    search_fields = ("reference", "product__sku", "location__code")
    search_help_text = "Exact reference, SKU or location code."
    change_select_related = ("product", "location", "stock_level", "actor_user")
    ordering = ("-id",)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[StockMovement], search_term: str
    ) -> tuple[QuerySet[StockMovement], bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        upper = term.upper()
        return (
            queryset.filter(Q(reference=term) | Q(product__sku=upper) | Q(location__code=upper)),
            False,
        )

    # Ids grow with time, so sorting by id is sorting by creation, on the primary key.
    @admin.display(description="When", ordering="id")
    def created(self, obj: StockMovement) -> str:
        return short_datetime(obj.created_at)

    @admin.display(description="SKU")
    def sku(self, obj: StockMovement) -> str:
        return obj.product.sku

    @admin.display(description="Location")
    def location_code(self, obj: StockMovement) -> str:
        return obj.location.code

    @admin.display(description="By")
    def actor(self, obj: StockMovement) -> str:
        return obj.actor_display

    @admin.display(description="Note")
    def short_note(self, obj: StockMovement) -> str:
        return obj.note[:80]


@admin.register(NetworkStock)
class NetworkStockAdmin(OperatorAdminMixin, AppendOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("sku", "product_name", "available", "committed", "atp", "updated_at")
    list_select_related = ("product",)
    search_fields = ("product__sku",)
    search_help_text = "Exact SKU."
    change_select_related = ("product",)
    fields = ("product", "available", "committed", "atp", "updated_at", "stock_link")
    readonly_fields = ("atp", "stock_link")
    ordering = ("product_id",)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[NetworkStock], search_term: str
    ) -> tuple[QuerySet[NetworkStock], bool]:
        term = search_term.strip().upper()
        if not term:
            return queryset, False
        return queryset.filter(product__sku=term), False

    @admin.display(description="SKU", ordering="product__sku")
    def sku(self, obj: NetworkStock) -> str:
        return obj.product.sku

    @admin.display(description="Name")
    def product_name(self, obj: NetworkStock) -> str:
        return obj.product.name

    @admin.display(description="Available to promise")
    def atp(self, obj: NetworkStock) -> int:
        return obj.available_to_promise

    @admin.display(description="Per location")
    def stock_link(self, obj: NetworkStock) -> str:
        url = admin_changelist_url(StockLevel, urlencode({"product__id__exact": obj.pk}))
        return format_html('<a href="{}">Stock levels of {}</a>', url, obj.product.sku)


@admin.register(StockReservation)
class StockReservationAdmin(OperatorAdminMixin, AppendOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "reference",
        "sku",
        "location_code",
        "quantity",
        "status",
        "expires_at",
        "created_at",
        "actor",
    )
    list_select_related = ("stock_level__product", "stock_level__location")
    list_filter = ("status",)
    date_hierarchy = "expires_at"
    search_fields = ("reference", "stock_level__product__sku")
    search_help_text = "Exact reference (draft or quote number) or SKU."
    change_select_related = ("stock_level__product", "stock_level__location", "actor_user")
    ordering = ("-id",)
    actions = ("release_reservations",)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[StockReservation], search_term: str
    ) -> tuple[QuerySet[StockReservation], bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        return (
            queryset.filter(Q(reference=term) | Q(stock_level__product__sku=term.upper())),
            False,
        )

    @admin.display(description="SKU")
    def sku(self, obj: StockReservation) -> str:
        return obj.stock_level.product.sku

    @admin.display(description="Location")
    def location_code(self, obj: StockReservation) -> str:
        return obj.stock_level.location.code

    @admin.display(description="By")
    def actor(self, obj: StockReservation) -> str:
        return obj.actor_display

    def has_release_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("inventory.change_stockreservation")

    @admin.action(description="Release selected reservations", permissions=["release"])
    def release_reservations(
        self, request: HttpRequest, queryset: QuerySet[StockReservation]
    ) -> HttpResponse | None:
        actor = _actor(request)

        def release(reservation_id: int) -> bool:
            return services.release_reservation(reservation_id=reservation_id, actor=actor)

        def released(outcome: RowsOutcome) -> str:
            already = f"; {outcome.skipped} had already ended" if outcome.skipped else ""
            return f"Released {count_of(outcome.done, 'reservation')}{already}."

        def apply(form: forms.Form) -> None:
            rows = queryset.order_by("pk").values_list("pk", "reference")
            run_on_rows(
                self,
                request,
                ((pk, f"Reservation for {reference}") for pk, reference in rows),
                release,
                done_message=released,
                nothing_message="Every selected reservation had already ended.",
            )

        return run_action_with_form(
            self,
            request,
            queryset,
            form_class=ConfirmForm,
            title="Release reservations",
            submit_label="Release",
            apply=apply,
        )


@admin.register(NetworkReservation)
class NetworkReservationAdmin(OperatorAdminMixin, AppendOnlyAdminMixin, admin.ModelAdmin):
    """Holds on network availability for drafts and quotes; they end with their draft
    (submitted, released or expired), so they are only shown here."""

    list_display = ("reference", "sku", "quantity", "status", "expires_at", "created_at", "actor")
    list_select_related = ("product",)
    list_filter = ("status",)
    search_fields = ("reference", "product__sku")
    search_help_text = "Exact reference (draft or quote number) or SKU."
    change_select_related = ("product", "actor_user")
    ordering = ("-id",)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[NetworkReservation], search_term: str
    ) -> tuple[QuerySet[NetworkReservation], bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        return queryset.filter(Q(reference=term) | Q(product__sku=term.upper())), False

    @admin.display(description="SKU")
    def sku(self, obj: NetworkReservation) -> str:
        return obj.product.sku

    @admin.display(description="By")
    def actor(self, obj: NetworkReservation) -> str:
        return obj.actor_display
