"""Operator console for orders: find one, read its whole story, hold and release it.

Orders are read-only here. Holds are placed and released through
``orders.services`` by buttons on the order page and by bulk actions, each behind its
own permission and a page asking for the reason.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import URLPattern, path
from django.utils.html import format_html

from oms.core.actors import Actor
from oms.core.admin import (
    AppendOnlyAdminMixin,
    OperatorAdminMixin,
    ReadOnlyInlineMixin,
    admin_change_url,
    render_form_page,
    render_table,
    run_action_with_form,
    short_datetime,
)
from oms.core.errors import DomainError

from . import services
from .models import (
    HoldKind,
    IdempotencyKey,
    Order,
    OrderEvent,
    OrderHold,
    OrderLine,
    OrderStatus,
    TaxRate,
)

# Timeline entries shown on an order's page (oldest of the newest N first).
TIMELINE_ROWS = 200

PLACE_HOLD_PERMISSION = "orders.place_hold"
RELEASE_HOLD_PERMISSION = "orders.release_hold"


def _actor(request: HttpRequest) -> Actor:
    return Actor.for_user(request.user)


def _open_holds(order: Order) -> QuerySet[OrderHold]:
    return OrderHold.objects.filter(order=order, released_at__isnull=True).order_by("placed_at")


class HoldReasonField(forms.CharField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("widget", forms.Textarea(attrs={"rows": 3}))
        kwargs.setdefault("help_text", "Kept on the hold and in the order's timeline.")
        super().__init__(**kwargs)


class PlaceHoldForm(forms.Form):
    kind = forms.ChoiceField(choices=HoldKind.choices, initial=HoldKind.MANUAL)
    reason = HoldReasonField()


class HoldChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return (
            f"{obj.get_kind_display()}: {obj.reason} "
            f"(placed {short_datetime(obj.placed_at)} by {obj.placed_by_label})"
        )


class ReleaseHoldForm(forms.Form):
    hold = HoldChoiceField(queryset=OrderHold.objects.none(), empty_label=None)
    reason = HoldReasonField(label="Release reason")

    def __init__(self, *args: Any, order: Order, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Only this order's open holds can be picked, so a stale or forged id is a
        # plain "select a valid choice" error.
        self.fields["hold"].queryset = _open_holds(order)  # type: ignore[attr-defined]


class ReleaseHoldsForm(forms.Form):
    """Bulk release: which kind of hold, and why."""

    kind = forms.ChoiceField(choices=[("", "Every open hold"), *HoldKind.choices], required=False)
    reason = HoldReasonField(label="Release reason")


class ReleaseReasonForm(forms.Form):
    reason = HoldReasonField(label="Release reason")


def _report(
    request: HttpRequest, model_admin: admin.ModelAdmin, done: str, refused: list[str]
) -> None:
    model_admin.message_user(request, done, messages.SUCCESS)
    if refused:
        model_admin.message_user(request, "Refused: " + "; ".join(refused), messages.ERROR)


# --- inlines ----------------------------------------------------------------------------


class OrderLineInline(ReadOnlyInlineMixin, admin.TabularInline):
    model = OrderLine
    fields = (
        "line_number",
        "sku",
        "description",
        "unit_price",
        "quantity_ordered",
        "quantity_cancelled",
        "open_quantity",
        "quantity_backordered",
        "quantity_allocated",
        "quantity_shipped",
        "quantity_delivered",
        "quantity_return_requested",
        "quantity_returned",
        "discount_total",
        "tax_total",
        "line_total",
    )
    readonly_fields = fields

    @admin.display(description="Open")
    def open_quantity(self, obj: OrderLine) -> int:
        return obj.quantity_open


class OrderHoldInline(ReadOnlyInlineMixin, admin.TabularInline):
    model = OrderHold
    fields = (
        "kind",
        "state",
        "reason",
        "placed_at",
        "placed_by_label",
        "released_at",
        "released_by",
        "release_reason",
    )
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[OrderHold]:
        return super().get_queryset(request).select_related("released_by")

    @admin.display(description="State")
    def state(self, obj: OrderHold) -> str:
        return "Open" if obj.is_open else "Released"


class OrderEventInline(ReadOnlyInlineMixin, admin.TabularInline):
    model = OrderEvent
    fk_name = "order"
    verbose_name = "timeline entry"
    verbose_name_plural = "timeline"
    fields = ("created_at", "type", "message", "actor")
    readonly_fields = fields
    max_rows = TIMELINE_ROWS
    newest_first = ("-created_at", "-id")

    @admin.display(description="By")
    def actor(self, obj: OrderEvent) -> str:
        return obj.actor_display


# --- orders -----------------------------------------------------------------------------


class OnHoldFilter(admin.SimpleListFilter):
    title = "hold"
    parameter_name = "on_hold"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "On hold"), ("no", "Not on hold")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any] | None:
        open_hold = Exists(OrderHold.objects.filter(order=OuterRef("pk"), released_at__isnull=True))
        if self.value() == "yes":
            return queryset.filter(open_hold)
        if self.value() == "no":
            return queryset.exclude(open_hold)
        return queryset


@admin.register(Order)
class OrderAdmin(OperatorAdminMixin, admin.ModelAdmin):
    list_display = (
        "number",
        "customer",
        "company",
        "channel",
        "status",
        "fulfillment_status",
        "total",
        "created",
    )
    list_select_related = ("customer", "company")
    list_filter = (
        "status",
        "channel",
        "fulfillment_status",
        "return_status",
        OnHoldFilter,
        "created_at",
    )
    # Sorting a million orders by an unindexed column is a full sort; these two walk
    # an index (``created`` sorts by id, which grows with time).
    sortable_by = ("number", "created")
    search_fields = ("number", "email", "ship_phone", "po_number", "lines__sku")
    search_help_text = "Exact order number, e-mail, phone, PO number or SKU."
    change_select_related = (
        "customer",
        "company",
        "placed_by",
        "shipping_method",
        "pickup_location",
    )
    fieldsets = (
        (
            None,
            {
                "fields": (
                    ("number", "status"),
                    ("fulfillment_status", "return_status"),
                    "channel",
                    "customer",
                    "company",
                    "placed_by",
                    "po_number",
                    "external_reference",
                    "email",
                )
            },
        ),
        (
            "Delivery",
            {
                "fields": (
                    "ship_name",
                    "ship_to",
                    "ship_phone",
                    ("ship_latitude", "ship_longitude"),
                    "shipping_method",
                    "pickup_location",
                    "promised_delivery_date",
                    "billing_address",
                )
            },
        ),
        (
            "Money",
            {
                "fields": (
                    "currency",
                    "subtotal",
                    "shipping_total",
                    "discount_total",
                    "tax_total",
                    "grand_total",
                    ("tax_rate", "tax_shipping"),
                )
            },
        ),
        (
            "Dates",
            {"fields": ("created_at", "placed_at", "completed_at", "cancelled_at", "updated_at")},
        ),
        ("Notes", {"fields": ("notes",)}),
    )
    readonly_fields = ("ship_to",)
    inlines = (OrderLineInline, OrderHoldInline, OrderEventInline)
    actions = ("place_hold_on_orders", "release_holds_of_orders")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    # Every change to an order goes through a service: the page is read-only and the
    # hold buttons and actions below are the ways to act on it.
    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_place_hold_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(PLACE_HOLD_PERMISSION)

    def has_release_hold_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(RELEASE_HOLD_PERMISSION)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Order], search_term: str
    ) -> tuple[QuerySet[Order], bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        # One UNION of index lookups instead of an OR across columns: an OR (or a join
        # to the lines) makes PostgreSQL scan every order; each branch here is an index
        # lookup, and the lines branch yields order ids, so no order appears twice.
        orders = Order.objects.order_by()
        matching = (
            orders.filter(number=term.upper())
            .values("pk")
            .union(
                orders.filter(email__in={term, term.lower()}).values("pk"),
                orders.filter(ship_phone=term).values("pk"),
                orders.filter(po_number=term).values("pk"),
                OrderLine.objects.order_by().filter(sku=term.upper()).values("order_id"),
                all=True,
            )
        )
        return queryset.filter(pk__in=matching), False

    @admin.display(description="Total", ordering="grand_total")
    def total(self, obj: Order) -> str:
        return f"{obj.grand_total} {obj.currency}"

    @admin.display(description="Created", ordering="id")
    def created(self, obj: Order) -> str:
        return short_datetime(obj.created_at)

    @admin.display(description="Ship to")
    def ship_to(self, obj: Order) -> str:
        return obj.ship_to_one_line

    # --- hold buttons on the order page ---

    def get_urls(self) -> list[URLPattern]:
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "<path:object_id>/place-hold/",
                self.admin_site.admin_view(self.place_hold_view),
                name="{}_{}_place_hold".format(*info),
            ),
            path(
                "<path:object_id>/release-hold/",
                self.admin_site.admin_view(self.release_hold_view),
                name="{}_{}_release_hold".format(*info),
            ),
            *super().get_urls(),
        ]

    def render_change_form(  # noqa: PLR0917 - Django's signature
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Any = None,
    ) -> HttpResponse:
        if obj is not None:
            closed = obj.status in (OrderStatus.COMPLETED, OrderStatus.CANCELLED)
            context["can_place_hold"] = not closed and self.has_place_hold_permission(request)
            context["can_release_hold"] = (
                self.has_release_hold_permission(request) and _open_holds(obj).exists()
            )
        return super().render_change_form(request, context, add, change, form_url, obj)

    def _order_for(self, request: HttpRequest, object_id: str, permission: str) -> Order:
        order = self.get_object(request, unquote(object_id))
        if order is None:
            raise Http404("No such order.")
        if not (self.has_view_permission(request, order) and request.user.has_perm(permission)):
            raise PermissionDenied
        assert isinstance(order, Order)  # noqa: S101 - narrows the type
        return order

    def _summary(self, order: Order) -> str:
        holds = render_table(
            ("Hold", "Reason", "Placed", "By"),
            (
                (h.get_kind_display(), h.reason, short_datetime(h.placed_at), h.placed_by_label)
                for h in _open_holds(order)
            ),
        )
        return format_html(
            "<p>Order <strong>{}</strong> of {} — {}, {}.</p><h3>Open holds</h3>{}",
            order.number,
            order.customer,
            order.get_status_display(),
            order.get_fulfillment_status_display(),
            holds,
        )

    def place_hold_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        order = self._order_for(request, object_id, PLACE_HOLD_PERMISSION)
        form = PlaceHoldForm(request.POST if request.method == "POST" else None)
        if form.is_valid():
            try:
                hold = services.place_hold(
                    order=order,
                    kind=form.cleaned_data["kind"],
                    reason=form.cleaned_data["reason"],
                    actor=_actor(request),
                )
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                self.message_user(
                    request,
                    f"{order.number}: {hold.get_kind_display()} hold placed.",
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(admin_change_url(order))
        return render_form_page(
            self,
            request,
            form=form,
            title=f"Put {order.number} on hold",
            submit_label="Place hold",
            original=order,
            summary=self._summary(order),
        )

    def release_hold_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        order = self._order_for(request, object_id, RELEASE_HOLD_PERMISSION)
        if not _open_holds(order).exists():
            self.message_user(request, f"{order.number} has no open hold.", messages.WARNING)
            return HttpResponseRedirect(admin_change_url(order))
        if request.method == "POST":
            form = ReleaseHoldForm(request.POST, order=order)
        else:
            form = ReleaseHoldForm(initial={"hold": request.GET.get("hold")}, order=order)
        if form.is_valid():
            try:
                hold = services.release_hold(
                    hold_id=form.cleaned_data["hold"].pk,
                    reason=form.cleaned_data["reason"],
                    actor=_actor(request),
                )
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                self.message_user(
                    request,
                    f"{order.number}: {hold.get_kind_display()} hold released.",
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(admin_change_url(order))
        return render_form_page(
            self,
            request,
            form=form,
            title=f"Release a hold on {order.number}",
            submit_label="Release hold",
            original=order,
            summary=self._summary(order),
        )

    # --- bulk actions ---

    @admin.action(description="Put selected orders on hold…", permissions=["place_hold"])
    def place_hold_on_orders(
        self, request: HttpRequest, queryset: QuerySet[Order]
    ) -> HttpResponse | None:
        def apply(form: forms.Form) -> None:
            held, refused = 0, []
            for order in queryset:
                try:
                    services.place_hold(
                        order=order,
                        kind=form.cleaned_data["kind"],
                        reason=form.cleaned_data["reason"],
                        actor=_actor(request),
                    )
                except DomainError as exc:
                    refused.append(exc.message)
                else:
                    held += 1
            _report(request, self, f"Put {held} order(s) on hold.", refused)

        return run_action_with_form(
            self,
            request,
            queryset,
            form_class=PlaceHoldForm,
            title="Put orders on hold",
            submit_label="Place hold",
            apply=apply,
        )

    @admin.action(description="Release holds of selected orders…", permissions=["release_hold"])
    def release_holds_of_orders(
        self, request: HttpRequest, queryset: QuerySet[Order]
    ) -> HttpResponse | None:
        def apply(form: forms.Form) -> None:
            holds = OrderHold.objects.filter(order__in=queryset, released_at__isnull=True)
            if form.cleaned_data["kind"]:
                holds = holds.filter(kind=form.cleaned_data["kind"])
            released, refused = _release_holds(request, holds, form.cleaned_data["reason"])
            _report(request, self, f"Released {released} hold(s).", refused)

        return run_action_with_form(
            self,
            request,
            queryset,
            form_class=ReleaseHoldsForm,
            title="Release holds",
            submit_label="Release holds",
            apply=apply,
        )


def _release_holds(
    request: HttpRequest, holds: QuerySet[OrderHold], reason: str
) -> tuple[int, list[str]]:
    """Release each hold in its own transaction, so one refusal does not undo the rest."""
    released, refused = 0, []
    for hold_id in holds.order_by("pk").values_list("pk", flat=True):
        try:
            services.release_hold(hold_id=hold_id, reason=reason, actor=_actor(request))
        except DomainError as exc:
            refused.append(exc.message)
        else:
            released += 1
    return released, refused


# --- the holds queue and the timeline --------------------------------------------------


class HoldStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("open", "Open"), ("released", "Released")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any] | None:
        if self.value() == "open":
            return queryset.filter(released_at__isnull=True)
        if self.value() == "released":
            return queryset.filter(released_at__isnull=False)
        return queryset


@admin.register(OrderHold)
class OrderHoldAdmin(OperatorAdminMixin, AppendOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "order",
        "kind",
        "state",
        "reason",
        "placed_at",
        "placed_by_label",
        "released_at",
        "released_by",
    )
    list_select_related = ("order", "released_by")
    list_filter = (HoldStateFilter, "kind")
    date_hierarchy = "placed_at"
    search_fields = ("order__number",)
    search_help_text = "Exact order number."
    change_select_related = ("order", "released_by")
    actions = ("release_selected_holds",)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[OrderHold], search_term: str
    ) -> tuple[QuerySet[OrderHold], bool]:
        term = search_term.strip().upper()
        if not term:
            return queryset, False
        return queryset.filter(order__number=term), False

    @admin.display(description="State")
    def state(self, obj: OrderHold) -> str:
        return "Open" if obj.is_open else "Released"

    def has_release_hold_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(RELEASE_HOLD_PERMISSION)

    @admin.action(description="Release selected holds…", permissions=["release_hold"])
    def release_selected_holds(
        self, request: HttpRequest, queryset: QuerySet[OrderHold]
    ) -> HttpResponse | None:
        def apply(form: forms.Form) -> None:
            open_holds = queryset.filter(released_at__isnull=True)
            released, refused = _release_holds(request, open_holds, form.cleaned_data["reason"])
            _report(request, self, f"Released {released} hold(s).", refused)

        return run_action_with_form(
            self,
            request,
            queryset,
            form_class=ReleaseReasonForm,
            title="Release holds",
            submit_label="Release holds",
            apply=apply,
        )


@admin.register(OrderEvent)
class OrderEventAdmin(OperatorAdminMixin, AppendOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("created", "order", "type", "message", "actor")
    list_select_related = ("order",)
    list_filter = ("type", "actor_kind")
    search_fields = ("order__number",)
    search_help_text = "Exact order number."
    change_select_related = ("order", "actor_user")
    ordering = ("-id",)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[OrderEvent], search_term: str
    ) -> tuple[QuerySet[OrderEvent], bool]:
        term = search_term.strip().upper()
        if not term:
            return queryset, False
        return queryset.filter(order__number=term), False

    @admin.display(description="When", ordering="id")
    def created(self, obj: OrderEvent) -> str:
        return short_datetime(obj.created_at)

    @admin.display(description="By")
    def actor(self, obj: OrderEvent) -> str:
        return obj.actor_display


# --- reference data and API bookkeeping ------------------------------------------------


@admin.register(TaxRate)
class TaxRateAdmin(OperatorAdminMixin, admin.ModelAdmin):
    """Destination tax rates. Orders keep the rate they were placed with, so a change
    here applies to new orders only."""

    list_display = ("country", "region", "rate", "taxes_shipping")
    search_fields = ("country", "region")
    list_filter = ("taxes_shipping",)


@admin.register(IdempotencyKey)
class IdempotencyKeyAdmin(OperatorAdminMixin, AppendOnlyAdminMixin, admin.ModelAdmin):
    """The stored responses to keyed API writes: read-only, for answering "did my
    retry create a second order?"."""

    list_display = ("key", "company", "response_status", "order", "created_at")
    list_select_related = ("company", "order")
    list_filter = ("response_status", "created_at")
    search_fields = ("key", "order__number")
    search_help_text = "Exact idempotency key or order number."
    change_select_related = ("company", "order")
    ordering = ("-id",)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[IdempotencyKey], search_term: str
    ) -> tuple[QuerySet[IdempotencyKey], bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        orders = Order.objects.filter(number=term.upper()).values("pk")
        return queryset.filter(Q(key=term) | Q(order__in=orders)), False
