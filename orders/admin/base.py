"""What the order console's pages share: their permissions and the steps every page of
an order takes (find the order, check the permission, send a stale request back)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from django.contrib import messages
from django.contrib.admin.utils import unquote
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect

from oms.core.actors import Actor
from oms.core.admin import admin_change_url

from ..changes import OPEN
from ..models import Order

if TYPE_CHECKING:
    from django.contrib import admin

    _OrderAdminBase = admin.ModelAdmin[Order]
else:
    _OrderAdminBase = object

PLACE_HOLD_PERMISSION = "orders.place_hold"
PLACE_ON_BEHALF_PERMISSION = "orders.place_order_on_behalf"
CANCEL_PERMISSION = "orders.cancel_order"
EDIT_PERMISSION = "orders.edit_placed_order"

# Orders that can still be cancelled or edited.
OPEN_STATUSES = OPEN


def actor_of(request: HttpRequest) -> Actor:
    return Actor.for_user(request.user)


def staff_user(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User):
        raise PermissionDenied
    return user


def promised(order: Order) -> str:
    """The end of a change-of-destination message: the delivery promise it now has."""
    promise = order.promised_delivery_date
    return f"; delivery promised by {promise.isoformat()}." if promise else "."


class OrderPagesMixin(_OrderAdminBase):
    """The steps the order console's own pages share."""

    def _order_for(self, request: HttpRequest, object_id: str, permission: str) -> Order:
        order = self.get_object(request, unquote(object_id))
        if order is None:
            raise Http404("No such order.")
        if not (self.has_view_permission(request, order) and request.user.has_perm(permission)):
            raise PermissionDenied
        return order

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
