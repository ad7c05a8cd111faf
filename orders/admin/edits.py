"""Cancelling and editing placed orders: the cancel page and bulk action
(``orders.changes.cancel_order``), and the pages that change a quantity, add a line
(``orders.changes``) or change the destination (``fulfillment.rerouting``: a routed
order's fulfillment orders move with it)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from fulfillment import rerouting
from oms.core.admin import (
    admin_change_url,
    count_of,
    refusal_of,
    render_form_page,
    report_outcome,
    run_action_with_form,
)
from oms.core.errors import DomainError

from .. import changes
from ..forms import (
    ADDRESS_ERROR_FIELDS,
    CANCEL_LINES_PREFIX,
    AddLineForm,
    CancelLineFormSet,
    CancelReasonForm,
    ChangeQuantityForm,
    ShippingAddressForm,
    ShippingMethodForm,
    add_domain_error,
    address_initial,
)
from ..models import Order
from .base import (
    CANCEL_PERMISSION,
    EDIT_PERMISSION,
    OPEN_STATUSES,
    OrderPagesMixin,
    actor_of,
    promised,
)
from .tables import cancellation_message, lines_summary


class ChangePagesMixin(OrderPagesMixin):
    """The cancel and edit pages of a placed order, and the bulk cancel action."""

    def has_cancel_order_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(CANCEL_PERMISSION)

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
                    actor=actor_of(request),
                    lines=quantities or None,
                )
            except DomainError as exc:
                add_domain_error(form, exc)
            else:
                return self._done(request, order, cancellation_message(cancelled, cancelled_before))
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
                        actor=actor_of(request),
                    )
                except DomainError as exc:
                    refused.append(refusal_of(number, exc.message))
                else:
                    cancelled += 1
            report_outcome(
                self,
                request,
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
                actor=actor_of(request),
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
                actor=actor_of(request),
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
                order_id=order.pk, address=form.address(), actor=actor_of(request)
            )
            if changed.updated_at == order.updated_at:
                return f"nothing to change: it already ships to {changed.ship_to_one_line}."
            return f"now ships to {changed.ship_to_one_line}{promised(changed)}"

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
                order_id=order.pk, code=method.code, actor=actor_of(request)
            )
            if changed.updated_at == order.updated_at:
                return f"nothing to change: it already ships by {method.name}."
            return f"now ships by {method.name}{promised(changed)}"

        return self._edit_page(
            request,
            order,
            form,
            title=f"Change the shipping method of {order.number}",
            submit_label="Change shipping method",
            perform=perform,
        )
