"""The work queues page (Core > Work queues): what needs someone's attention, each queue
with its count and its oldest items first, every row linking to its order.

- held orders, by kind of hold, with how many and how old the oldest is;
- fulfillment at risk of missing its ship-by date or promise (``fulfillment.sla``);
- exceptions: partner rejections, failed payments, undeliverable shipments;
- backorders waiting for stock;
- the user's saved filters (``core.admin.saved_filters``).

The queues read orders, fulfillment and billing, so the page is assembled here, in the
project app above them all; ``core.models.WorkQueue`` only gives it its place in the
admin index. A queue shows only to those who may see its rows, and warehouse staff
assigned to locations see their locations' fulfillment (``inventory.admin.staff``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Min, Model, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.safestring import SafeString

from core.admin import admin_change_url, admin_changelist_url, render_table, short_datetime
from core.admin.saved_filters import changelist_title, user_id_of
from core.models import SavedFilter, WorkQueue
from core.money import format_money
from fulfillment.admin.fulfillment_orders import AT_RISK_PARAMETER
from fulfillment.models import (
    FulfillmentOrder,
    RequestStatus,
    Shipment,
    ShipmentStatus,
)
from fulfillment.sla import OPEN as OPEN_FULFILLMENT
from inventory.admin.staff import assigned_location_ids, may_see_all_locations
from inventory.models import LocationKind
from orders.models import HoldKind, Order, OrderHold, OrderLine, OrderStatus, PaymentStatus

# Rows shown per queue, oldest first; the full list is one click away.
QUEUE_ROWS = 25
# Counts stop here ("more than 1,000"): a queue's count never scans a whole table.
COUNT_LIMIT = 1000
# Partner rejections stay in the exceptions for this long after they happened.
REJECTION_DAYS = 14
OPEN_ORDERS = (OrderStatus.PLACED, OrderStatus.PROCESSING)
PARTNER_KINDS = (LocationKind.THIRD_PARTY, LocationKind.DROPSHIP_VENDOR)


@dataclass
class Queue:
    """One queue of the page: a title, a count, the oldest rows and the full list."""

    key: str
    title: str
    help: str
    count: int
    table: SafeString
    list_url: str = ""
    summary: SafeString | None = None
    extra: list[Any] = field(default_factory=list)

    @property
    def count_label(self) -> str:
        return f"more than {COUNT_LIMIT:,}" if self.count > COUNT_LIMIT else f"{self.count:,}"


def bounded_count(queryset: QuerySet[Any]) -> int:
    """How many rows, counting no further than ``COUNT_LIMIT + 1``."""
    return queryset.order_by().values("pk")[: COUNT_LIMIT + 1].count()


def age(since: dt.datetime | None, now: dt.datetime) -> str:
    """How long ago, in the largest whole unit: "3 d", "5 h", "12 min"."""
    if since is None:
        return "-"
    seconds = max(int((now - since).total_seconds()), 0)
    if seconds >= 86400:
        return f"{seconds // 86400} d"
    if seconds >= 3600:
        return f"{seconds // 3600} h"
    return f"{seconds // 60} min"


def order_link(order: Order) -> SafeString:
    return format_html('<a href="{}">{}</a>', admin_change_url(order), order.number)


# --- the queues ---------------------------------------------------------------------------


def held_orders_queue(now: dt.datetime) -> Queue:
    open_holds = OrderHold.objects.filter(released_at__isnull=True)
    by_kind = list(
        open_holds.order_by()
        .values("kind")
        .annotate(count=Count("id"), oldest=Min("placed_at"))
        .order_by("oldest")
    )
    labels = dict(HoldKind.choices)
    summary = render_table(
        ("Kind of hold", "Open", "Oldest", "Age of the oldest"),
        (
            (
                format_html(
                    '<a href="{}">{}</a>',
                    admin_changelist_url(
                        OrderHold, urlencode({"state": "open", "kind__exact": row["kind"]})
                    ),
                    labels.get(row["kind"], row["kind"]),
                ),
                f"{row['count']:,}",
                short_datetime(row["oldest"]),
                age(row["oldest"], now),
            )
            for row in by_kind
        ),
    )
    rows = open_holds.select_related("order").order_by("placed_at", "id")[:QUEUE_ROWS]
    table = render_table(
        ("Order", "Hold", "Reason", "Placed", "Age"),
        (
            (
                order_link(hold.order),
                hold.get_kind_display(),
                hold.reason,
                short_datetime(hold.placed_at),
                age(hold.placed_at, now),
            )
            for hold in rows
        ),
    )
    return Queue(
        key="held",
        title="Held orders",
        help="Open holds by kind, the oldest first; release them from the order page.",
        count=sum(row["count"] for row in by_kind),
        summary=summary,
        table=table,
        list_url=admin_changelist_url(OrderHold, "state=open"),
    )


def at_risk_queue(request: HttpRequest, now: dt.datetime) -> Queue:
    # The SLA monitor's flag (``fulfillment.sla``), as the exceptions filter of the
    # fulfillment queue reads it: the link opens the same rows.
    fos = FulfillmentOrder.objects.filter(at_risk_since__isnull=False, status__in=OPEN_FULFILLMENT)
    mine = assigned_location_ids(request)
    if mine and not may_see_all_locations(request):
        fos = fos.filter(location_id__in=mine)
    rows = fos.select_related("order", "location").order_by("ship_by_date", "id")[:QUEUE_ROWS]
    table = render_table(
        ("Order", "Fulfillment order", "Location", "Status", "Ship by", "Promised", "At risk"),
        (
            (
                order_link(fo.order),
                format_html('<a href="{}">{}</a>', admin_change_url(fo), fo.number),
                fo.location.code,
                fo.get_status_display(),
                fo.ship_by_date,
                fo.order.promised_delivery_date or "-",
                age(fo.at_risk_since, now),
            )
            for fo in rows
        ),
    )
    return Queue(
        key="at_risk",
        title="Fulfillment at risk",
        help="Not shipped by its ship-by date, or its order's promised delivery is today "
        "or past; the earliest ship-by date first.",
        count=bounded_count(fos),
        table=table,
        list_url=admin_changelist_url(FulfillmentOrder, f"{AT_RISK_PARAMETER}=yes&queue=all"),
    )


def partner_rejections_queue(request: HttpRequest, now: dt.datetime) -> Queue:
    fos = FulfillmentOrder.objects.filter(
        location__kind__in=PARTNER_KINDS,
        request_status=RequestStatus.REJECTED,
        updated_at__gte=now - dt.timedelta(days=REJECTION_DAYS),
    )
    rows = fos.select_related("order", "location").order_by("updated_at", "id")[:QUEUE_ROWS]
    table = render_table(
        ("Order", "Fulfillment order", "Partner", "Status now", "Rejected"),
        (
            (
                order_link(fo.order),
                format_html('<a href="{}">{}</a>', admin_change_url(fo), fo.number),
                fo.location.code,
                fo.get_status_display(),
                short_datetime(fo.updated_at),
            )
            for fo in rows
        ),
    )
    return Queue(
        key="rejections",
        title="Exceptions: partner rejections",
        help=f"Fulfillment requests a 3PL or dropship vendor rejected in the last "
        f"{REJECTION_DAYS} days: check that the units found another location.",
        count=bounded_count(fos),
        table=table,
        list_url=admin_changelist_url(
            FulfillmentOrder, urlencode({"request_status__exact": "rejected", "queue": "all"})
        ),
    )


def failed_payments_queue(now: dt.datetime) -> Queue:
    orders = Order.objects.filter(payment_status=PaymentStatus.FAILED, status__in=OPEN_ORDERS)
    rows = orders.select_related("customer").order_by("placed_at", "id")[:QUEUE_ROWS]
    table = render_table(
        ("Order", "Customer", "Total", "Placed", "Age"),
        (
            (
                order_link(order),
                order.email,
                format_money(order.grand_total, order.currency),
                short_datetime(order.placed_at),
                age(order.placed_at, now),
            )
            for order in rows
        ),
    )
    return Queue(
        key="payments",
        title="Exceptions: failed payments",
        help="Open orders whose card payment was declined or lapsed: a payment hold waits "
        "for finance and the customer.",
        count=bounded_count(orders),
        table=table,
        list_url=admin_changelist_url(Order, "payment_status__exact=failed"),
    )


def undeliverable_queue(now: dt.datetime) -> Queue:
    shipments = Shipment.objects.filter(status=ShipmentStatus.EXCEPTION)
    rows = shipments.select_related("order", "carrier").order_by("shipped_at", "id")[:QUEUE_ROWS]
    table = render_table(
        ("Order", "Tracking number", "Carrier", "Shipped", "Age"),
        (
            (
                order_link(shipment.order),
                format_html(
                    '<a href="{}">{}</a>',
                    admin_change_url(shipment),
                    shipment.tracking_number or "(none)",
                ),
                shipment.carrier.code if shipment.carrier else "-",
                short_datetime(shipment.shipped_at),
                age(shipment.shipped_at, now),
            )
            for shipment in rows
        ),
    )
    return Queue(
        key="undeliverable",
        title="Exceptions: undeliverable shipments",
        help="Parcels the carrier reports as an exception or delay.",
        count=bounded_count(shipments),
        table=table,
        list_url=admin_changelist_url(Shipment, "status__exact=exception"),
    )


def backorders_queue(now: dt.datetime) -> Queue:
    lines = OrderLine.objects.filter(quantity_backordered__gt=0, order__status__in=OPEN_ORDERS)
    rows = lines.select_related("order").order_by("order__placed_at", "order_id", "line_number")[
        :QUEUE_ROWS
    ]
    table = render_table(
        ("Order", "SKU", "Item", "Backordered", "Placed", "Waiting"),
        (
            (
                order_link(line.order),
                line.sku,
                line.description,
                line.quantity_backordered,
                short_datetime(line.order.placed_at),
                age(line.order.placed_at, now),
            )
            for line in rows
        ),
    )
    return Queue(
        key="backorders",
        title="Backorders waiting for stock",
        help="Order lines with units no location can ship yet; they are routed as stock "
        "arrives. The oldest order first.",
        count=bounded_count(lines),
        table=table,
        list_url=admin_changelist_url(Order, "status__in=placed,processing"),
    )


def saved_filters_table(request: HttpRequest) -> SafeString:
    saved = SavedFilter.objects.filter(user_id=user_id_of(request)).order_by("changelist", "name")
    return render_table(
        ("Name", "List", ""),
        (
            (
                format_html('<a href="{}">{}</a>', f.url, f.name),
                changelist_title(f.changelist),
                format_html('<a href="{}">Edit or delete</a>', admin_change_url(f)),
            )
            for f in saved
        ),
    )


# Which permission shows which queue.
QUEUE_PERMISSIONS = {
    "held": "orders.view_orderhold",
    "at_risk": "fulfillment.view_fulfillmentorder",
    "rejections": "fulfillment.view_fulfillmentorder",
    "payments": "orders.view_order",
    "undeliverable": "fulfillment.view_shipment",
    "backorders": "orders.view_order",
}


def work_queues(request: HttpRequest) -> list[Queue]:
    """The queues the request's user may see, in the page's order."""
    now = timezone.now()
    allowed = {key for key, perm in QUEUE_PERMISSIONS.items() if request.user.has_perm(perm)}
    builders = {
        "held": lambda: held_orders_queue(now),
        "at_risk": lambda: at_risk_queue(request, now),
        "rejections": lambda: partner_rejections_queue(request, now),
        "payments": lambda: failed_payments_queue(now),
        "undeliverable": lambda: undeliverable_queue(now),
        "backorders": lambda: backorders_queue(now),
    }
    return [build() for key, build in builders.items() if key in allowed]


@admin.register(WorkQueue)
class WorkQueueAdmin(admin.ModelAdmin):
    """Core > Work queues: one page, no rows of its own; every staff user sees the queues
    their permissions cover and their own saved filters."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_active and request.user.is_staff)

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return self.has_module_permission(request) and obj is None

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        queues = work_queues(request)
        opts = self.model._meta
        context = {
            **self.admin_site.each_context(request),
            "opts": opts,
            "app_label": opts.app_label,
            "title": "Work queues",
            "queues": queues,
            "saved_filters": saved_filters_table(request),
            "saved_filters_url": admin_changelist_url(SavedFilter),
            **(extra_context or {}),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/oms/work_queues.html", context)
