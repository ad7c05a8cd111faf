"""Holds on the order console: the hold pages of an order (``HOLD_PAGES``), the bulk
actions of the order list, and the release action of the holds queue. Placing and
releasing go through ``fulfillment.holds`` (the order's fulfillment orders follow its
holds); each kind of hold has its own release permission
(``orders.services.may_release_hold``). ``order_console`` adds the pages and actions to
the order page; the holds queue gets its release action here."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse

from core.actors import Actor
from core.admin import count_of, replace_admin, run_action_with_form, run_on_rows, short_datetime
from orders.admin.base import PLACE_HOLD_PERMISSION, OrderPageForm, OrderPagesMixin, actor_of
from orders.admin.holds import OrderHoldAdmin
from orders.admin.tables import holds_summary
from orders.models import HOLD_RELEASED_BY, HoldKind, Order, OrderHold
from orders.selectors import list_open_holds
from orders.services import may_release_any_hold, releasable_hold_kinds

from .. import holds as hold_workflows


class HoldReasonField(forms.CharField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("widget", forms.Textarea(attrs={"rows": 3}))
        kwargs.setdefault("help_text", "Kept on the hold and in the order's timeline.")
        super().__init__(**kwargs)


class HoldKindReasonForm(forms.Form):
    """Which kind of hold, and why (the bulk action's page)."""

    kind = forms.ChoiceField(choices=HoldKind.choices, initial=HoldKind.MANUAL)
    reason = HoldReasonField()


class PlaceHoldForm(OrderPageForm, HoldKindReasonForm):
    title = "Put on hold"
    submit_label = "Place hold"
    permission = PLACE_HOLD_PERMISSION

    @property
    def page_title(self) -> str:
        return f"Put {self.order.number} on hold"

    def summary(self) -> str:
        return holds_summary(self.order)

    def perform(self, actor: Actor) -> str:
        hold = hold_workflows.place_order_hold(
            order=self.order,
            kind=self.cleaned_data["kind"],
            reason=self.cleaned_data["reason"],
            actor=actor,
        )
        return f"{self.order.number}: {hold.get_kind_display()} hold placed."


class HoldChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return (
            f"{obj.get_kind_display()}: {obj.reason} "
            f"(placed {short_datetime(obj.placed_at)} by {obj.placed_by_label})"
        )


class ReleaseHoldForm(OrderPageForm):
    title = "Release a hold"
    submit_label = "Release hold"

    hold = HoldChoiceField(queryset=OrderHold.objects.none(), empty_label=None)
    reason = HoldReasonField(label="Release reason")

    def __init__(self, data: Any = None, *, obj: Order, user: Any = None, **kwargs: Any) -> None:
        super().__init__(data, obj=obj, user=user, **kwargs)
        # Only this order's open holds of the kinds this user may release can be
        # picked, so a stale or forged id is a plain "select a valid choice" error.
        self.fields["hold"].queryset = list_open_holds(obj).filter(  # type: ignore[attr-defined]
            kind__in=releasable_hold_kinds(user)
        )

    @classmethod
    def allowed(cls, user: Any) -> bool:
        # Each kind of hold has its own release permission.
        return may_release_any_hold(user)

    @classmethod
    def unavailable_reason(cls, obj: Order) -> str:
        return "" if list_open_holds(obj).exists() else f"{obj.number} has no open hold."

    @classmethod
    def refused_to(cls, obj: Order, user: Any) -> str:
        open_holds = list(list_open_holds(obj))
        releasable = set(releasable_hold_kinds(user))
        if any(h.kind in releasable for h in open_holds):
            return ""
        return (
            "; ".join(
                f"{h.get_kind_display()} holds are released by {HOLD_RELEASED_BY[h.kind]}"
                for h in open_holds
            )
            + "."
        )

    @property
    def page_title(self) -> str:
        return f"Release a hold on {self.order.number}"

    def summary(self) -> str:
        return holds_summary(self.order)

    def perform(self, actor: Actor) -> str:
        hold = hold_workflows.release_order_hold(
            hold_id=self.cleaned_data["hold"].pk,
            reason=self.cleaned_data["reason"],
            actor=actor,
        )
        return f"{self.order.number}: {hold.get_kind_display()} hold released."


class ReleaseHoldsForm(forms.Form):
    """Bulk release: which kind of hold, and why."""

    kind = forms.ChoiceField(choices=[("", "Every open hold"), *HoldKind.choices], required=False)
    reason = HoldReasonField(label="Release reason")


class ReleaseReasonForm(forms.Form):
    reason = HoldReasonField(label="Release reason")


HOLD_PAGES: dict[str, type[OrderPageForm]] = {
    "place-hold": PlaceHoldForm,
    "release-hold": ReleaseHoldForm,
}


def release_holds(
    model_admin: admin.ModelAdmin[Any],
    request: HttpRequest,
    holds: QuerySet[OrderHold],
    reason: str,
    *,
    nothing_message: str,
) -> None:
    """Release each hold in its own transaction, so one refusal does not undo the rest."""
    actor = actor_of(request)
    run_on_rows(
        model_admin,
        request,
        holds.order_by("pk").values_list("pk", "order__number"),
        lambda hold_id: hold_workflows.release_order_hold(
            hold_id=hold_id, reason=reason, actor=actor
        ),
        done_message=lambda outcome: f"Released {count_of(outcome.done, 'hold')}.",
        nothing_message=nothing_message,
    )


class HoldPagesMixin(OrderPagesMixin):
    """The order list's hold actions (the order page's hold buttons are ``HOLD_PAGES``)."""

    def has_place_hold_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(PLACE_HOLD_PERMISSION)

    def has_release_hold_permission(self, request: HttpRequest) -> bool:
        return may_release_any_hold(request.user)

    @admin.action(description="Put selected orders on hold…", permissions=["place_hold"])
    def place_hold_on_orders(
        self, request: HttpRequest, queryset: QuerySet[Order]
    ) -> HttpResponse | None:
        def apply(form: forms.Form) -> None:
            data, actor = form.cleaned_data, actor_of(request)
            run_on_rows(
                self,
                request,
                ((order, order.number) for order in queryset),
                lambda order: hold_workflows.place_order_hold(
                    order=order, kind=data["kind"], reason=data["reason"], actor=actor
                ),
                done_message=lambda outcome: f"Put {count_of(outcome.done, 'order')} on hold.",
                nothing_message="No order was put on hold.",
            )

        return run_action_with_form(
            self,
            request,
            queryset,
            form_class=HoldKindReasonForm,
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
            release_holds(
                self,
                request,
                holds,
                form.cleaned_data["reason"],
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


class OrderHoldWithReleaseAdmin(OrderHoldAdmin):
    """The holds queue, with its release action (fulfillment orders follow the holds)."""

    actions = ("release_selected_holds",)

    def has_release_hold_permission(self, request: HttpRequest) -> bool:
        return may_release_any_hold(request.user)

    @admin.action(description="Release selected holds…", permissions=["release_hold"])
    def release_selected_holds(
        self, request: HttpRequest, queryset: QuerySet[OrderHold]
    ) -> HttpResponse | None:
        def apply(form: forms.Form) -> None:
            release_holds(
                self,
                request,
                queryset.filter(released_at__isnull=True),
                form.cleaned_data["reason"],
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


replace_admin(OrderHold, OrderHoldWithReleaseAdmin)
