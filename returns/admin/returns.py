"""The returns console: the changelist (filters by status, reason, method, location and
age; search by RMA, order number or e-mail), each location's receiving queue, and a
return's read-only page whose buttons call the services."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

from core.admin import (
    OperatorAdminMixin,
    ReadOnlyInlineMixin,
    ServicePagesMixin,
    admin_change_url,
    short_datetime,
)
from fulfillment.models import ShipmentStatus

from ..documents import return_label_pdf
from ..models import (
    RECEIVABLE_STATUSES,
    ReturnEvent,
    ReturnLine,
    ReturnMethod,
    ReturnPhoto,
    ReturnPolicy,
    ReturnReason,
    ReturnRequest,
)
from .forms import RETURN_PAGES
from .summaries import refund_summary, replacement_summary

QUEUE_PARAMETER = "queue"


class ReceivingQueueFilter(admin.SimpleListFilter):
    """What a location still expects: approved returns not (fully) received."""

    title = "receiving queue"
    parameter_name = QUEUE_PARAMETER

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("to_receive", "To receive")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "to_receive":
            return queryset.filter(status__in=RECEIVABLE_STATUSES)
        return queryset


class AgeFilter(admin.SimpleListFilter):
    title = "age"
    parameter_name = "age"
    BANDS = {"day": 1, "week": 7, "month": 30}

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [
            ("day", "Last 24 hours"),
            ("week", "Last 7 days"),
            ("month", "Last 30 days"),
            ("older", "Older than 30 days"),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        now = timezone.now()
        if value in self.BANDS:
            return queryset.filter(created_at__gte=now - dt.timedelta(days=self.BANDS[value]))
        if value == "older":
            return queryset.filter(created_at__lt=now - dt.timedelta(days=30))
        return queryset


class ReasonFilter(admin.SimpleListFilter):
    title = "reason"
    parameter_name = "reason"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return list(ReturnReason.objects.values_list("code", "label"))

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value():
            return queryset.filter(lines__reason__code=self.value()).distinct()
        return queryset


class ReturnLineInline(ReadOnlyInlineMixin, admin.TabularInline):
    model = ReturnLine
    fields = ("order_line", "quantity", "quantity_received", "quantity_refunded", "reason", "note")
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).select_related("order_line", "reason")


class ReturnEventInline(ReadOnlyInlineMixin, admin.TabularInline):
    model = ReturnEvent
    verbose_name = "history entry"
    verbose_name_plural = "history"
    fields = ("when", "type", "message", "actor_label")
    readonly_fields = fields

    @admin.display(description="When")
    def when(self, obj: ReturnEvent) -> str:
        return short_datetime(obj.created_at)


class ReturnPhotoInline(ReadOnlyInlineMixin, admin.TabularInline):
    model = ReturnPhoto
    fields = ("image", "content_type", "size")
    readonly_fields = fields


@admin.register(ReturnRequest)
class ReturnRequestAdmin(ServicePagesMixin, OperatorAdminMixin, admin.ModelAdmin):
    """Returns, newest first; a location's receiving queue is the "to receive" filter
    with its location. Typing or scanning an RMA number in the search opens it."""

    service_pages = RETURN_PAGES
    list_display = (
        "number",
        "order_link",
        "status",
        "method",
        "destination_code",
        "email",
        "created",
    )
    list_select_related = ("order", "destination")
    list_filter = (
        ReceivingQueueFilter,
        "status",
        ReasonFilter,
        "resolution",
        "method",
        ("destination", admin.RelatedOnlyFieldListFilter),
        AgeFilter,
    )
    sortable_by = ("number", "created")
    search_fields = ("number",)
    search_help_text = "Exact RMA number (type or scan it), order number or e-mail."
    change_select_related = ("order", "destination", "carrier", "exchange_order")
    fields = (
        ("number", "status"),
        ("order_link", "method"),
        ("destination", "destination_reason"),
        "auto_approved",
        ("resolution", "keep_items"),
        "replacement",
        "refunded",
        "tracking",
        "pickup",
        "note",
        "decision_note",
        "label",
        ("created_at", "updated_at"),
    )
    readonly_fields = (
        "number",
        "status",
        "order_link",
        "method",
        "destination",
        "destination_reason",
        "auto_approved",
        "resolution",
        "keep_items",
        "replacement",
        "refunded",
        "tracking",
        "pickup",
        "note",
        "decision_note",
        "label",
        "created_at",
        "updated_at",
    )
    inlines = (ReturnLineInline, ReturnPhotoInline, ReturnEventInline)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # returns are asked for from the order page or the API

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # every change is a button: approve, receive, close, ...

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="Order", ordering="order__number")
    def order_link(self, obj: ReturnRequest) -> SafeString:
        return format_html('<a href="{}">{}</a>', admin_change_url(obj.order), obj.order.number)

    @admin.display(description="Goes to")
    def destination_code(self, obj: ReturnRequest) -> str:
        return obj.destination.code

    @admin.display(description="E-mail")
    def email(self, obj: ReturnRequest) -> str:
        return obj.order.email

    @admin.display(description="Asked", ordering="id")
    def created(self, obj: ReturnRequest) -> str:
        return short_datetime(obj.created_at)

    @admin.display(description="Replacement")
    def replacement(self, obj: ReturnRequest) -> str | SafeString:
        return replacement_summary(obj)

    @admin.display(description="Refunded")
    def refunded(self, obj: ReturnRequest) -> str:
        return refund_summary(obj)

    @admin.display(description="Return parcel")
    def tracking(self, obj: ReturnRequest) -> str:
        if not obj.tracking_number or obj.carrier is None:
            return "No tracking number yet."
        status = dict(ShipmentStatus.choices).get(obj.tracking_status, obj.tracking_status)
        text = f"{obj.carrier.name} {obj.tracking_number}: {status.lower()}"
        if obj.delivered_at:
            text += f", delivered {short_datetime(obj.delivered_at)}"
        return text

    @admin.display(description="Carrier pickup")
    def pickup(self, obj: ReturnRequest) -> str:
        if obj.method != ReturnMethod.PICKUP:
            return "—"
        carrier = obj.carrier.name if obj.carrier else "the carrier"
        if not obj.pickup_confirmation or obj.pickup_date is None:
            return f"Not booked yet with {carrier} (booked once the return is approved)."
        return (
            f"{carrier} collects on {obj.pickup_date:%a %d %b %Y}, "
            f"confirmation {obj.pickup_confirmation}"
        )

    @admin.display(description="Return label")
    def label(self, obj: ReturnRequest) -> SafeString:
        url = reverse(f"admin:{self.page_url_name('label')}", args=[obj.pk])
        return format_html('<a href="{}">Download the label (PDF)</a>', url)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        # Exact matches on indexed columns: never a substring scan.
        term = search_term.strip()
        if not term:
            return queryset, False
        if "@" in term:
            return queryset.filter(order__email__iexact=term), False
        upper = term.upper()
        if upper.startswith("RMA-"):
            return queryset.filter(number=upper), False
        return queryset.filter(order__number=upper), False

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        # A scanned or typed RMA number opens that return at once.
        term = request.GET.get("q", "").strip().upper()
        if term.startswith("RMA-"):
            found = self.get_queryset(request).filter(number=term).first()
            if found is not None:
                return HttpResponseRedirect(admin_change_url(found))
        return super().changelist_view(request, extra_context)

    def get_urls(self) -> list[URLPattern]:
        return [
            path(
                "<path:object_id>/label/",
                self.admin_site.admin_view(self.label_view),
                name=self.page_url_name("label"),
            ),
            *super().get_urls(),
        ]

    def label_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        rma = self.get_object(request, unquote(object_id))
        if rma is None:
            raise Http404("No such return.")
        if not self.has_view_permission(request, rma):
            raise PermissionDenied
        response = HttpResponse(return_label_pdf(rma), content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="{rma.number}.pdf"'
        return response

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        rma = self.get_object(request, unquote(object_id))
        tools = self.service_tools(request, rma) if rma is not None else []
        extra = {**(extra_context or {}), "return_tools": tools}
        return super().change_view(request, object_id, form_url, extra)


@admin.register(ReturnReason)
class ReturnReasonAdmin(OperatorAdminMixin, admin.ModelAdmin):
    list_display = ("label", "code", "restocking_fee_percent", "is_active")
    list_filter = ("is_active",)
    search_fields = ("code", "label")


@admin.register(ReturnPolicy)
class ReturnPolicyAdmin(OperatorAdminMixin, admin.ModelAdmin):
    """The rules of the return policy: the most specific active one governs a line
    (company, then product, then product category, then the default); see docs/returns.md."""

    list_display = (
        "name",
        "scope",
        "product",
        "category",
        "company",
        "window_days",
        "non_returnable",
        "auto_approve_below",
        "refund_without_return_below",
        "trust_exchanges",
        "is_active",
    )
    list_select_related = ("product", "category", "company")
    list_filter = ("scope", "category", "is_active", "non_returnable", "trust_exchanges")
    autocomplete_fields = ("product", "category", "company")
    filter_horizontal = ("auto_approve_reasons",)
    search_fields = ("name",)
