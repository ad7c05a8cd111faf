"""Holds on the order console: the hold pages and bulk actions of the order list, and
the holds queue. Placing and releasing go through ``fulfillment.holds`` (the order's
fulfillment orders follow its holds); each kind of hold has its own release permission
(``orders.services.may_release_hold``)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect

from fulfillment import holds as hold_workflows
from oms.core.admin import (
    AppendOnlyAdminMixin,
    OperatorAdminMixin,
    OrderNumberSearchMixin,
    admin_change_url,
    count_of,
    refusal_of,
    render_form_page,
    report_outcome,
    run_action_with_form,
    short_datetime,
)
from oms.core.errors import DomainError

from ..models import HOLD_RELEASED_BY, HoldKind, Order, OrderHold
from ..selectors import list_open_holds
from ..services import may_release_any_hold, releasable_hold_kinds
from .base import PLACE_HOLD_PERMISSION, OrderPagesMixin, actor_of
from .tables import holds_summary


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
        self.fields["hold"].queryset = list_open_holds(order).filter(  # type: ignore[attr-defined]
            kind__in=releasable_hold_kinds(user)
        )


class ReleaseHoldsForm(forms.Form):
    """Bulk release: which kind of hold, and why."""

    kind = forms.ChoiceField(choices=[("", "Every open hold"), *HoldKind.choices], required=False)
    reason = HoldReasonField(label="Release reason")


class ReleaseReasonForm(forms.Form):
    reason = HoldReasonField(label="Release reason")


def release_holds(
    request: HttpRequest, holds: QuerySet[OrderHold], reason: str
) -> tuple[int, list[str]]:
    """Release each hold in its own transaction, so one refusal does not undo the rest."""
    released, refused = 0, []
    for hold_id, number in holds.order_by("pk").values_list("pk", "order__number"):
        try:
            hold_workflows.release_order_hold(
                hold_id=hold_id, reason=reason, actor=actor_of(request)
            )
        except DomainError as exc:
            refused.append(refusal_of(number, exc.message))
        else:
            released += 1
    return released, refused


class HoldPagesMixin(OrderPagesMixin):
    """The order page's hold buttons and the order list's hold actions."""

    def has_place_hold_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(PLACE_HOLD_PERMISSION)

    def has_release_hold_permission(self, request: HttpRequest) -> bool:
        return may_release_any_hold(request.user)

    def place_hold_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        order = self._order_for(request, object_id, PLACE_HOLD_PERMISSION)
        form = PlaceHoldForm(request.POST if request.method == "POST" else None)
        if form.is_valid():
            try:
                hold = hold_workflows.place_order_hold(
                    order=order,
                    kind=form.cleaned_data["kind"],
                    reason=form.cleaned_data["reason"],
                    actor=actor_of(request),
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
            summary=holds_summary(order),
        )

    def release_hold_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        order = self.get_object(request, unquote(object_id))
        if order is None:
            raise Http404("No such order.")
        if not (self.has_view_permission(request, order) and may_release_any_hold(request.user)):
            raise PermissionDenied
        assert isinstance(order, Order)  # noqa: S101 - narrows the type
        open_holds = list(list_open_holds(order))
        if not open_holds:
            self.message_user(request, f"{order.number} has no open hold.", messages.WARNING)
            return HttpResponseRedirect(admin_change_url(order))
        releasable = set(releasable_hold_kinds(request.user))
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
                    actor=actor_of(request),
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
            summary=holds_summary(order),
        )

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
                        actor=actor_of(request),
                    )
                except DomainError as exc:
                    refused.append(refusal_of(order.number, exc.message))
                else:
                    held += 1
            report_outcome(
                self,
                request,
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
            released, refused = release_holds(request, holds, form.cleaned_data["reason"])
            report_outcome(
                self,
                request,
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


# --- the holds queue -----------------------------------------------------------------


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
        return may_release_any_hold(request.user)

    @admin.action(description="Release selected holds…", permissions=["release_hold"])
    def release_selected_holds(
        self, request: HttpRequest, queryset: QuerySet[OrderHold]
    ) -> HttpResponse | None:
        def apply(form: forms.Form) -> None:
            open_holds = queryset.filter(released_at__isnull=True)
            released, refused = release_holds(request, open_holds, form.cleaned_data["reason"])
            report_outcome(
                self,
                request,
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
