"""What the order console's pages share: their permissions, the base of their
``ServiceForm`` pages (one service call on one order) and the steps every page of an
order takes (find the order, check the permission)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from django.contrib import messages
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect

from core.actors import Actor
from core.admin import ServiceForm, ServicePagesMixin, admin_change_url

from ..changes import OPEN
from ..models import Order

PLACE_HOLD_PERMISSION = "orders.place_hold"
PLACE_ON_BEHALF_PERMISSION = "orders.place_order_on_behalf"
CANCEL_PERMISSION = "orders.cancel_order"
EDIT_PERMISSION = "orders.edit_placed_order"

# Orders that can still be cancelled or edited.
OPEN_STATUSES = OPEN

# The URL names the order pages had before they were ``ServiceForm`` pages, where the
# slug alone would name them differently (``orders_order_submit``).
PAGE_URL_NAMES = {"submit": "submit_draft", "discard": "discard_draft"}


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


class OrderPageForm(ServiceForm):
    """A page on one order that makes one service call.

    ``statuses`` are the order statuses the page applies to (any when empty); on an
    order in another one the page sends the operator back with a warning ending in
    ``not_applicable``. ``summary`` is what the page shows above the form.
    """

    statuses: ClassVar[Sequence[str]] = ()
    not_applicable: ClassVar[str] = ""
    obj: Order

    def __init__(self, data: Any = None, *, obj: Order, user: Any = None, **kwargs: Any) -> None:
        super().__init__(data, obj=obj, **kwargs)
        self.user = user

    @property
    def order(self) -> Order:
        return self.obj

    @classmethod
    def unavailable_reason(cls, obj: Order) -> str:
        if not cls.statuses or obj.status in cls.statuses:
            return ""
        return f"{obj.number} is {obj.get_status_display().lower()}; {cls.not_applicable}."

    def summary(self) -> str:
        return ""


class OrderPagesMixin(ServicePagesMixin):
    """Serves the order's ``OrderPageForm`` pages and the steps its other pages share."""

    def page_url_name(self, slug: str) -> str:
        return super().page_url_name(PAGE_URL_NAMES.get(slug, slug))

    def get_service_form_kwargs(
        self, request: HttpRequest, obj: Any, form_class: type[ServiceForm]
    ) -> dict[str, Any]:
        return {"user": request.user} if issubclass(form_class, OrderPageForm) else {}

    def service_page_summary(self, request: HttpRequest, form: ServiceForm) -> str:
        return form.summary() if isinstance(form, OrderPageForm) else ""

    def _require(self, request: HttpRequest, permission: str) -> None:
        """The changelist-level pages: view permission on orders and ``permission``."""
        if not (self.has_view_permission(request) and request.user.has_perm(permission)):
            raise PermissionDenied

    def _done(self, request: HttpRequest, order: Order, message: str) -> HttpResponse:
        self.message_user(request, message, messages.SUCCESS)
        return HttpResponseRedirect(admin_change_url(order))
