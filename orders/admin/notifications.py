"""The notification log: every message sent (or skipped, or failed) about an order, by
e-mail and SMS, and the page an agent resends one from.

A resend is a new message to the same recipient on the same channel, rebuilt with
today's content, recorded as the agent's resend of the original (on the log and the
order's timeline) and sent after commit through the outbox
(``orders.notifications.request_resend``).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.db.models import Q, QuerySet
from django.http import HttpRequest

from core.actors import Actor
from core.admin import (
    AppendOnlyAdminMixin,
    OperatorAdminMixin,
    ServiceForm,
    ServicePagesMixin,
    short_datetime,
)
from customers.notification_models import CHANNEL_LABELS

from ..models import Notification, Order
from ..notifications import may_resend, request_resend

RESEND_PERMISSION = "orders.resend_notification"


class ResendForm(ServiceForm):
    title = "Resend message"
    submit_label = "Resend"
    permission = RESEND_PERMISSION
    obj: Notification

    reason = forms.CharField(
        required=False,
        max_length=200,
        label="Why (optional)",
        help_text="E.g. “customer says it never arrived”. The message is built again with "
        "today's content and sent once more to the same recipient on the same channel; "
        "it is recorded on the order's timeline as your resend, with this reason.",
    )

    @classmethod
    def unavailable_reason(cls, obj: Any) -> str:
        if may_resend(obj):
            return ""
        return (
            f"“{obj.subject or obj.event}” cannot be resent: only messages to the customer "
            "or the company's contacts that were sent or failed can be."
        )

    @property
    def page_title(self) -> str:
        channel = CHANNEL_LABELS.get(self.obj.channel, self.obj.channel)
        return f"Resend “{self.obj.subject}” by {channel} to {self.obj.recipient}"

    def perform(self, actor: Actor) -> str:
        resend = request_resend(
            notification_id=self.obj.pk, actor=actor, reason=self.cleaned_data["reason"]
        )
        self.changed = resend.order
        return (
            f"“{resend.subject}” will be sent again by "
            f"{CHANNEL_LABELS.get(resend.channel, resend.channel)} to {resend.recipient}."
        )


@admin.register(Notification)
class NotificationAdmin(
    ServicePagesMixin, OperatorAdminMixin, AppendOnlyAdminMixin, admin.ModelAdmin
):
    list_display = ("created", "order", "event", "channel", "recipient", "status", "resend_of")
    list_select_related = ("order",)
    list_filter = ("channel", "status", "event")
    search_help_text = "Exact order number or recipient (e-mail address or phone number)."
    search_fields = ("recipient",)
    change_select_related = ("order", "resend_of", "requested_by")
    ordering = ("-id",)
    service_pages = {"resend": ResendForm}
    exclude = ("params",)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Notification], search_term: str
    ) -> tuple[QuerySet[Notification], bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        orders = Order.objects.filter(number=term.upper()).values("pk")
        return queryset.filter(Q(order__in=orders) | Q(recipient=term)), False

    @admin.display(description="When", ordering="id")
    def created(self, obj: Notification) -> str:
        return short_datetime(obj.created_at)

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> Any:
        obj = self.get_object(request, unquote(object_id))
        tools = self.service_tools(request, obj) if obj is not None else []
        return super().change_view(
            request, object_id, form_url, {**(extra_context or {}), "service_tools": tools}
        )
