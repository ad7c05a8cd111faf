"""The order page and the order list: find an order by whatever the caller says, read its
whole story (lines, holds, timeline, notifications) on one page.

The page is read-only. Every change is one service call behind its own permission,
from a button on the page, an action of the list or a page of the list, each asking
for its input (and a reason where one is kept) first; the pages of orders alone are
the mixins of ``OrderAdmin``: ``drafts`` and ``imports``.

Fulfillment extends this page (``fulfillment.admin.order_console``): its fulfillment
orders, shipments and routing, and the pages that move fulfillment orders with the
order (holds, cancellation, edits, change of destination) with their list actions.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import admin
from django.db.models import Exists, OuterRef, QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, path

from core.admin import OperatorAdminMixin, short_datetime
from core.money import format_money
from core.preferences import format_date

from ..models import (
    HOLD_RELEASED_BY,
    Order,
    OrderHold,
    OrderStatus,
    PaymentMethod,
)
from ..selectors import list_open_holds
from ..services import releasable_hold_kinds
from .base import PLACE_ON_BEHALF_PERMISSION
from .drafts import DRAFT_PAGES, DraftPagesMixin
from .imports import ImportPagesMixin
from .inlines import OrderHoldInline
from .notifications import RESEND_PERMISSION
from .order_list import OrderListMixin
from .order_notes import NotePagesMixin
from .order_summary import order_lines, order_summary, timeline_context
from .tables import draft_lines_table, notifications_table

# Set on the order by ``get_object``: whether the viewer may resend its messages.
_MAY_RESEND = "_viewer_may_resend_notifications"
# Set on the order by ``render_change_form``: its open holds, taken from the holds'
# history the page shows anyway (one query fewer than reading them again).
_OPEN_HOLDS = "_open_holds_of_page"


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
class OrderAdmin(
    NotePagesMixin,
    OrderListMixin,
    DraftPagesMixin,
    ImportPagesMixin,
    OperatorAdminMixin,
    admin.ModelAdmin,
):
    list_filter = (
        "status",
        "channel",
        "fulfillment_status",
        "return_status",
        "payment_status",
        OnHoldFilter,
        "created_at",
    )
    # Sorting a million orders by an unindexed column is a full sort; these two walk
    # an index (``created`` sorts by id, which grows with time).
    sortable_by = ("number", "created")
    change_select_related = (
        "customer",
        "company",
        "placed_by",
        "shipping_method",
        "pickup_location",
    )
    # The summary card, the lines and the timeline lead the page
    # (``admin/orders/order/change_form.html``); these sections hold the rest of the
    # order's fields, collapsed, after the sections of what happened to it.
    fieldsets = (
        (
            "Order details",
            {
                "classes": ("collapse",),
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
                ),
            },
        ),
        (
            "Delivery",
            {
                "classes": ("collapse",),
                "fields": (
                    "recipient",
                    "ship_to",
                    "phone",
                    "shipping_method",
                    "pickup_location",
                    "promised",
                    "billing",
                ),
            },
        ),
        (
            # Money as money, in the order's currency (see "Words on screen").
            "Money",
            {
                "classes": ("collapse",),
                "fields": (
                    "subtotal_money",
                    "shipping_money",
                    "discount_money",
                    "tax_money",
                    "total_money",
                    ("tax_rate_percent", "tax_on_shipping"),
                    # Derived by billing from the card payments; never edited here.
                    ("payment", "payment_status"),
                ),
            },
        ),
        (
            "Dates",
            {
                "classes": ("collapse",),
                "fields": ("created_on", "placed_on", "completed_on", "cancelled_on", "updated_on"),
            },
        ),
        ("Notes from the order", {"classes": ("collapse",), "fields": ("notes",)}),
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
        "payment",
        "tax_rate_percent",
        "tax_on_shipping",
        "promised",
        "created_on",
        "placed_on",
        "completed_on",
        "cancelled_on",
        "updated_on",
        "draft_lines",
        "notifications",
    )
    # The lines and the timeline are the page's own tables (``order_summary``); the
    # holds' history stays below everything.
    inlines = (OrderHoldInline,)
    # The buttons of the order page: one ``OrderPageForm`` page each, behind its permission.
    service_pages = DRAFT_PAGES

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    # Every change to an order goes through a service: the page is read-only and its
    # buttons and the list's actions are the ways to act on it.
    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

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
        # Extensions put their sections (fulfillment, billing, returns) before the
        # notifications; the page's timeline comes right before them too.
        return [("Notifications", {"fields": ("notifications",)}), *fieldsets]

    @admin.display(description="Ship to")
    def ship_to(self, obj: Order) -> str:
        return obj.ship_to_one_line

    # Dates as every date of the console is written (the viewer's zone and style).

    @admin.display(description="Promised delivery")
    def promised(self, obj: Order) -> str:
        return format_date(obj.promised_delivery_date)

    @admin.display(description="Created")
    def created_on(self, obj: Order) -> str:
        return short_datetime(obj.created_at)

    @admin.display(description="Placed")
    def placed_on(self, obj: Order) -> str:
        return short_datetime(obj.placed_at)

    @admin.display(description="Completed")
    def completed_on(self, obj: Order) -> str:
        return short_datetime(obj.completed_at)

    @admin.display(description="Cancelled")
    def cancelled_on(self, obj: Order) -> str:
        return short_datetime(obj.cancelled_at)

    @admin.display(description="Last changed")
    def updated_on(self, obj: Order) -> str:
        return short_datetime(obj.updated_at)

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

    @admin.display(description="Payment")
    def payment(self, obj: Order) -> str:
        if obj.payment_method == PaymentMethod.STORE_CREDIT:
            return "Paid with store credit"
        return obj.get_payment_method_display()

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

    @admin.display(description="Notifications sent")
    def notifications(self, obj: Order) -> str:
        return notifications_table(obj, can_resend=getattr(obj, _MAY_RESEND, False))

    def get_object(
        self, request: HttpRequest, object_id: str, from_field: str | None = None
    ) -> Any:
        # The notifications section is rendered from the order alone; whether the viewer
        # may resend travels with it (the "Resend…" links are theirs only).
        obj = super().get_object(request, object_id, from_field)
        if obj is not None:
            setattr(obj, _MAY_RESEND, request.user.has_perm(RESEND_PERMISSION))
        return obj

    # --- buttons and pages ---

    def get_urls(self) -> list[URLPattern]:
        info = self.opts.app_label, self.opts.model_name

        def route(suffix: str, view: Callable[..., HttpResponse], name: str) -> URLPattern:
            return path(
                suffix, self.admin_site.admin_view(view), name="{}_{}_{}".format(*info, name)
            )

        # Ahead of Django's own patterns, whose "<path:object_id>/" would take them; the
        # order's own pages (``service_pages``) come next.
        return [
            route("new-draft/", self.new_draft_view, "new_draft"),
            route("import/", self.import_view, "import"),
            route("import/template.csv", self.import_template_view, "import_template"),
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

    def order_page_context(self, request: HttpRequest, obj: Order) -> dict[str, Any]:
        """What the order page's summary card, lines, timeline and buttons need
        (``admin/orders/order/change_form.html``); extensions add their buttons' flags."""
        user = request.user
        is_draft = obj.status == OrderStatus.DRAFT
        releasable = set(releasable_hold_kinds(user))
        on_behalf = is_draft and user.has_perm(PLACE_ON_BEHALF_PERMISSION)
        return {
            "summary": order_summary(obj, user),
            # A draft's lines are its first section, with their live availability.
            "lines": [] if is_draft else order_lines(obj),
            "show_lines": not is_draft,
            # The timeline goes right before this section (after the ones of what
            # happened to the order), or after every section when there is none.
            "timeline_before": "" if is_draft else "Notifications",
            **timeline_context(obj, user),
            # Everyone sees what stops the order and who may release it.
            "open_holds": [
                {
                    "id": h.pk,
                    "placed": short_datetime(h.placed_at),
                    "kind": h.get_kind_display(),
                    "reason": h.reason,
                    "can_release": h.kind in releasable,
                    "released_by": HOLD_RELEASED_BY[h.kind],
                }
                for h in self._open_holds(obj)
            ],
            # A pickup draft takes its store's stock on submit; it has nothing to reserve.
            "can_reserve_stock": on_behalf and not obj.pickup_location_id,
            "can_submit_draft": on_behalf,
            "can_discard_draft": on_behalf,
            # Edit draft, send quote, order again (``orders.admin.drafts``).
            "draft_tools": self.draft_tools(request, obj),
        }

    @staticmethod
    def _open_holds(obj: Order) -> list[OrderHold]:
        holds = getattr(obj, _OPEN_HOLDS, None)
        return list(list_open_holds(obj)) if holds is None else holds

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
            for inline in context.get("inline_admin_formsets", ()):
                if isinstance(inline.opts, OrderHoldInline):
                    # The formset keeps the rows it read for the page's holds' history.
                    history = inline.formset.get_queryset()
                    open_holds = [h for h in history if h.released_at is None]
                    setattr(obj, _OPEN_HOLDS, sorted(open_holds, key=lambda h: h.placed_at))
            context.update(self.order_page_context(request, obj))
        return super().render_change_form(request, context, add, change, form_url, obj)
