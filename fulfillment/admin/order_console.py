"""The order page, extended by fulfillment.

Orders sit below fulfillment and may not import it, so their order page shows the
order alone (``orders.admin.order_page``). Here fulfillment subclasses that admin, adds
what reads or moves fulfillment orders, and registers the subclass in its place:

- the order's fulfillment orders, shipments and routing decisions (``order_tables``);
- the hold pages and the list's hold actions (``order_holds``): fulfillment orders
  stop and resume with the order's holds;
- the cancel and edit pages and the bulk cancel (``order_edits``): units held for
  fulfillment orders are taken back, and a routed order's fulfillment orders move with
  a change of destination.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.urls import reverse

from core.admin import replace_admin
from orders.admin.base import CANCEL_PERMISSION, EDIT_PERMISSION, OPEN_STATUSES
from orders.admin.drafts import DRAFT_PAGES
from orders.admin.order_page import OrderAdmin
from orders.models import Order, OrderStatus

from .order_edits import CHANGE_PAGES, ChangePagesMixin
from .order_holds import HOLD_PAGES, HoldPagesMixin
from .order_tables import fulfillment_orders_table, routing_trace, shipments_table


class OrderWithFulfillmentAdmin(HoldPagesMixin, ChangePagesMixin, OrderAdmin):
    """The order page with its fulfillment sections, hold, cancel and edit pages."""

    actions = ("place_hold_on_orders", "release_holds_of_orders", "cancel_orders")
    # The buttons of the order page: one ``OrderPageForm`` page each, behind its permission.
    service_pages = {**HOLD_PAGES, **DRAFT_PAGES, **CHANGE_PAGES}

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return (
            *super().get_readonly_fields(request, obj),
            "fulfillment_orders",
            "shipments",
            "routing",
        )

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        fieldsets = list(super().get_fieldsets(request, obj))
        if obj is None or obj.status == OrderStatus.DRAFT:
            # A draft has no fulfillment yet.
            return fieldsets
        # Right after the lines (the first of the sections of what happened to the order);
        # the routing trace and the coordinates it measured from, collapsed, last: agents
        # rarely need them.
        at = next(i for i, (name, _) in enumerate(fieldsets) if name == "Notifications")
        fieldsets[at:at] = [("Fulfillment", {"fields": ("fulfillment_orders", "shipments")})]
        return [
            *fieldsets,
            (
                "Routing (technical)",
                {"classes": ("collapse",), "fields": ("routing", "coordinates")},
            ),
        ]

    # Each of these is a fixed number of queries, however many rows the order has.

    @admin.display(description="Fulfillment orders")
    def fulfillment_orders(self, obj: Order) -> str:
        return fulfillment_orders_table(obj)

    @admin.display(description="Shipments")
    def shipments(self, obj: Order) -> str:
        return shipments_table(obj)

    @admin.display(description="Routing decisions (latest first)")
    def routing(self, obj: Order) -> str:
        return routing_trace(obj)

    def order_page_context(self, request: HttpRequest, obj: Order) -> dict[str, Any]:
        context = super().order_page_context(request, obj)
        user = request.user
        closed = obj.status in (OrderStatus.COMPLETED, OrderStatus.CANCELLED)
        is_open = obj.status in OPEN_STATUSES
        can_edit = is_open and user.has_perm(EDIT_PERMISSION)
        # Each open hold this user may release gets its button: the release page, with
        # that hold chosen.
        release_url = reverse(f"admin:{self.page_url_name('release-hold')}", args=[obj.pk])
        open_holds = [
            {
                **hold,
                "release_url": f"{release_url}?hold={hold['id']}" if hold["can_release"] else "",
            }
            for hold in context["open_holds"]
        ]
        return {
            **context,
            "open_holds": open_holds,
            "can_place_hold": not closed and self.has_place_hold_permission(request),
            "can_release_hold": any(hold["can_release"] for hold in context["open_holds"]),
            "can_cancel": is_open and user.has_perm(CANCEL_PERMISSION),
            "can_edit": can_edit,
            "can_edit_delivery": can_edit and not obj.pickup_location_id,
        }


replace_admin(Order, OrderWithFulfillmentAdmin)
