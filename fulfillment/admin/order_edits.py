"""Cancelling and editing placed orders on the order console: the cancel page and bulk
action (``fulfillment.changes.cancel_order``: units held for fulfillment orders are taken
back), and the pages that change a quantity, add a line (``fulfillment.changes``) or
change the destination (``fulfillment.rerouting``: a routed order's fulfillment orders
move with it). Each page is an ``OrderPageForm`` (``CHANGE_PAGES``); ``order_console``
adds them to the order page."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import Max, QuerySet
from django.http import HttpRequest, HttpResponse

from core.actors import Actor
from core.admin import count_of, run_action_with_form, run_on_rows
from orders.admin.base import (
    CANCEL_PERMISSION,
    EDIT_PERMISSION,
    OPEN_STATUSES,
    OrderPageForm,
    OrderPagesMixin,
    actor_of,
    promised,
)
from orders.admin.tables import cancellation_message, lines_summary
from orders.forms import (
    ADDRESS_ERROR_FIELDS,
    CANCEL_LINES_PREFIX,
    AddLineForm,
    CancelLineFormSet,
    CancelReasonForm,
    ChangeQuantityForm,
    ShippingAddressForm,
    ShippingMethodForm,
    address_initial,
)
from orders.models import Order

from .. import changes, rerouting


class CancelOrderForm(OrderPageForm, CancelReasonForm):
    """A reason, and the units of each line to cancel (none: the whole order)."""

    title = "Cancel order"
    submit_label = "Cancel order / selected units"
    permission = CANCEL_PERMISSION
    statuses = OPEN_STATUSES
    not_applicable = "it cannot be cancelled"
    template = "admin/orders/order/cancel_form.html"

    def __init__(self, data: Any = None, *, obj: Order, user: Any = None, **kwargs: Any) -> None:
        super().__init__(data, obj=obj, user=user, **kwargs)
        self.lines = list(obj.lines.order_by("line_number"))
        self.formset = CancelLineFormSet(data, lines=self.lines, prefix=CANCEL_LINES_PREFIX)

    def is_valid(self) -> bool:
        # Both, so that the page shows the reason's and the lines' errors together.
        reason_valid = super().is_valid()
        return self.formset.is_valid() and reason_valid

    @property
    def page_title(self) -> str:
        return f"Cancel order {self.order.number}"

    def summary(self) -> str:
        return lines_summary(self.order, with_lines=False)

    def page_context(self) -> dict[str, Any]:
        formset = self.formset
        return {
            "formset": formset,
            "errors": bool(self.errors or any(formset.errors) or formset.non_form_errors()),
        }

    def perform(self, actor: Actor) -> str:
        quantities = self.formset.quantities()
        cancelled_before = {line.line_number: line.quantity_cancelled for line in self.lines}
        cancelled = changes.cancel_order(
            order_id=self.order.pk,
            reason=self.cleaned_data["reason"],
            actor=actor,
            lines=quantities or None,
        )
        return cancellation_message(cancelled, cancelled_before)


class EditPageForm(OrderPageForm):
    """An edit of a placed order: the page shows its lines above the form."""

    permission = EDIT_PERMISSION
    statuses = OPEN_STATUSES
    not_applicable = "it cannot be edited"

    def summary(self) -> str:
        return lines_summary(self.order)


class ChangeQuantityPageForm(EditPageForm, ChangeQuantityForm):
    title = "Change a quantity"
    submit_label = "Change quantity"

    def __init__(self, data: Any = None, *, obj: Order, user: Any = None, **kwargs: Any) -> None:
        lines = list(obj.lines.order_by("line_number"))
        super().__init__(data, obj=obj, user=user, lines=lines, **kwargs)

    @property
    def page_title(self) -> str:
        return f"Change a quantity on {self.order.number}"

    def perform(self, actor: Actor) -> str:
        data = self.cleaned_data
        changes.change_line_quantity(
            order_id=self.order.pk, line_number=data["line"], quantity=data["quantity"], actor=actor
        )
        return f"{self.order.number}: line {data['line']} now {data['quantity']} units."


class AddLinePageForm(EditPageForm, AddLineForm):
    title = "Add a line"
    submit_label = "Add line"

    def refusal_fields(self) -> dict[str, str]:
        # The service names the new line's fields by its index (``lines[2].customization``
        # for line 3): the line after the order's last one.
        index = self.order.lines.aggregate(last=Max("line_number"))["last"] or 0
        return {
            f"{prefix}{name}": name
            for prefix in ("", f"lines[{index}].")
            for name in ("sku", "quantity", "customization")
        }

    @property
    def page_title(self) -> str:
        return f"Add a line to {self.order.number}"

    def perform(self, actor: Actor) -> str:
        data = self.cleaned_data
        changes.add_line(
            order_id=self.order.pk,
            sku=data["sku"],
            quantity=data["quantity"],
            customization=data["customization"],
            actor=actor,
        )
        return f"{self.order.number}: added {data['quantity']} × {data['sku']}."


class ChangeAddressPageForm(EditPageForm, ShippingAddressForm):
    title = "Change the shipping address"
    submit_label = "Change address"
    error_fields = ADDRESS_ERROR_FIELDS

    def __init__(self, data: Any = None, *, obj: Order, user: Any = None, **kwargs: Any) -> None:
        if data is None and not kwargs.get("initial"):
            kwargs["initial"] = address_initial(obj, prefix="ship_")
        super().__init__(data, obj=obj, user=user, **kwargs)

    @property
    def page_title(self) -> str:
        return f"Change the shipping address of {self.order.number}"

    def perform(self, actor: Actor) -> str:
        order = self.order
        # A routed order's fulfillment orders move with it (fulfillment.rerouting).
        changed = rerouting.change_shipping_address(
            order_id=order.pk, address=self.address(), actor=actor
        )
        destination = changed.ship_to_one_line
        if changed.updated_at == order.updated_at:
            return f"{order.number}: nothing to change: it already ships to {destination}."
        return f"{order.number}: now ships to {destination}{promised(changed)}"


class ChangeShippingMethodPageForm(EditPageForm, ShippingMethodForm):
    title = "Change the shipping method"
    submit_label = "Change shipping method"

    def __init__(self, data: Any = None, *, obj: Order, user: Any = None, **kwargs: Any) -> None:
        if data is None and not kwargs.get("initial"):
            kwargs["initial"] = {"shipping_method": obj.shipping_method.code}
        super().__init__(data, obj=obj, user=user, **kwargs)

    @property
    def page_title(self) -> str:
        return f"Change the shipping method of {self.order.number}"

    def perform(self, actor: Actor) -> str:
        order, method = self.order, self.cleaned_data["shipping_method"]
        changed = rerouting.change_shipping_method(order_id=order.pk, code=method.code, actor=actor)
        if changed.updated_at == order.updated_at:
            return f"{order.number}: nothing to change: it already ships by {method.name}."
        return f"{order.number}: now ships by {method.name}{promised(changed)}"


CHANGE_PAGES: dict[str, type[OrderPageForm]] = {
    "cancel": CancelOrderForm,
    "change-quantity": ChangeQuantityPageForm,
    "add-line": AddLinePageForm,
    "change-address": ChangeAddressPageForm,
    "change-shipping-method": ChangeShippingMethodPageForm,
}


class ChangePagesMixin(OrderPagesMixin):
    """The bulk cancel action (the cancel and edit pages are ``CHANGE_PAGES``)."""

    def has_cancel_order_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(CANCEL_PERMISSION)

    @admin.action(description="Cancel selected orders…", permissions=["cancel_order"])
    def cancel_orders(self, request: HttpRequest, queryset: QuerySet[Order]) -> HttpResponse | None:
        def apply(form: forms.Form) -> None:
            reason, actor = form.cleaned_data["reason"], actor_of(request)
            # One transaction per order, so one refusal does not undo the others.
            run_on_rows(
                self,
                request,
                queryset.order_by("pk").values_list("pk", "number"),
                lambda order_id: changes.cancel_order(
                    order_id=order_id, reason=reason, actor=actor
                ),
                done_message=lambda outcome: f"Cancelled {count_of(outcome.done, 'order')}.",
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
