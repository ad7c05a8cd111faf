"""Each location's work queue of fulfillment orders.

Fulfillment orders are written only by services, so their page is read-only; the work
on one (accept, ship, mark ready, hand over, reject, print) happens through the buttons
on its page: each a ``ServiceForm`` of ``fulfillment.forms`` behind its own permission
that calls one service of ``fulfillment.operations``.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode

from core.admin import (
    OperatorAdminMixin,
    ReadOnlyInlineMixin,
    ServiceForm,
    ServicePagesMixin,
    admin_changelist_url,
    render_form_page,
    render_table,
    short_datetime,
)
from core.preferences import format_date
from inventory.admin.location_scope import LocationScopeFilter, scope_to_locations
from inventory.admin.staff import assigned_location_ids, may_see_all_locations
from orders.models import Order

from ..documents import packing_slip_pdf, pick_list_pdf
from ..forms import (
    FULFILLMENT_ACTIONS,
    WORK_PERMISSION,
    FulfillmentActionForm,
    PickListForm,
    customization_text,
)
from ..models import (
    FulfillmentOrder,
    FulfillmentOrderLine,
    FulfillmentStatus,
    RequestStatus,
    Shipment,
    TrackingEvent,
)
from .links import link_to, tracking_link

# Tracking events shown on a fulfillment order's page (newest first).
TRACKING_ROWS = 100
# The filter parameter of the exceptions queue (fulfillment orders at risk).
AT_RISK_PARAMETER = "at_risk"
# The colour of each status's pill on the queue (``static/oms/warehouse.css``): work to
# do, work stopped, work done; the others plain.
STATUS_TONES: dict[str, str] = {
    FulfillmentStatus.OPEN: "todo",
    FulfillmentStatus.IN_PROGRESS: "todo",
    FulfillmentStatus.ON_HOLD: "stopped",
    FulfillmentStatus.INCOMPLETE: "stopped",
    FulfillmentStatus.CLOSED: "done",
}


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
        return tracking_link(obj)


@admin.register(FulfillmentOrder)
class FulfillmentOrderAdmin(ServicePagesMixin, OperatorAdminMixin, admin.ModelAdmin):
    """Each location's work queue, oldest ship-by date first."""

    # The buttons of a fulfillment order's page: one ``ServiceForm`` page each.
    service_pages = FULFILLMENT_ACTIONS

    # Seven narrow columns beside the menu and the filters at 1366 px: the status and
    # the partner's answer share one pill, pickup and at risk are badges of one column
    # (shown only on the rows they are true of), dates are dates.
    list_display = (
        "number",
        "order_link",
        "location_code",
        "state",
        "ship_by",
        "flags",
        "created",
    )
    list_select_related = ("order", "location")
    list_filter = (
        WorkQueueFilter,
        LocationScopeFilter,
        "location",
        "status",
        "request_status",
        "is_pickup",
        ExceptionsQueueFilter,
    )
    # Sorting by an unindexed column is a full sort of the table; these walk an index
    # (``created`` sorts by id, which grows with time).
    sortable_by = ("number", "ship_by", "created")
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

    def get_queryset(self, request: HttpRequest) -> QuerySet[FulfillmentOrder]:
        # Assigned staff who may not see every location see only their locations' work,
        # on the list and behind a typed URL alike.
        return scope_to_locations(request, super().get_queryset(request))

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
        return link_to(obj.order)

    @admin.display(description="Location", ordering="location__code")
    def location_code(self, obj: FulfillmentOrder) -> str:
        return obj.location.code

    @admin.display(description="At risk", boolean=True)
    def at_risk(self, obj: FulfillmentOrder) -> bool:
        return obj.at_risk_since is not None

    @admin.display(description="Status")
    def state(self, obj: FulfillmentOrder) -> str:
        """The status as a pill; under it, in small print, a 3PL's or dropship vendor's
        answer to the request (submitted, accepted, rejected). Work at the location's
        own stock needs no request and says nothing more."""
        tone = STATUS_TONES.get(obj.status, "")
        pill = format_html(
            '<span class="wh-pill{}">{}</span>',
            f" wh-pill-{tone}" if tone else "",
            obj.get_status_display(),
        )
        if obj.request_status == RequestStatus.NOT_REQUIRED:
            return pill
        return format_html(
            '{}<span class="wh-pill-caption">{}</span>',
            pill,
            f"partner {obj.get_request_status_display().lower()}",
        )

    @admin.display(description="Ship by", ordering="ship_by_date")
    def ship_by(self, obj: FulfillmentOrder) -> str:
        return format_date(obj.ship_by_date)

    @admin.display(description="Flags", empty_value="")
    def flags(self, obj: FulfillmentOrder) -> str:
        """Badges on the rows that need a second look, nothing on the others: a pickup
        goes to the counter, not the dock; work at risk of missing its SLA since when."""
        badges = []
        if obj.is_pickup:
            badges.append(
                format_html(
                    '<span class="wh-badge wh-badge-pickup" title="{}">{}</span>',
                    "Store pickup: staged at the counter, not shipped",
                    "Pickup",
                )
            )
        if obj.at_risk_since is not None:
            badges.append(
                format_html(
                    '<span class="wh-badge wh-badge-risk" title="{}">{}</span>',
                    f"At risk of missing its SLA since {short_datetime(obj.at_risk_since)}",
                    "At risk",
                )
            )
        return format_html_join("", "{}", ((badge,) for badge in badges))

    @admin.display(description="Created", ordering="id")
    def created(self, obj: FulfillmentOrder) -> str:
        # The day in the column, the time on hover: a queue is worked by the day.
        return format_html(
            '<span title="{}">{}</span>',
            short_datetime(obj.created_at),
            format_date(obj.created_at),
        )

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
            mine = assigned_location_ids(request)
            if not location and len(mine) == 1:
                location = str(mine[0])
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
            link_to(fo.order),
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
            form = _pick_list_form_for(request, request.POST)
            if form.is_valid():
                query = urlencode({"location": form.cleaned_data["location"].pk})
                return HttpResponseRedirect(f"{request.path}?{query}")
        elif "location" in request.GET:
            form = _pick_list_form_for(request, request.GET)
            if form.is_valid():
                location = form.cleaned_data["location"]
                return _pdf_response(pick_list_pdf(location), f"pick-list-{location.code}.pdf")
        else:
            form = _pick_list_form_for(request, None)
        return render_form_page(
            self, request, form=form, title="Pick list", submit_label="Print pick list (PDF)"
        )


def _pick_list_form_for(request: HttpRequest, data: Any) -> PickListForm:
    form = PickListForm(data)
    mine = assigned_location_ids(request)
    if mine and not may_see_all_locations(request):
        field = form.fields["location"]
        field.queryset = field.queryset.filter(pk__in=mine)  # type: ignore[attr-defined]
        # A picker of one location has nothing to choose: it is chosen for them.
        if len(mine) == 1:
            field.initial = mine[0]
    return form


def _pdf_response(pdf: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    return response
