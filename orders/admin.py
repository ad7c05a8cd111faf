"""Operator console for orders: find one, read its whole story, act on it.

Orders are read-only here. Every change is one service call behind its own
permission, from a button on the order page, a changelist action or a page of the
changelist, each asking for its input (and a reason where one is kept) first:

- holds: ``fulfillment.holds.place_order_hold`` / ``release_order_hold`` (the order's
  fulfillment orders follow its holds); each kind of hold has its own release permission;
- drafts placed on a customer's behalf: ``orders.drafts`` (create, reserve, submit);
- cancellation and edits of placed orders: ``orders.changes``;
- file imports: ``orders.imports`` (a dry run, then the real run of the same file).

A refused call (``DomainError``) comes back as a form error or an error message and
changes nothing: every service validates first and runs in one transaction.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import hashlib
import io
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, URLPattern, path, reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from customers.models import Address, AddressKind, Customer
from fulfillment import holds as hold_workflows
from fulfillment import rerouting
from fulfillment.models import (
    FulfillmentOrder,
    FulfillmentOrderLine,
    RoutingDecision,
    Shipment,
    TrackingEvent,
)
from inventory.models import NetworkReservation, Product, ReservationStatus
from inventory.selectors import SkuAvailability, get_network_availability
from oms.core.actors import Actor
from oms.core.admin import (
    AppendOnlyAdminMixin,
    ConfirmForm,
    OperatorAdminMixin,
    OrderNumberSearchMixin,
    ReadOnlyInlineMixin,
    admin_change_url,
    admin_changelist_url,
    count_of,
    refusal_of,
    render_form_page,
    render_table,
    report_outcome,
    run_action_with_form,
    short_datetime,
)
from oms.core.errors import DomainError
from oms.core.money import format_money
from oms.models import Notification

from . import changes, drafts, services
from .forms import (
    ADDRESS_ERROR_FIELDS,
    CANCEL_LINES_PREFIX,
    DRAFT_LINES_PREFIX,
    AddLineForm,
    CancelLineFormSet,
    CancelReasonForm,
    ChangeQuantityForm,
    DraftLineFormSet,
    DraftOrderForm,
    OrderImportForm,
    ShippingAddressForm,
    ShippingMethodForm,
    add_domain_error,
    address_initial,
    channel_for,
    find_customer,
)
from .imports import (
    ADDRESS_COLUMNS,
    ORDER_COLUMNS,
    REQUIRED_COLUMNS,
    ImportReport,
    import_orders,
    read_dataset,
)
from .models import (
    HOLD_RELEASE_PERMISSIONS,
    HOLD_RELEASED_BY,
    HoldKind,
    IdempotencyKey,
    Order,
    OrderEvent,
    OrderHold,
    OrderLine,
    OrderStatus,
    TaxRate,
)
from .placement import OrderRequest, build_order, promise_order

# Timeline entries shown on an order's page (oldest of the newest N first).
TIMELINE_ROWS = 200

PLACE_HOLD_PERMISSION = "orders.place_hold"
PLACE_ON_BEHALF_PERMISSION = "orders.place_order_on_behalf"
CANCEL_PERMISSION = "orders.cancel_order"
EDIT_PERMISSION = "orders.edit_placed_order"

# What an order's page shows of its fulfillment, newest first; each is one query (two
# with its prefetch), whatever the counts.
FULFILLMENT_ORDER_ROWS = 50
SHIPMENT_ROWS = 50
TRACKING_EVENTS_PER_SHIPMENT = 10
ROUTING_DECISIONS = 5  # the latest in full, the ones before it collapsed
NOTIFICATION_ROWS = 50

# Orders that can still be cancelled or edited (``orders.changes.OPEN``).
OPEN_STATUSES = (OrderStatus.PLACED, OrderStatus.PROCESSING)

# The draft page's first fields, and the empty line rows "Check" adds once all are used.
DRAFT_MAIN_FIELDS = ("customer", "shipping_method", "pickup_location")
DRAFT_EXTRA_ROWS = 3

# Uploaded import files wait here between the dry run and the real run.
IMPORT_STAGING_DIR = "order-imports"
IMPORT_SESSION_KEY = "orders_import"
IMPORT_STAGING_MAX_AGE = dt.timedelta(days=1)


def _actor(request: HttpRequest) -> Actor:
    return Actor.for_user(request.user)


def _promised(order: Order) -> str:
    """The end of a change-of-destination message: the delivery promise it now has."""
    promised = order.promised_delivery_date
    return f"; delivery promised by {promised.isoformat()}." if promised else "."


def _open_holds(order: Order) -> QuerySet[OrderHold]:
    return OrderHold.objects.filter(order=order, released_at__isnull=True).order_by("placed_at")


def _releasable_kinds(user: Any) -> list[str]:
    """The kinds of hold ``user``'s role may release."""
    return [kind for kind in HoldKind.values if services.may_release_hold(user, kind)]


def _may_release_any(user: Any) -> bool:
    return any(user.has_perm(perm) for perm in HOLD_RELEASE_PERMISSIONS.values())


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

    def __init__(self, *args: Any, order: Order, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Only this order's open holds of the kinds this user may release can be
        # picked, so a stale or forged id is a plain "select a valid choice" error.
        self.fields["hold"].queryset = _open_holds(order).filter(  # type: ignore[attr-defined]
            kind__in=_releasable_kinds(user)
        )


class ReleaseHoldsForm(forms.Form):
    """Bulk release: which kind of hold, and why."""

    kind = forms.ChoiceField(choices=[("", "Every open hold"), *HoldKind.choices], required=False)
    reason = HoldReasonField(label="Release reason")


class ReleaseReasonForm(forms.Form):
    reason = HoldReasonField(label="Release reason")


def _report(
    request: HttpRequest,
    model_admin: admin.ModelAdmin,
    *,
    done: int,
    done_message: str,
    refused: list[str],
    nothing_message: str,
) -> None:
    report_outcome(
        model_admin,
        request,
        done=done,
        done_message=done_message,
        refused=refused,
        nothing_message=nothing_message,
    )


# --- inlines ----------------------------------------------------------------------------


class OrderLineInline(ReadOnlyInlineMixin, admin.TabularInline):
    model = OrderLine
    verbose_name = "line"
    verbose_name_plural = "lines"
    # Short captions for the table, and money as money; the line total counts the live
    # units only (cancelled ones are not charged), as the order's subtotal does.
    fields = (
        "line",
        "sku",
        "description",
        "price",
        "ordered",
        "cancelled",
        "open_quantity",
        "backordered",
        "allocated",
        "shipped",
        "delivered",
        "return_requested",
        "returned",
        "discount",
        "tax",
        "total",
    )
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[OrderLine]:
        return super().get_queryset(request).select_related("order")

    @admin.display(description="Line")
    def line(self, obj: OrderLine) -> int:
        return obj.line_number

    @admin.display(description="Unit price")
    def price(self, obj: OrderLine) -> str:
        return format_money(obj.unit_price, obj.order.currency)

    @admin.display(description="Ordered")
    def ordered(self, obj: OrderLine) -> int:
        return obj.quantity_ordered

    @admin.display(description="Cancelled")
    def cancelled(self, obj: OrderLine) -> int:
        return obj.quantity_cancelled

    @admin.display(description="Open")
    def open_quantity(self, obj: OrderLine) -> int:
        return obj.quantity_open

    @admin.display(description="Backordered")
    def backordered(self, obj: OrderLine) -> int:
        return obj.quantity_backordered

    @admin.display(description="Allocated")
    def allocated(self, obj: OrderLine) -> int:
        return obj.quantity_allocated

    @admin.display(description="Shipped")
    def shipped(self, obj: OrderLine) -> int:
        return obj.quantity_shipped

    @admin.display(description="Delivered")
    def delivered(self, obj: OrderLine) -> int:
        return obj.quantity_delivered

    @admin.display(description="Return requested")
    def return_requested(self, obj: OrderLine) -> int:
        return obj.quantity_return_requested

    @admin.display(description="Returned")
    def returned(self, obj: OrderLine) -> int:
        return obj.quantity_returned

    @admin.display(description="Discount")
    def discount(self, obj: OrderLine) -> str:
        return format_money(obj.discount_total, obj.order.currency)

    @admin.display(description="Tax")
    def tax(self, obj: OrderLine) -> str:
        return format_money(obj.tax_total, obj.order.currency)

    @admin.display(description="Line total")
    def total(self, obj: OrderLine) -> str:
        return format_money(obj.live_total, obj.order.currency)


class OrderHoldInline(ReadOnlyInlineMixin, admin.TabularInline):
    model = OrderHold
    fields = (
        "kind",
        "state",
        "reason",
        "placed_at",
        "placed_by",
        "released_at",
        "releaser",
        "release_reason",
    )
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[OrderHold]:
        return super().get_queryset(request).select_related("order", "released_by")

    @admin.display(description="State")
    def state(self, obj: OrderHold) -> str:
        if obj.is_open:
            return f"Open: released by {HOLD_RELEASED_BY[obj.kind]}"
        return "Released"

    @admin.display(description="Released by")
    def releaser(self, obj: OrderHold) -> str:
        if obj.is_open:
            return ""
        return obj.released_by_label or (obj.released_by.get_username() if obj.released_by else "")

    @admin.display(description="Placed by")
    def placed_by(self, obj: OrderHold) -> str:
        return obj.placed_by_label


class OrderEventInline(ReadOnlyInlineMixin, admin.TabularInline):
    model = OrderEvent
    fk_name = "order"
    verbose_name = "timeline entry"
    verbose_name_plural = "timeline"
    fields = ("created_at", "type", "message", "changes", "actor")
    readonly_fields = fields
    max_rows = TIMELINE_ROWS
    newest_first = ("-created_at", "-id")

    def get_queryset(self, request: HttpRequest) -> QuerySet[OrderEvent]:
        return super().get_queryset(request).select_related("order")

    @admin.display(description="By")
    def actor(self, obj: OrderEvent) -> str:
        return obj.actor_display

    @admin.display(description="Before → after")
    def changes(self, obj: OrderEvent) -> str:
        return describe_changes(obj.payload, currency=obj.order.currency)


# How the keys of an edit event's ``before``/``after`` read on screen; keys not named
# here read as words ("promised_delivery_date" -> "Promised delivery date").
CHANGE_LABELS = {
    "grand_total": "Total",
    "shipping_total": "Shipping",
    "tax_total": "Tax",
    "unit_price": "Unit price",
    "line": "Line",
    "lines": "Lines",
    "name": "Recipient",
}
MONEY_KEYS = {"grand_total", "shipping_total", "tax_total", "subtotal", "unit_price", "line_total"}


def _change_label(key: str) -> str:
    return CHANGE_LABELS.get(key, key.replace("_", " ").capitalize())


def _change_value(key: str, value: Any, currency: str) -> str:
    if value is None or value == "":
        return "–"
    if key in MONEY_KEYS and isinstance(value, (str, int)):
        with contextlib.suppress(ValueError):
            return format_money(value, currency)
    return str(value)


def _cancelled_line(key: str) -> str:
    """A cancellation payload's ``"MUG-RED#1"`` as ``line 1 (MUG-RED)``."""
    sku, _, number = str(key).rpartition("#")
    return f"line {number} ({sku})" if sku and number.isdigit() else str(key)


def describe_changes(payload: Any, *, currency: str = "USD") -> str:
    """The ``before``/``after`` of an edit event as "Field: old → new; …" (only what
    changed, money as money), or the lines of a cancellation; empty for other events."""
    if not isinstance(payload, dict):
        return ""
    before, after = payload.get("before"), payload.get("after")
    if isinstance(before, dict) and isinstance(after, dict):
        keys = [*before, *(k for k in after if k not in before)]
        return "; ".join(
            f"{_change_label(key)}: {_change_value(key, before.get(key), currency)} → "
            f"{_change_value(key, after.get(key), currency)}"
            for key in keys
            if before.get(key) != after.get(key)
        )
    lines = payload.get("lines")
    if "grand_total_after" in payload and isinstance(lines, dict):
        cancelled = ", ".join(f"{_cancelled_line(key)} × {qty}" for key, qty in lines.items())
        total_before = _change_value("grand_total", payload.get("grand_total_before"), currency)
        total_after = _change_value("grand_total", payload["grand_total_after"], currency)
        return f"Cancelled {cancelled}; total: {total_before} → {total_after}"
    return ""


# --- live availability and the draft check -----------------------------------------------


@dataclass(frozen=True)
class LineAvailability:
    """How much of a line's SKU can be had where the order takes it from: the network,
    or the pickup store."""

    available: int
    source: str
    locations: str
    status: str


def _availability_of(
    wanted: dict[str, int],
    *,
    backorderable: set[str],
    pickup_code: str = "",
    extra: dict[str, int] | None = None,
) -> dict[str, LineAvailability]:
    """Live availability per SKU for ``wanted`` units (two queries). ``extra`` adds
    units already held for this order (a draft's own reservation), which the
    network's available-to-promise no longer counts."""
    found: dict[str, SkuAvailability] = {a.sku: a for a in get_network_availability(wanted)}
    extra = extra or {}
    result = {}
    for sku, quantity in wanted.items():
        sku_availability = found.get(sku)
        locations = sku_availability.locations if sku_availability else []
        if pickup_code:
            at_store = next((loc for loc in locations if loc.location_code == pickup_code), None)
            available = at_store.available_to_promise if at_store else 0
            source = pickup_code
        else:
            available = sku_availability.available_to_promise if sku_availability else 0
            source = "network"
        available += extra.get(sku, 0)
        if available >= quantity:
            status = "In stock"
        else:
            short = quantity - max(available, 0)
            status = (
                f"Short by {short}: backordered"
                if sku in backorderable and not pickup_code
                else f"Short by {short}"
            )
        result[sku] = LineAvailability(
            available=available,
            source=source,
            locations=", ".join(
                f"{loc.location_code}: {loc.available_to_promise}" for loc in locations
            )
            or "no stock recorded",
            status=status,
        )
    return result


def _backorderable(products: Iterable[Product], *, company_allows: bool) -> set[str]:
    return {p.sku for p in products if p.allow_backorder or company_allows}


def _demand_by_sku(lines: Iterable[OrderLine]) -> dict[str, int]:
    demand: dict[str, int] = defaultdict(int)
    for line in lines:
        demand[line.sku] += line.quantity_live
    return dict(demand)


def check_draft(order_request: OrderRequest) -> SafeString:
    """What the customer would pay and when it would arrive, with live availability:
    the order priced by ``build_order`` (reads only; raises ``DomainError`` on bad
    input) and promised by ``promise_order``. Nothing is written."""
    order, lines, products = build_order(order_request)
    promise = promise_order(order, now=timezone.now())
    company = order.company
    availability = _availability_of(
        _demand_by_sku(lines),
        backorderable=_backorderable(
            products.values(), company_allows=bool(company and company.allow_backorders)
        ),
        pickup_code=order.pickup_location.code if order.pickup_location else "",
    )
    table = render_table(
        (
            "Line",
            "SKU",
            "Description",
            "Quantity",
            "List price",
            "Customer pays",
            "Line total",
            "Available",
            "Per location",
            "Stock",
        ),
        (
            (
                line.line_number,
                line.sku,
                line.description,
                line.quantity_ordered,
                format_money(line.product.list_price, order.currency),
                format_money(line.unit_price, order.currency),
                format_money(line.line_total, order.currency),
                f"{availability[line.sku].available} ({availability[line.sku].source})",
                availability[line.sku].locations,
                availability[line.sku].status,
            )
            for line in lines
        ),
    )
    return format_html(
        "{}<p>Subtotal {} · shipping {} · tax {} · <strong>total {}</strong></p>"
        "<p>Delivery promise: ships by {}, delivered by <strong>{}</strong> "
        "({} transit day(s), {}).</p>",
        table,
        format_money(order.subtotal, order.currency),
        format_money(order.shipping_total, order.currency),
        format_money(order.tax_total, order.currency),
        format_money(order.grand_total, order.currency),
        promise.ship_by_date,
        promise.delivery_date,
        promise.transit_days,
        order.shipping_method.name,
    )


def draft_lines_table(order: Order) -> SafeString:
    """A draft's lines with live availability and its own reservation (four queries)."""
    lines = list(OrderLine.objects.filter(order=order).select_related("product"))
    reserved: dict[str, int] = defaultdict(int)
    until: dt.datetime | None = None
    for reservation in NetworkReservation.objects.filter(
        reference=order.number, status=ReservationStatus.ACTIVE
    ).select_related("product"):
        reserved[reservation.product.sku] += reservation.quantity
        until = min(until, reservation.expires_at) if until else reservation.expires_at
    company = order.company
    availability = _availability_of(
        _demand_by_sku(lines),
        backorderable=_backorderable(
            (line.product for line in lines),
            company_allows=bool(company and company.allow_backorders),
        ),
        pickup_code=order.pickup_location.code if order.pickup_location else "",
        extra=reserved,
    )
    table = render_table(
        (
            "Line",
            "SKU",
            "Description",
            "Quantity",
            "Unit price",
            "Reserved for this draft",
            "Available",
            "Per location",
            "Stock",
        ),
        (
            (
                line.line_number,
                line.sku,
                line.description,
                line.quantity_ordered,
                format_money(line.unit_price, order.currency),
                reserved.get(line.sku, 0),
                f"{availability[line.sku].available} ({availability[line.sku].source})",
                availability[line.sku].locations,
                availability[line.sku].status,
            )
            for line in lines
        ),
    )
    note = (
        format_html("<p>Stock reserved until {}.</p>", short_datetime(until))
        if until
        else format_html("<p>{}</p>", "No stock reserved: availability is checked on submit.")
    )
    return format_html("{}{}", table, note)


def lines_summary(order: Order, *, with_lines: bool = True) -> SafeString:
    """The order (and its line buckets), on top of a cancel or edit page."""
    rows = order.lines.order_by("line_number") if with_lines else []
    table = render_table(
        (
            "Line",
            "SKU",
            "Description",
            "Unit price",
            "Ordered",
            "Cancelled",
            "Allocated",
            "Shipped",
            "Line total",
        ),
        (
            (
                li.line_number,
                li.sku,
                li.description,
                format_money(li.unit_price, order.currency),
                li.quantity_ordered,
                li.quantity_cancelled,
                li.quantity_allocated,
                li.quantity_shipped,
                format_money(li.live_total, order.currency),
            )
            for li in rows
        ),
    )
    return format_html(
        "<p>Order <strong>{}</strong> of {} — {}, {}; total {}; ships to {} by {}.</p>{}",
        order.number,
        order.customer,
        order.get_status_display(),
        order.get_fulfillment_status_display(),
        format_money(order.grand_total, order.currency),
        order.ship_to_one_line,
        order.shipping_method,
        table if with_lines else "",
    )


def _cancellation_message(order: Order, cancelled_before: dict[int, int]) -> str:
    """What a cancellation did, read back from the lines: the whole order, or which
    units of which lines (also when "cancel everything" left shipped units)."""
    if order.status == OrderStatus.CANCELLED:
        return f"{order.number}: cancelled."
    units = [
        f"line {line.line_number} ({line.sku}) × {cancelled}"
        for line in order.lines.order_by("line_number")
        if (cancelled := line.quantity_cancelled - cancelled_before.get(line.line_number, 0))
    ]
    what = ", ".join(units) if units else "nothing was left to cancel"
    total = format_money(order.grand_total, order.currency)
    return f"{order.number}: cancelled {what}; new total {total}."


# --- the order's fulfillment, for its page ------------------------------------------------


def _link_or_text(obj: Any, text: str) -> SafeString:
    """A link to ``obj``'s admin page when its model has one, else the text."""
    try:
        return format_html('<a href="{}">{}</a>', admin_change_url(obj), text)
    except NoReverseMatch:
        return format_html("{}", text)


def fulfillment_orders_table(order: Order) -> SafeString:
    fos = list(
        FulfillmentOrder.objects.filter(order=order)
        .select_related("location")
        .prefetch_related(
            Prefetch(
                "lines",
                queryset=FulfillmentOrderLine.objects.select_related("order_line").order_by("id"),
            )
        )
        .order_by("-id")[:FULFILLMENT_ORDER_ROWS]
    )
    return render_table(
        ("Number", "Location", "Status", "Request", "Ship by", "Lines"),
        (
            (
                _link_or_text(fo, fo.number),
                fo.location.code,
                fo.get_status_display() + (f" ({fo.hold_reason})" if fo.hold_reason else ""),
                fo.get_request_status_display(),
                fo.ship_by_date,
                format_html_join(
                    "",
                    "<div>{} × {} (shipped {}, cancelled {}, rejected {})</div>",
                    (
                        (
                            li.order_line.sku,
                            li.quantity,
                            li.quantity_shipped,
                            li.quantity_cancelled,
                            li.quantity_rejected,
                        )
                        for li in fo.lines.all()
                    ),
                ),
            )
            for fo in fos
        ),
    )


def shipments_table(order: Order) -> SafeString:
    shipments = list(
        Shipment.objects.filter(order=order)
        .select_related("carrier", "fulfillment_order")
        .prefetch_related(
            Prefetch(
                "events",
                queryset=TrackingEvent.objects.order_by("-occurred_at", "-id")[
                    :TRACKING_EVENTS_PER_SHIPMENT
                ],
                to_attr="recent_events",
            )
        )
        .order_by("-id")[:SHIPMENT_ROWS]
    )

    def tracking(shipment: Shipment) -> SafeString:
        url = shipment.tracking_url
        if url and shipment.tracking_number:
            return format_html(
                '<a href="{}" target="_blank" rel="noopener noreferrer">{}</a>',
                url,
                shipment.tracking_number,
            )
        return format_html("{}", shipment.tracking_number or "-")

    def events(shipment: Shipment) -> SafeString:
        recent: list[TrackingEvent] = getattr(shipment, "recent_events", [])
        if not recent:
            return format_html("{}", "-")
        return format_html_join(
            "",
            "<div>{} · {}{}{}</div>",
            (
                (
                    short_datetime(event.occurred_at),
                    event.get_status_display(),
                    f" — {event.description}" if event.description else "",
                    f" ({event.location})" if event.location else "",
                )
                for event in recent
            ),
        )

    return render_table(
        (
            "Fulfillment order",
            "Carrier",
            "Service",
            "Tracking number",
            "Status",
            "Shipped",
            "Delivered",
            "Tracking events (latest first)",
        ),
        (
            (
                s.fulfillment_order.number,
                s.carrier.name if s.carrier else "-",
                s.get_service_level_display(),
                tracking(s),
                s.get_status_display(),
                short_datetime(s.shipped_at),
                short_datetime(s.delivered_at),
                events(s),
            )
            for s in shipments
        ),
    )


def _trace_table(trace: Any) -> SafeString:
    steps = [step for step in trace if isinstance(step, dict)] if isinstance(trace, list) else []
    return render_table(
        ("Step", "Location / line", "Result", "Reason"),
        (
            (
                step.get("step", ""),
                step.get("location")
                or " ".join(
                    str(part)
                    for part in (
                        f"line {step['line']}" if step.get("line") else "",
                        step.get("sku", ""),
                    )
                    if part
                ),
                step.get("result", ""),
                step.get("reason", ""),
            )
            for step in steps
        ),
    )


def routing_trace(order: Order) -> SafeString:
    """The latest routing decision's trace in full; earlier decisions collapsed."""
    decisions = list(
        RoutingDecision.objects.filter(order=order).order_by("-id")[:ROUTING_DECISIONS]
    )
    if not decisions:
        return format_html("<p>{}</p>", "Not routed yet.")
    latest, earlier = decisions[0], decisions[1:]
    head = format_html(
        "<p><strong>{}</strong> — {}: {}</p>{}",
        short_datetime(latest.created_at),
        latest.outcome,
        latest.summary,
        _trace_table(latest.trace),
    )
    older = format_html_join(
        "",
        "<details><summary>{} — {}: {}</summary>{}</details>",
        (
            (short_datetime(d.created_at), d.outcome, d.summary, _trace_table(d.trace))
            for d in earlier
        ),
    )
    return format_html("{}{}", head, older)


def notifications_table(order: Order) -> SafeString:
    notifications = Notification.objects.filter(order=order).order_by("-id")[:NOTIFICATION_ROWS]
    return render_table(
        ("Created", "Event", "Channel", "Recipient", "Subject", "Status", "Sent", "Error"),
        (
            (
                short_datetime(n.created_at),
                n.event,
                n.get_channel_display(),
                n.recipient,
                n.subject,
                n.get_status_display(),
                short_datetime(n.sent_at),
                n.error,
            )
            for n in notifications
        ),
    )


# --- order import: the file waits server-side between the dry run and the real run ------


def import_template_columns() -> list[str]:
    columns = [*REQUIRED_COLUMNS, "customization"]
    columns += [c for c in ORDER_COLUMNS if c not in columns]
    columns += [c for c in ADDRESS_COLUMNS if c not in columns]
    return columns


IMPORT_TEMPLATE_EXAMPLE = {
    "order_ref": "MKT-1001",
    "customer_email": "buyer@example.com",
    "sku": "MUG-RED",
    "quantity": "2",
    "customization": "",
    "shipping_method": "STANDARD",
    "po_number": "",
    "pickup_location": "",
    "ship_name": "Pat Buyer",
    "ship_line1": "1 Main Street",
    "ship_line2": "",
    "ship_city": "Reno",
    "ship_region": "NV",
    "ship_postal_code": "89502",
    "ship_country": "US",
    "ship_phone": "+17755550100",
}


def _sweep_staged_imports(now: dt.datetime) -> None:
    """Delete uploads whose dry run was never confirmed."""
    try:
        _, names = default_storage.listdir(IMPORT_STAGING_DIR)
    except (OSError, NotImplementedError):
        return
    for name in names:
        staged = f"{IMPORT_STAGING_DIR}/{name}"
        try:
            if default_storage.get_modified_time(staged) < now - IMPORT_STAGING_MAX_AGE:
                default_storage.delete(staged)
        except (OSError, NotImplementedError):
            continue


def _discard_staged_import(request: HttpRequest) -> None:
    staged = request.session.pop(IMPORT_SESSION_KEY, None)
    if isinstance(staged, dict) and staged.get("path"):
        with contextlib.suppress(OSError):
            default_storage.delete(staged["path"])


def _stage_import(request: HttpRequest, *, content: bytes, filename: str, channel: str) -> str:
    """Keep the uploaded bytes in storage (not in the browser) for the confirm step;
    the session remembers which file, for which channel, with its checksum."""
    _discard_staged_import(request)
    _sweep_staged_imports(timezone.now())
    token = uuid.uuid4().hex
    suffix = PurePath(filename).suffix.lower()
    saved = default_storage.save(f"{IMPORT_STAGING_DIR}/{token}{suffix}", ContentFile(content))
    request.session[IMPORT_SESSION_KEY] = {
        "token": token,
        "path": saved,
        "filename": filename,
        "channel": channel,
        "sha256": hashlib.sha256(content).hexdigest(),
    }
    return token


def _staged_import(request: HttpRequest, token: str) -> tuple[dict[str, str], bytes] | None:
    staged = request.session.get(IMPORT_SESSION_KEY)
    if not isinstance(staged, dict) or not constant_time_compare(staged.get("token", ""), token):
        return None
    try:
        with default_storage.open(staged["path"], "rb") as handle:
            content = handle.read()
    except OSError:
        return None
    if hashlib.sha256(content).hexdigest() != staged.get("sha256"):
        return None
    return staged, content


def _default_shipping_address(customer: Customer) -> Address | None:
    """The customer's default shipping address, else their company's."""
    owners = Q(customer=customer)
    if customer.company_id:
        owners |= Q(company_id=customer.company_id)
    candidates = Address.objects.filter(owners, kind=AddressKind.SHIPPING, is_default=True)
    return min(candidates, key=lambda a: a.customer_id is None, default=None)


def _staff_user(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User):
        raise PermissionDenied
    return user


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
                    "e_mail",
                )
            },
        ),
        (
            "Delivery",
            {
                "fields": (
                    "recipient",
                    "ship_to",
                    "phone",
                    "coordinates",
                    "shipping_method",
                    "pickup_location",
                    "promised_delivery_date",
                    "billing",
                )
            },
        ),
        (
            # Money as money, in the order's currency (see "Words on screen").
            "Money",
            {
                "fields": (
                    "subtotal_money",
                    "shipping_money",
                    "discount_money",
                    "tax_money",
                    "total_money",
                    ("tax_rate_percent", "tax_on_shipping"),
                )
            },
        ),
        (
            "Dates",
            {"fields": ("created_at", "placed_at", "completed_at", "cancelled_at", "updated_at")},
        ),
        ("Notes", {"fields": ("notes",)}),
    )
    readonly_fields = (
        "e_mail",
        "recipient",
        "ship_to",
        "phone",
        "coordinates",
        "billing",
        "subtotal_money",
        "shipping_money",
        "discount_money",
        "tax_money",
        "total_money",
        "tax_rate_percent",
        "tax_on_shipping",
        "draft_lines",
        "fulfillment_orders",
        "shipments",
        "routing",
        "notifications",
    )
    inlines = (OrderLineInline, OrderHoldInline, OrderEventInline)
    actions = ("place_hold_on_orders", "release_holds_of_orders", "cancel_orders")

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
        return _may_release_any(request.user)

    def has_cancel_order_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(CANCEL_PERMISSION)

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        fieldsets = list(super().get_fieldsets(request, obj))
        if obj is None:
            return fieldsets
        if obj.status == OrderStatus.DRAFT:
            # A draft has no fulfillment yet; what matters is whether its stock is there.
            return [
                ("Draft: lines and live availability", {"fields": ("draft_lines",)}),
                *fieldsets,
            ]
        return [
            *fieldsets,
            ("Fulfillment", {"fields": ("fulfillment_orders", "shipments")}),
            ("Routing", {"fields": ("routing",)}),
            ("Notifications", {"fields": ("notifications",)}),
        ]

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
        return format_money(obj.grand_total, obj.currency)

    @admin.display(description="Created", ordering="id")
    def created(self, obj: Order) -> str:
        return short_datetime(obj.created_at)

    @admin.display(description="Ship to")
    def ship_to(self, obj: Order) -> str:
        return obj.ship_to_one_line

    # Captions a person reads, instead of the model's field names.

    @admin.display(description="E-mail")
    def e_mail(self, obj: Order) -> str:
        return obj.email or "-"

    @admin.display(description="Recipient")
    def recipient(self, obj: Order) -> str:
        return obj.ship_name or "-"

    @admin.display(description="Phone")
    def phone(self, obj: Order) -> str:
        return obj.ship_phone or "-"

    @admin.display(description="Coordinates (for routing)")
    def coordinates(self, obj: Order) -> str:
        if obj.ship_latitude is None or obj.ship_longitude is None:
            return "-"
        return f"{obj.ship_latitude}, {obj.ship_longitude}"

    @admin.display(description="Billing address")
    def billing(self, obj: Order) -> str:
        address = obj.billing_address
        if not isinstance(address, dict) or not address:
            return "-"
        return ", ".join(str(value) for value in address.values() if value)

    @admin.display(description="Subtotal")
    def subtotal_money(self, obj: Order) -> str:
        return format_money(obj.subtotal, obj.currency)

    @admin.display(description="Shipping")
    def shipping_money(self, obj: Order) -> str:
        return format_money(obj.shipping_total, obj.currency)

    @admin.display(description="Discount")
    def discount_money(self, obj: Order) -> str:
        return format_money(obj.discount_total, obj.currency)

    @admin.display(description="Tax")
    def tax_money(self, obj: Order) -> str:
        return format_money(obj.tax_total, obj.currency)

    @admin.display(description="Total")
    def total_money(self, obj: Order) -> str:
        return format_money(obj.grand_total, obj.currency)

    @admin.display(description="Tax rate")
    def tax_rate_percent(self, obj: Order) -> str:
        return f"{(obj.tax_rate * 100).normalize():f} %"

    @admin.display(description="Tax on shipping", boolean=True)
    def tax_on_shipping(self, obj: Order) -> bool:
        return obj.tax_shipping

    # Each of these is a fixed number of queries, however many rows the order has.

    @admin.display(description="Lines")
    def draft_lines(self, obj: Order) -> str:
        return draft_lines_table(obj)

    @admin.display(description="Fulfillment orders")
    def fulfillment_orders(self, obj: Order) -> str:
        return fulfillment_orders_table(obj)

    @admin.display(description="Shipments")
    def shipments(self, obj: Order) -> str:
        return shipments_table(obj)

    @admin.display(description="Routing decisions (latest first)")
    def routing(self, obj: Order) -> str:
        return routing_trace(obj)

    @admin.display(description="Notifications sent")
    def notifications(self, obj: Order) -> str:
        return notifications_table(obj)

    # --- buttons and pages ---

    def get_urls(self) -> list[URLPattern]:
        info = self.opts.app_label, self.opts.model_name

        def route(suffix: str, view: Callable[..., HttpResponse], name: str) -> URLPattern:
            return path(
                suffix, self.admin_site.admin_view(view), name="{}_{}_{}".format(*info, name)
            )

        # Ahead of Django's own patterns, whose "<path:object_id>/" would take them.
        return [
            route("new-draft/", self.new_draft_view, "new_draft"),
            route("import/", self.import_view, "import"),
            route("import/template.csv", self.import_template_view, "import_template"),
            route("<path:object_id>/place-hold/", self.place_hold_view, "place_hold"),
            route("<path:object_id>/release-hold/", self.release_hold_view, "release_hold"),
            route("<path:object_id>/reserve-stock/", self.reserve_stock_view, "reserve_stock"),
            route("<path:object_id>/submit/", self.submit_draft_view, "submit_draft"),
            route("<path:object_id>/discard/", self.discard_draft_view, "discard_draft"),
            route("<path:object_id>/cancel/", self.cancel_view, "cancel"),
            route(
                "<path:object_id>/change-quantity/",
                self.change_quantity_view,
                "change_quantity",
            ),
            route("<path:object_id>/add-line/", self.add_line_view, "add_line"),
            route(
                "<path:object_id>/change-address/",
                self.change_address_view,
                "change_address",
            ),
            route(
                "<path:object_id>/change-shipping-method/",
                self.change_shipping_method_view,
                "change_shipping_method",
            ),
            *super().get_urls(),
        ]

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        extra = {
            **(extra_context or {}),
            "can_place_on_behalf": request.user.has_perm(PLACE_ON_BEHALF_PERMISSION),
        }
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
        if obj is not None:
            user = request.user
            closed = obj.status in (OrderStatus.COMPLETED, OrderStatus.CANCELLED)
            is_open = obj.status in OPEN_STATUSES
            is_draft = obj.status == OrderStatus.DRAFT
            shipped_to_address = not obj.pickup_location_id
            context["can_place_hold"] = not closed and self.has_place_hold_permission(request)
            releasable = set(_releasable_kinds(user))
            open_holds = list(_open_holds(obj))
            context["can_release_hold"] = any(h.kind in releasable for h in open_holds)
            # Everyone sees what stops the order and who may release it.
            context["open_holds"] = [
                {
                    "kind": h.get_kind_display(),
                    "reason": h.reason,
                    "can_release": h.kind in releasable,
                    "released_by": HOLD_RELEASED_BY[h.kind],
                }
                for h in open_holds
            ]
            on_behalf = is_draft and user.has_perm(PLACE_ON_BEHALF_PERMISSION)
            # A pickup draft takes its store's stock on submit; it has nothing to reserve.
            context["can_reserve_stock"] = on_behalf and shipped_to_address
            context["can_submit_draft"] = on_behalf
            context["can_discard_draft"] = on_behalf
            context["can_cancel"] = is_open and user.has_perm(CANCEL_PERMISSION)
            can_edit = is_open and user.has_perm(EDIT_PERMISSION)
            context["can_edit"] = can_edit
            context["can_edit_delivery"] = can_edit and shipped_to_address
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
                hold = hold_workflows.place_order_hold(
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
        order = self.get_object(request, unquote(object_id))
        if order is None:
            raise Http404("No such order.")
        if not (self.has_view_permission(request, order) and _may_release_any(request.user)):
            raise PermissionDenied
        assert isinstance(order, Order)  # noqa: S101 - narrows the type
        open_holds = list(_open_holds(order))
        if not open_holds:
            self.message_user(request, f"{order.number} has no open hold.", messages.WARNING)
            return HttpResponseRedirect(admin_change_url(order))
        releasable = set(_releasable_kinds(request.user))
        if not any(h.kind in releasable for h in open_holds):
            self.message_user(
                request,
                "; ".join(
                    f"{h.get_kind_display()} holds are released by {HOLD_RELEASED_BY[h.kind]}"
                    for h in open_holds
                )
                + ".",
                messages.ERROR,
            )
            return HttpResponseRedirect(admin_change_url(order))
        if request.method == "POST":
            form = ReleaseHoldForm(request.POST, order=order, user=request.user)
        else:
            form = ReleaseHoldForm(
                initial={"hold": request.GET.get("hold")}, order=order, user=request.user
            )
        if form.is_valid():
            try:
                hold = hold_workflows.release_order_hold(
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

    def _require(self, request: HttpRequest, permission: str) -> None:
        """The changelist-level pages: view permission on orders and ``permission``."""
        if not (self.has_view_permission(request) and request.user.has_perm(permission)):
            raise PermissionDenied

    def _done(self, request: HttpRequest, order: Order, message: str) -> HttpResponse:
        self.message_user(request, message, messages.SUCCESS)
        return HttpResponseRedirect(admin_change_url(order))

    def _not_in_status(
        self, request: HttpRequest, order: Order, statuses: Sequence[str], what: str
    ) -> HttpResponse | None:
        """Send a stale GET back to the order page. A POST goes on to the service,
        whose refusal is shown on the form (the order may change in between)."""
        if request.method == "POST" or order.status in statuses:
            return None
        self.message_user(
            request,
            f"{order.number} is {order.get_status_display().lower()}; {what}.",
            messages.WARNING,
        )
        return HttpResponseRedirect(admin_change_url(order))

    # --- drafts placed on a customer's behalf ---

    def new_draft_view(self, request: HttpRequest) -> HttpResponse:
        """Build an order for a customer: "Check" prices it and shows live availability
        and the delivery promise without writing; "Save draft" creates the draft."""
        self._require(request, PLACE_ON_BEHALF_PERMISSION)
        user = _staff_user(request)
        check: SafeString | None = None
        if request.method == "POST":
            data = request.POST.copy()
            saving = "save" in data
            if not saving:
                self._prefill_draft(request, data)
            form = DraftOrderForm(data)
            formset = DraftLineFormSet(data, prefix=DRAFT_LINES_PREFIX)
            if form.is_valid() and formset.is_valid():
                line_forms = formset.filled_forms()
                order_request = form.order_request(
                    [f.line_request() for f in line_forms],
                    channel=channel_for(user),
                    placed_by=user,
                )
                try:
                    if saving:
                        draft = drafts.create_draft_order(
                            request=order_request, actor=_actor(request)
                        )
                    else:
                        check = check_draft(order_request)
                except DomainError as exc:
                    add_domain_error(
                        form, exc, field_names=form.field_errors_map(), line_forms=line_forms
                    )
                    check = None
                else:
                    if saving:
                        return self._done(
                            request,
                            draft,
                            f"Draft {draft.number} saved for {draft.customer.full_name} "
                            f"({format_money(draft.grand_total, draft.currency)}).",
                        )
        else:
            initial: dict[str, Any] = {}
            customer = find_customer(request.GET.get("customer", ""))
            if customer is not None:
                initial["customer"] = customer.email
                address = _default_shipping_address(customer)
                if address is not None:
                    initial.update(address_initial(address))
            form = DraftOrderForm(initial=initial)
            formset = DraftLineFormSet(prefix=DRAFT_LINES_PREFIX)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "New order for a customer",
            "form": form,
            "formset": formset,
            "sections": [
                ("Customer and delivery", [form[n] for n in DRAFT_MAIN_FIELDS]),
                ("Ship to", form.address_fields()),
                ("Reference", [form["po_number"], form["notes"]]),
            ],
            "check": check,
            "media": self.media + form.media + formset.media,
            "cancel_url": admin_changelist_url(Order),
            "errors": bool(form.errors or any(formset.errors) or formset.non_form_errors()),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/orders/order/draft_form.html", context)

    def _prefill_draft(self, request: HttpRequest, data: Any) -> None:
        """On "Check": fill an empty ship-to from the customer's default shipping
        address, and offer more empty line rows once every row is used."""
        customer = find_customer(str(data.get("customer", "")))
        names = ShippingAddressForm.ADDRESS_FIELD_NAMES
        blank_address = not any(str(data.get(name, "")).strip() for name in names)
        if customer is not None and blank_address and not data.get("pickup_location"):
            address = _default_shipping_address(customer)
            if address is not None:
                for name, value in address_initial(address).items():
                    data[name] = value  # replaces; QueryDict.update would append
                self.message_user(
                    request,
                    "Ship-to filled from the customer's default shipping address.",
                    messages.INFO,
                )
        total_key = f"{DRAFT_LINES_PREFIX}-TOTAL_FORMS"
        try:
            total = int(data.get(total_key, ""))
        except ValueError:
            return
        if not 0 < total < settings.OMS_MAX_ORDER_LINES:
            return  # the formset itself refuses a count out of range
        used = sum(
            1
            for index in range(total)
            if str(data.get(f"{DRAFT_LINES_PREFIX}-{index}-sku", "")).strip()
        )
        if total == used:
            data[total_key] = str(min(total + DRAFT_EXTRA_ROWS, settings.OMS_MAX_ORDER_LINES))

    def reserve_stock_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        order = self._order_for(request, object_id, PLACE_ON_BEHALF_PERMISSION)
        stale = self._not_in_status(request, order, [OrderStatus.DRAFT], "it is not a draft")
        if stale:
            return stale
        hours = int(drafts.DEFAULT_RESERVATION.total_seconds() // 3600)
        form = ConfirmForm(request.POST if request.method == "POST" else None)
        if form.is_valid():
            try:
                until = drafts.reserve_draft_stock(order_id=order.pk, actor=_actor(request))
            except DomainError as exc:
                add_domain_error(form, exc)
            else:
                return self._done(
                    request, order, f"{order.number}: stock reserved until {short_datetime(until)}."
                )
        return render_form_page(
            self,
            request,
            form=form,
            title=f"Reserve stock for draft {order.number} ({hours} h)",
            submit_label=f"Reserve stock ({hours} h)",
            original=order,
            summary=format_html(
                "<p>Holds the draft's units in the network for {} hours, replacing any "
                "earlier reservation of this draft.</p>{}",
                hours,
                draft_lines_table(order),
            ),
        )

    def submit_draft_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        order = self._order_for(request, object_id, PLACE_ON_BEHALF_PERMISSION)
        stale = self._not_in_status(request, order, [OrderStatus.DRAFT], "it is not a draft")
        if stale:
            return stale
        form = ConfirmForm(request.POST if request.method == "POST" else None)
        if form.is_valid():
            try:
                placed = drafts.submit_draft_order(order_id=order.pk, actor=_actor(request))
            except DomainError as exc:
                add_domain_error(form, exc)
            else:
                held = ", ".join(h.get_kind_display() for h in placed.holds)
                return self._done(
                    request,
                    placed.order,
                    f"{placed.order.number} placed "
                    f"({format_money(placed.order.grand_total, placed.order.currency)})"
                    + (f"; on hold: {held}." if held else "."),
                )
        return render_form_page(
            self,
            request,
            form=form,
            title=f"Submit draft {order.number}",
            submit_label="Submit order",
            original=order,
            summary=format_html(
                "<p>Places the order for {}: its reservation (if any) becomes the "
                "order's commitment, the rest is committed now, holds are checked and the "
                "customer is sent a confirmation. Total {}.</p>{}",
                order.customer,
                format_money(order.grand_total, order.currency),
                draft_lines_table(order),
            ),
        )

    def discard_draft_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        order = self._order_for(request, object_id, PLACE_ON_BEHALF_PERMISSION)
        stale = self._not_in_status(request, order, [OrderStatus.DRAFT], "it is not a draft")
        if stale:
            return stale
        form = CancelReasonForm(request.POST if request.method == "POST" else None)
        if form.is_valid():
            try:
                drafts.discard_draft_order(
                    order_id=order.pk, reason=form.cleaned_data["reason"], actor=_actor(request)
                )
            except DomainError as exc:
                add_domain_error(form, exc)
            else:
                return self._done(request, order, f"Draft {order.number} discarded.")
        return render_form_page(
            self,
            request,
            form=form,
            title=f"Discard draft {order.number}",
            submit_label="Discard draft",
            original=order,
            summary=format_html(
                "<p>The draft of {} ends cancelled without being placed; any stock it "
                "reserved goes back. Nothing is sent to the customer.</p>",
                order.customer,
            ),
        )

    # --- cancellation ---

    def cancel_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        order = self._order_for(request, object_id, CANCEL_PERMISSION)
        stale = self._not_in_status(request, order, OPEN_STATUSES, "it cannot be cancelled")
        if stale:
            return stale
        lines = list(order.lines.order_by("line_number"))
        posted = request.POST if request.method == "POST" else None
        form = CancelReasonForm(posted)
        formset = CancelLineFormSet(posted, lines=lines, prefix=CANCEL_LINES_PREFIX)
        if posted is not None and form.is_valid() and formset.is_valid():
            quantities = formset.quantities()
            cancelled_before = {line.line_number: line.quantity_cancelled for line in lines}
            try:
                cancelled = changes.cancel_order(
                    order_id=order.pk,
                    reason=form.cleaned_data["reason"],
                    actor=_actor(request),
                    lines=quantities or None,
                )
            except DomainError as exc:
                add_domain_error(form, exc)
            else:
                return self._done(
                    request, order, _cancellation_message(cancelled, cancelled_before)
                )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Cancel order {order.number}",
            "original": order,
            "summary": lines_summary(order, with_lines=False),
            "form": form,
            "formset": formset,
            "media": self.media + form.media,
            "cancel_url": admin_change_url(order),
            "errors": bool(form.errors or any(formset.errors) or formset.non_form_errors()),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/orders/order/cancel_form.html", context)

    @admin.action(description="Cancel selected orders…", permissions=["cancel_order"])
    def cancel_orders(self, request: HttpRequest, queryset: QuerySet[Order]) -> HttpResponse | None:
        def apply(form: forms.Form) -> None:
            cancelled, refused = 0, []
            # One transaction per order, so one refusal does not undo the others.
            for order_id, number in queryset.order_by("pk").values_list("pk", "number"):
                try:
                    changes.cancel_order(
                        order_id=order_id,
                        reason=form.cleaned_data["reason"],
                        actor=_actor(request),
                    )
                except DomainError as exc:
                    refused.append(refusal_of(number, exc.message))
                else:
                    cancelled += 1
            _report(
                request,
                self,
                done=cancelled,
                done_message=f"Cancelled {count_of(cancelled, 'order')}.",
                refused=refused,
                nothing_message="No order was cancelled.",
            )

        return run_action_with_form(
            self,
            request,
            queryset,
            form_class=CancelReasonForm,
            title="Cancel orders",
            submit_label="Cancel orders",
            apply=apply,
        )

    # --- edits of a placed order ---

    def _edit_page(
        self,
        request: HttpRequest,
        order: Order,
        form: forms.Form,
        *,
        title: str,
        submit_label: str,
        perform: Callable[[dict[str, Any]], str],
        field_names: dict[str, str] | None = None,
    ) -> HttpResponse:
        """Run ``perform`` (one service call, returning the success message) on a
        valid POST; show its refusal on the form; otherwise show the form."""
        if request.method == "POST" and form.is_valid():
            try:
                message = perform(form.cleaned_data)
            except DomainError as exc:
                add_domain_error(form, exc, field_names=field_names)
            else:
                return self._done(request, order, f"{order.number}: {message}")
        return render_form_page(
            self,
            request,
            form=form,
            title=title,
            submit_label=submit_label,
            original=order,
            summary=lines_summary(order),
        )

    def _editable_order(self, request: HttpRequest, object_id: str) -> tuple[Order, Any]:
        order = self._order_for(request, object_id, EDIT_PERMISSION)
        return order, self._not_in_status(request, order, OPEN_STATUSES, "it cannot be edited")

    def change_quantity_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        order, stale = self._editable_order(request, object_id)
        if stale:
            return stale
        lines = list(order.lines.order_by("line_number"))
        if request.method == "POST":
            form = ChangeQuantityForm(request.POST, lines=lines)
        else:
            form = ChangeQuantityForm(initial={"line": request.GET.get("line")}, lines=lines)

        def perform(data: dict[str, Any]) -> str:
            changes.change_line_quantity(
                order_id=order.pk,
                line_number=data["line"],
                quantity=data["quantity"],
                actor=_actor(request),
            )
            return f"line {data['line']} now {data['quantity']} units."

        return self._edit_page(
            request,
            order,
            form,
            title=f"Change a quantity on {order.number}",
            submit_label="Change quantity",
            perform=perform,
        )

    def add_line_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        order, stale = self._editable_order(request, object_id)
        if stale:
            return stale
        form = AddLineForm(request.POST if request.method == "POST" else None)

        def perform(data: dict[str, Any]) -> str:
            changes.add_line(
                order_id=order.pk,
                sku=data["sku"],
                quantity=data["quantity"],
                customization=data["customization"],
                actor=_actor(request),
            )
            return f"added {data['quantity']} × {data['sku']}."

        return self._edit_page(
            request,
            order,
            form,
            title=f"Add a line to {order.number}",
            submit_label="Add line",
            perform=perform,
        )

    def change_address_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        order, stale = self._editable_order(request, object_id)
        if stale:
            return stale
        if request.method == "POST":
            form = ShippingAddressForm(request.POST)
        else:
            form = ShippingAddressForm(initial=address_initial(order, prefix="ship_"))

        def perform(data: dict[str, Any]) -> str:
            assert isinstance(form, ShippingAddressForm)  # noqa: S101 - narrows the type
            # A routed order's fulfillment orders move with it (fulfillment.rerouting).
            changed = rerouting.change_shipping_address(
                order_id=order.pk, address=form.address(), actor=_actor(request)
            )
            if changed.updated_at == order.updated_at:
                return f"nothing to change: it already ships to {changed.ship_to_one_line}."
            return f"now ships to {changed.ship_to_one_line}{_promised(changed)}"

        return self._edit_page(
            request,
            order,
            form,
            title=f"Change the shipping address of {order.number}",
            submit_label="Change address",
            perform=perform,
            field_names=ADDRESS_ERROR_FIELDS,
        )

    def change_shipping_method_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        order, stale = self._editable_order(request, object_id)
        if stale:
            return stale
        if request.method == "POST":
            form = ShippingMethodForm(request.POST)
        else:
            form = ShippingMethodForm(initial={"shipping_method": order.shipping_method.code})

        def perform(data: dict[str, Any]) -> str:
            method = data["shipping_method"]
            changed = rerouting.change_shipping_method(
                order_id=order.pk, code=method.code, actor=_actor(request)
            )
            if changed.updated_at == order.updated_at:
                return f"nothing to change: it already ships by {method.name}."
            return f"now ships by {method.name}{_promised(changed)}"

        return self._edit_page(
            request,
            order,
            form,
            title=f"Change the shipping method of {order.number}",
            submit_label="Change shipping method",
            perform=perform,
        )

    # --- import ---

    def import_template_view(self, request: HttpRequest) -> HttpResponse:
        self._require(request, PLACE_ON_BEHALF_PERMISSION)
        columns = import_template_columns()
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(columns)
        writer.writerow([IMPORT_TEMPLATE_EXAMPLE.get(c, "") for c in columns])
        response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="order-import-template.csv"'
        return response

    def import_view(self, request: HttpRequest) -> HttpResponse:
        """Upload → dry run report → "Import N orders" → the real report. The file
        stays on the server between the two steps; the confirm posts only a token."""
        self._require(request, PLACE_ON_BEHALF_PERMISSION)
        if request.method == "POST" and "confirm" in request.POST:
            return self._confirm_import(request)
        report: ImportReport | None = None
        token = ""
        if request.method == "POST":
            form = OrderImportForm(request.POST, request.FILES)
            if form.is_valid():
                upload = form.cleaned_data["file"]
                content = upload.read()
                channel = form.cleaned_data["channel"]
                try:
                    dataset = read_dataset(content, upload.name)
                    report = import_orders(
                        dataset, channel=channel, actor=_actor(request), dry_run=True
                    )
                except DomainError as exc:
                    add_domain_error(form, exc)
                else:
                    if report.valid:
                        token = _stage_import(
                            request, content=content, filename=upload.name, channel=channel
                        )
                    return self._import_report(
                        request, report, filename=upload.name, channel=channel, token=token
                    )
        else:
            form = OrderImportForm()
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Import orders",
            "form": form,
            "media": self.media + form.media,
            "cancel_url": admin_changelist_url(Order),
            "columns": import_template_columns(),
            "required_columns": REQUIRED_COLUMNS,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/orders/order/import_form.html", context)

    def _confirm_import(self, request: HttpRequest) -> HttpResponse:
        staged = _staged_import(request, str(request.POST.get("token", "")))
        if staged is None:
            self.message_user(
                request,
                "The uploaded file is no longer available; upload it again.",
                messages.ERROR,
            )
            return HttpResponseRedirect(reverse("admin:orders_order_import"))
        info, content = staged
        try:
            report = import_orders(
                read_dataset(content, info["filename"]),
                channel=info["channel"],
                actor=_actor(request),
                dry_run=False,
            )
        except DomainError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return HttpResponseRedirect(reverse("admin:orders_order_import"))
        finally:
            _discard_staged_import(request)
        self.message_user(
            request,
            f"Imported {report.valid} order(s); {report.skipped} already imported, "
            f"{report.failed} refused.",
            messages.SUCCESS if not report.failed else messages.WARNING,
        )
        return self._import_report(
            request, report, filename=info["filename"], channel=info["channel"]
        )

    def _import_report(
        self,
        request: HttpRequest,
        report: ImportReport,
        *,
        filename: str,
        channel: str,
        token: str = "",
    ) -> HttpResponse:
        numbers = [o.order_number for o in report.orders if o.order_number]
        ids = dict(Order.objects.filter(number__in=numbers).values_list("number", "pk"))
        rows = []
        for result in report.orders:
            if result.skipped:
                outcome = "already imported"
            elif result.errors:
                outcome = "refused" if not report.dry_run else "errors"
            else:
                outcome = "imported" if not report.dry_run else "ok"
            order_id = ids.get(result.order_number)
            rows.append(
                {
                    "result": result,
                    "outcome": outcome,
                    "rows": ", ".join(str(n) for n in result.rows),
                    "url": reverse("admin:orders_order_change", args=[order_id])
                    if order_id
                    else "",
                }
            )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": ("Dry run of " if report.dry_run else "Import of ") + filename,
            "report": report,
            "rows": rows,
            "filename": filename,
            "channel": channel,
            "token": token,
            "cancel_url": admin_changelist_url(Order),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/orders/order/import_report.html", context)

    # --- bulk actions ---

    @admin.action(description="Put selected orders on hold…", permissions=["place_hold"])
    def place_hold_on_orders(
        self, request: HttpRequest, queryset: QuerySet[Order]
    ) -> HttpResponse | None:
        def apply(form: forms.Form) -> None:
            held, refused = 0, []
            for order in queryset:
                try:
                    hold_workflows.place_order_hold(
                        order=order,
                        kind=form.cleaned_data["kind"],
                        reason=form.cleaned_data["reason"],
                        actor=_actor(request),
                    )
                except DomainError as exc:
                    refused.append(refusal_of(order.number, exc.message))
                else:
                    held += 1
            _report(
                request,
                self,
                done=held,
                done_message=f"Put {count_of(held, 'order')} on hold.",
                refused=refused,
                nothing_message="No order was put on hold.",
            )

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
            _report(
                request,
                self,
                done=released,
                done_message=f"Released {count_of(released, 'hold')}.",
                refused=refused,
                nothing_message="No open hold of that kind on the selected orders.",
            )

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
    for hold_id, number in holds.order_by("pk").values_list("pk", "order__number"):
        try:
            hold_workflows.release_order_hold(hold_id=hold_id, reason=reason, actor=_actor(request))
        except DomainError as exc:
            refused.append(refusal_of(number, exc.message))
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
class OrderHoldAdmin(
    OrderNumberSearchMixin, OperatorAdminMixin, AppendOnlyAdminMixin, admin.ModelAdmin
):
    list_display = (
        "order",
        "kind",
        "state",
        "reason",
        "placed_at",
        "placed_by",
        "released_at",
        "released_by",
    )
    list_select_related = ("order", "released_by")
    list_filter = (HoldStateFilter, "kind")
    date_hierarchy = "placed_at"
    change_select_related = ("order", "released_by")
    # Captions a person reads, not the model's field names ("placed by label").
    fields = (
        "order",
        "kind",
        "state",
        "reason",
        "placed_at",
        "placed_by",
        "released_at",
        "released_by",
        "release_reason",
    )
    readonly_fields = ("state", "placed_by")
    actions = ("release_selected_holds",)

    @admin.display(description="State")
    def state(self, obj: OrderHold) -> str:
        return "Open" if obj.is_open else "Released"

    @admin.display(description="Placed by")
    def placed_by(self, obj: OrderHold) -> str:
        return obj.placed_by_label

    def has_release_hold_permission(self, request: HttpRequest) -> bool:
        return _may_release_any(request.user)

    @admin.action(description="Release selected holds…", permissions=["release_hold"])
    def release_selected_holds(
        self, request: HttpRequest, queryset: QuerySet[OrderHold]
    ) -> HttpResponse | None:
        def apply(form: forms.Form) -> None:
            open_holds = queryset.filter(released_at__isnull=True)
            released, refused = _release_holds(request, open_holds, form.cleaned_data["reason"])
            _report(
                request,
                self,
                done=released,
                done_message=f"Released {count_of(released, 'hold')}.",
                refused=refused,
                nothing_message="None of the selected holds is open.",
            )

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
class OrderEventAdmin(
    OrderNumberSearchMixin, OperatorAdminMixin, AppendOnlyAdminMixin, admin.ModelAdmin
):
    list_display = ("created", "order", "type", "message", "actor")
    list_select_related = ("order",)
    list_filter = ("type", "actor_kind")
    change_select_related = ("order", "actor_user")
    ordering = ("-id",)

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

    list_display = ("key", "scope", "company", "response_status", "order", "created_at")
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
