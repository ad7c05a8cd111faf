"""Operator console for fulfillment: each location's work queue, shipments and tracking,
the routing recipe and its decisions, carriers and shipping methods.

Fulfillment orders, shipments, tracking events and routing decisions are written only by
services, so they are read-only here. The work on a fulfillment order (accept, ship,
mark ready, hand over, reject, print) happens through the buttons on its page: each is a
form of ``fulfillment.forms`` behind its own permission that calls one service of
``fulfillment.operations``.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.forms import BaseModelFormSet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.http import urlencode
from simple_history.admin import SimpleHistoryAdmin

from oms.core.admin import (
    AppendOnlyAdminMixin,
    OperatorAdminMixin,
    OrderNumberSearchMixin,
    ReadOnlyInlineMixin,
    ServiceForm,
    ServicePagesMixin,
    admin_change_url,
    admin_changelist_url,
    render_form_page,
    render_table,
    short_datetime,
)
from orders.models import Order

from .documents import packing_slip_pdf, pick_list_pdf
from .forms import (
    FULFILLMENT_ACTIONS,
    WORK_PERMISSION,
    CarrierAdminForm,
    FulfillmentActionForm,
    PickListForm,
    RoutingRuleForm,
    RoutingRuleListFormSet,
    customization_text,
    mask_secret,
)
from .models import (
    Carrier,
    FulfillmentOrder,
    FulfillmentOrderLine,
    FulfillmentStatus,
    RoutingDecision,
    RoutingRule,
    Shipment,
    ShipmentLine,
    ShippingMethod,
    TrackingEvent,
)

# Tracking events shown on a fulfillment order's page (newest first).
TRACKING_ROWS = 100
# Tracking events shown on a shipment's page.
SHIPMENT_EVENT_ROWS = 200
# The filter parameter of the exceptions queue (fulfillment orders at risk).
AT_RISK_PARAMETER = "at_risk"


def _link(obj: Any, label: str | None = None) -> str:
    if obj is None:
        return "-"
    return format_html('<a href="{}">{}</a>', admin_change_url(obj), label or str(obj))


# --- carriers and shipping methods ----------------------------------------------------


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
            (None, {"fields": ("code", "name", "tracking_url_template", "is_active")}),
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


# --- routing ------------------------------------------------------------------------------


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
        return _link(obj.order)

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


# --- fulfillment orders: the work queue ------------------------------------------------------


class ExceptionsQueueFilter(admin.SimpleListFilter):
    """The SLA monitor's exceptions queue: fulfillment orders flagged at risk."""

    title = "exceptions queue"
    parameter_name = AT_RISK_PARAMETER

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "At risk"), ("no", "On track")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any] | None:
        if self.value() == "yes":
            return queryset.filter(at_risk_since__isnull=False)
        if self.value() == "no":
            return queryset.filter(at_risk_since__isnull=True)
        return queryset


class WorkQueueFilter(admin.SimpleListFilter):
    """What the queue opens on: the work that can be done now. Held fulfillment orders
    (their order is on hold) leave it for their own list until the hold is released."""

    title = "queue"
    parameter_name = "queue"
    TO_WORK = (FulfillmentStatus.OPEN, FulfillmentStatus.IN_PROGRESS)
    DONE = (FulfillmentStatus.CLOSED, FulfillmentStatus.CANCELLED, FulfillmentStatus.INCOMPLETE)

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [
            ("work", "To work (open, in progress)"),
            ("held", "On hold"),
            ("done", "Done (closed, cancelled)"),
            ("all", "All"),
        ]

    def value(self) -> str | None:
        value = super().value()
        # A status picked in the status filter, or a search for one number, speaks for
        # itself; otherwise the queue opens on the work to do.
        if value is None and not {"status__exact", "q"} & self.used_parameters_all:
            return "work"
        return value

    def __init__(self, request: HttpRequest, params: Any, model: Any, model_admin: Any) -> None:
        self.used_parameters_all = set(request.GET)
        super().__init__(request, params, model, model_admin)

    def choices(self, changelist: Any) -> Any:
        current = self.value()
        for lookup, title in self.lookup_choices:
            yield {
                "selected": current == lookup,
                "query_string": changelist.get_query_string(
                    {self.parameter_name: lookup}, ["status__exact"]
                ),
                "display": title,
            }

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any] | None:
        value = self.value()
        if value == "work":
            return queryset.filter(status__in=self.TO_WORK)
        if value == "held":
            return queryset.filter(status=FulfillmentStatus.ON_HOLD)
        if value == "done":
            return queryset.filter(status__in=self.DONE)
        return queryset


class FulfillmentOrderLineInline(ReadOnlyInlineMixin, admin.TabularInline):
    model = FulfillmentOrderLine
    verbose_name = "line"
    verbose_name_plural = "lines"
    fields = (
        "sku",
        "description",
        "customization",
        "quantity",
        "open_quantity",
        "quantity_shipped",
        "quantity_rejected",
        "quantity_cancelled",
    )
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[FulfillmentOrderLine]:
        return super().get_queryset(request).select_related("order_line")

    @admin.display(description="SKU")
    def sku(self, obj: FulfillmentOrderLine) -> str:
        return obj.order_line.sku

    @admin.display(description="Item")
    def description(self, obj: FulfillmentOrderLine) -> str:
        return obj.order_line.description

    @admin.display(description="Customization")
    def customization(self, obj: FulfillmentOrderLine) -> str:
        return customization_text(obj.order_line.customization) or "-"

    @admin.display(description="Open")
    def open_quantity(self, obj: FulfillmentOrderLine) -> int:
        return obj.quantity_open


class FulfillmentShipmentInline(ReadOnlyInlineMixin, admin.TabularInline):
    model = Shipment
    fk_name = "fulfillment_order"
    fields = (
        "tracking",
        "carrier",
        "service_level",
        "status",
        "shipped_at",
        "delivered_at",
    )
    readonly_fields = fields
    show_change_link = True

    def get_queryset(self, request: HttpRequest) -> QuerySet[Shipment]:
        return super().get_queryset(request).select_related("carrier")

    @admin.display(description="Tracking number")
    def tracking(self, obj: Shipment) -> str:
        return _tracking_link(obj)


def _tracking_link(shipment: Shipment) -> str:
    if not shipment.tracking_number:
        return "-"
    url = shipment.tracking_url
    if not url:
        return shipment.tracking_number
    return format_html(
        '<a href="{}" target="_blank" rel="noopener noreferrer">{}</a>',
        url,
        shipment.tracking_number,
    )


@admin.register(FulfillmentOrder)
class FulfillmentOrderAdmin(ServicePagesMixin, OperatorAdminMixin, admin.ModelAdmin):
    """Each location's work queue, oldest ship-by date first."""

    # The buttons of a fulfillment order's page: one ``ServiceForm`` page each.
    service_pages = FULFILLMENT_ACTIONS

    list_display = (
        "number",
        "order_link",
        "location_code",
        "status",
        "request_status",
        "ship_by_date",
        "is_pickup",
        "at_risk",
        "created",
    )
    list_select_related = ("order", "location")
    list_filter = (
        WorkQueueFilter,
        "location",
        "status",
        "request_status",
        "is_pickup",
        ExceptionsQueueFilter,
    )
    # Sorting by an unindexed column is a full sort of the table; these walk an index
    # (``created`` sorts by id, which grows with time).
    sortable_by = ("number", "ship_by_date", "created")
    ordering = ("ship_by_date", "id")
    search_fields = ("number", "order__number")
    search_help_text = "Exact fulfillment order or order number."
    change_select_related = ("order__shipping_method__carrier", "location")
    fieldsets = (
        (
            None,
            {
                "fields": (
                    ("number", "status"),
                    ("order_link", "request_status"),
                    "location",
                    "hold_reason",
                )
            },
        ),
        (
            "Delivery",
            {
                "fields": (
                    "ship_to",
                    "shipping_method",
                    "ship_by_date",
                    "at_risk_since",
                    "pickup_state",
                )
            },
        ),
        ("Tracking", {"fields": ("tracking_events",)}),
        ("Record", {"fields": ("created_at", "updated_at", "closed_at")}),
    )
    # The pickup code is deliberately not shown: the customer proves who they are by
    # giving it at the counter.
    readonly_fields = (
        "order_link",
        "ship_to",
        "shipping_method",
        "pickup_state",
        "tracking_events",
    )
    inlines = (FulfillmentOrderLineInline, FulfillmentShipmentInline)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    # Every change goes through an operation: the page is read-only and its buttons act.
    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[FulfillmentOrder], search_term: str
    ) -> tuple[QuerySet[FulfillmentOrder], bool]:
        term = search_term.strip().upper()
        if not term:
            return queryset, False
        # A UNION of two index lookups (the unique numbers), not an OR across a join,
        # which PostgreSQL would answer by scanning the table.
        fos = FulfillmentOrder.objects.order_by()
        matching = (
            fos.filter(number=term)
            .values("pk")
            .union(fos.filter(order__number=term).values("pk"), all=True)
        )
        return queryset.filter(pk__in=matching), False

    # --- columns and read-only fields ---

    @admin.display(description="Order")
    def order_link(self, obj: FulfillmentOrder) -> str:
        return _link(obj.order)

    @admin.display(description="Location", ordering="location__code")
    def location_code(self, obj: FulfillmentOrder) -> str:
        return obj.location.code

    @admin.display(description="At risk", boolean=True)
    def at_risk(self, obj: FulfillmentOrder) -> bool:
        return obj.at_risk_since is not None

    @admin.display(description="Created", ordering="id")
    def created(self, obj: FulfillmentOrder) -> str:
        return short_datetime(obj.created_at)

    @admin.display(description="Ship to")
    def ship_to(self, obj: FulfillmentOrder) -> str:
        order: Order = obj.order
        if obj.is_pickup:
            return f"Pickup at {obj.location.code} by {order.ship_name}"
        return f"{order.ship_name}, {order.ship_to_one_line}"

    @admin.display(description="Shipping method")
    def shipping_method(self, obj: FulfillmentOrder) -> str:
        method = obj.order.shipping_method
        carrier = f" ({method.carrier.code})" if method.carrier else ""
        return f"{method.name}{carrier}"

    @admin.display(description="Pickup")
    def pickup_state(self, obj: FulfillmentOrder) -> str:
        if not obj.is_pickup:
            return "-"
        if obj.ready_for_pickup_at is None:
            return "Not ready yet"
        return f"Ready since {short_datetime(obj.ready_for_pickup_at)}"

    @admin.display(description="Tracking events (most recent first)")
    def tracking_events(self, obj: FulfillmentOrder) -> str:
        events = (
            TrackingEvent.objects.filter(shipment__fulfillment_order=obj)
            .select_related("shipment")
            .order_by("-occurred_at", "-id")[:TRACKING_ROWS]
        )
        return render_table(
            ("When", "Tracking number", "Status", "Description", "Where"),
            (
                (
                    short_datetime(e.occurred_at),
                    e.shipment.tracking_number,
                    e.get_status_display(),
                    e.description,
                    e.location,
                )
                for e in events
            ),
        )

    # --- buttons: one page per action (``service_pages``), each behind its permission ---

    def get_urls(self) -> list[URLPattern]:
        return [
            path(
                "pick-list/",
                self.admin_site.admin_view(self.pick_list_view),
                name=self.page_url_name("pick-list"),
            ),
            path(
                "<path:object_id>/packing-slip/",
                self.admin_site.admin_view(self.packing_slip_view),
                name=self.page_url_name("packing-slip"),
            ),
            *super().get_urls(),
        ]

    def _tools_for(self, request: HttpRequest, fo: FulfillmentOrder) -> list[dict[str, str]]:
        tools = self.service_tools(request, fo)
        if request.user.has_perm(WORK_PERMISSION):
            url = reverse(f"admin:{self.page_url_name('packing-slip')}", args=[fo.pk])
            tools.append({"url": url, "title": "Packing slip (PDF)"})
        return tools

    def render_change_form(  # noqa: PLR0917 - Django's signature
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Any = None,
    ) -> HttpResponse:
        context["fulfillment_tools"] = self._tools_for(request, obj) if obj is not None else []
        return super().render_change_form(request, context, add, change, form_url, obj)

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        tools = [
            {
                "url": admin_changelist_url(FulfillmentOrder, f"{AT_RISK_PARAMETER}=yes"),
                "title": "Exceptions queue",
            }
        ]
        if request.user.has_perm(WORK_PERMISSION):
            location = request.GET.get("location__id__exact", "")
            url = reverse(f"admin:{self.page_url_name('pick-list')}")
            query = f"?{urlencode({'location': location})}" if location.isdigit() else ""
            tools.append({"url": url + query, "title": "Pick list (PDF)"})
        extra = {**(extra_context or {}), "fulfillment_tools": tools}
        return super().changelist_view(request, extra)

    def _fo_for(self, request: HttpRequest, object_id: str, permission: str) -> FulfillmentOrder:
        fo = self.get_object(request, unquote(object_id))
        if fo is None:
            raise Http404("No such fulfillment order.")
        if not (self.has_view_permission(request, fo) and request.user.has_perm(permission)):
            raise PermissionDenied
        assert isinstance(fo, FulfillmentOrder)  # noqa: S101 - narrows the type
        return fo

    def _summary(self, fo: FulfillmentOrder, lines: list[FulfillmentOrderLine]) -> str:
        table = render_table(
            ("SKU", "Item", "Customization", "Quantity", "Open", "Shipped", "Rejected"),
            (
                (
                    line.order_line.sku,
                    line.order_line.description,
                    customization_text(line.order_line.customization),
                    line.quantity,
                    line.quantity_open,
                    line.quantity_shipped,
                    line.quantity_rejected,
                )
                for line in lines
            ),
        )
        return format_html(
            "<p>Fulfillment order <strong>{}</strong> of order {} at {} — {}, ship by {}.</p>"
            "<p>{}: {}</p>{}",
            fo.number,
            _link(fo.order),
            fo.location,
            fo.get_status_display(),
            fo.ship_by_date,
            "Pickup" if fo.is_pickup else "Ship to",
            self.ship_to(fo),
            table,
        )

    def get_service_form_kwargs(
        self, request: HttpRequest, obj: Any, form_class: type[ServiceForm]
    ) -> dict[str, Any]:
        return {"lines": list(obj.lines.select_related("order_line").order_by("id"))}

    def service_page_summary(self, request: HttpRequest, form: ServiceForm) -> str:
        assert isinstance(form, FulfillmentActionForm)  # noqa: S101 - narrows the type
        return self._summary(form.fo, form.lines)

    def packing_slip_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        fo = self._fo_for(request, object_id, WORK_PERMISSION)
        return _pdf_response(packing_slip_pdf(fo), f"packing-slip-{fo.number}.pdf")

    def pick_list_view(self, request: HttpRequest) -> HttpResponse:
        if not (self.has_view_permission(request) and request.user.has_perm(WORK_PERMISSION)):
            raise PermissionDenied
        if request.method == "POST":
            form = PickListForm(request.POST)
            if form.is_valid():
                query = urlencode({"location": form.cleaned_data["location"].pk})
                return HttpResponseRedirect(f"{request.path}?{query}")
        elif "location" in request.GET:
            form = PickListForm(request.GET)
            if form.is_valid():
                location = form.cleaned_data["location"]
                return _pdf_response(pick_list_pdf(location), f"pick-list-{location.code}.pdf")
        else:
            form = PickListForm()
        return render_form_page(
            self, request, form=form, title="Pick list", submit_label="Print pick list (PDF)"
        )


def _pdf_response(pdf: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


# --- shipments and tracking -----------------------------------------------------------------


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
        return _tracking_link(obj)

    @admin.display(description="Order")
    def order_link(self, obj: Shipment) -> str:
        return _link(obj.order)

    @admin.display(description="Fulfillment order")
    def fo_link(self, obj: Shipment) -> str:
        return _link(obj.fulfillment_order)

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
        return _tracking_link(obj.shipment)

    # Ids grow with arrival, so sorting by id is sorting by the time received.
    @admin.display(description="Received", ordering="id")
    def received(self, obj: TrackingEvent) -> str:
        return short_datetime(obj.received_at)
