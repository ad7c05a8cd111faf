"""Webhooks in the admin: subscriptions with their delivery log, enable and disable,
events with a replay action, and what the demo's receiver took. The secret is never
shown here."""

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from . import services
from .models import (
    EventType,
    ReceivedWebhook,
    WebhookDelivery,
    WebhookEvent,
    WebhookSubscription,
)
from .receiver import pretty
from .urls_safety import UnsafeUrl, check_url

LOG_FIELDS = (
    "created_at",
    "attempt",
    "succeeded",
    "status_code",
    "response_ms",
    "error",
    "body_excerpt",
)


class _ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class SubscriptionDeliveryInline(_ReadOnlyInline):
    """The subscription's delivery log, newest first."""

    model = WebhookDelivery
    fields = ("event", *LOG_FIELDS)
    readonly_fields = fields
    ordering = ("-created_at", "-id")
    verbose_name_plural = "delivery log"

    def get_queryset(self, request: HttpRequest) -> QuerySet[WebhookDelivery]:
        return super().get_queryset(request).select_related("event")


class EventDeliveryInline(_ReadOnlyInline):
    model = WebhookDelivery
    fields = ("subscription", *LOG_FIELDS)
    readonly_fields = fields
    ordering = ("-created_at", "-id")

    def get_queryset(self, request: HttpRequest) -> QuerySet[WebhookDelivery]:
        return super().get_queryset(request).select_related("subscription")


class SubscriptionForm(forms.ModelForm):
    url = forms.URLField(max_length=500, assume_scheme="https")
    event_types = forms.TypedMultipleChoiceField(
        choices=EventType.choices, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = WebhookSubscription
        fields = ("company", "url", "event_types", "is_active")

    def clean_url(self) -> str:
        url: str = self.cleaned_data["url"]
        try:
            check_url(url)
        except UnsafeUrl as exc:
            raise forms.ValidationError(str(exc)) from exc
        return url


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(admin.ModelAdmin):
    form = SubscriptionForm
    list_display = (
        "url",
        "company",
        "is_active",
        "consecutive_failures",
        "disabled_reason",
        "created_at",
    )
    list_filter = ("is_active",)
    search_fields = ("url", "company__name", "company__account_number")
    list_select_related = ("company",)
    autocomplete_fields = ("company",)
    fields = (
        "company",
        "url",
        "event_types",
        "is_active",
        "disabled_reason",
        "consecutive_failures",
        "previous_secret_until",
        "created_at",
        "updated_at",
    )
    readonly_fields = (
        "disabled_reason",
        "consecutive_failures",
        "previous_secret_until",
        "created_at",
        "updated_at",
    )
    inlines = [SubscriptionDeliveryInline]
    actions = ["enable", "disable"]

    @admin.action(description="Enable the selected subscriptions", permissions=["change"])
    def enable(self, request: HttpRequest, queryset: QuerySet[WebhookSubscription]) -> None:
        for subscription in queryset:
            services.set_active(subscription, True)
        self.message_user(request, f"Enabled {len(queryset)} subscriptions.", messages.SUCCESS)

    @admin.action(description="Disable the selected subscriptions", permissions=["change"])
    def disable(self, request: HttpRequest, queryset: QuerySet[WebhookSubscription]) -> None:
        for subscription in queryset:
            services.set_active(subscription, False)
        self.message_user(request, f"Disabled {len(queryset)} subscriptions.", messages.SUCCESS)


@admin.register(WebhookEvent)
class WebhookEventAdmin(admin.ModelAdmin):
    list_display = ("event_id", "type", "company", "created_at")
    list_filter = ("type",)
    search_fields = ("event_id", "company__name", "company__account_number")
    list_select_related = ("company",)
    fields = ("event_id", "type", "company", "payload", "source_event_id", "created_at")
    readonly_fields = fields
    inlines = [EventDeliveryInline]
    actions = ["replay"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_replay_permission(self, request: HttpRequest) -> bool:
        """Replaying sends to a company's systems: whoever may change subscriptions."""
        return request.user.has_perm("webhooks.change_webhooksubscription")

    @admin.action(
        description="Replay to the company's subscriptions of the type", permissions=["replay"]
    )
    def replay(self, request: HttpRequest, queryset: QuerySet[WebhookEvent]) -> None:
        queued = 0
        for event in queryset:
            for subscription in WebhookSubscription.objects.filter(company_id=event.company_id):
                if event.type in subscription.event_types:
                    services.replay(subscription, event)
                    queued += 1
        self.message_user(request, f"Queued {queued} deliveries.", messages.SUCCESS)


@admin.register(ReceivedWebhook)
class ReceivedWebhookAdmin(admin.ModelAdmin):
    """What the demo's receiver took (``webhooks.receiver``), newest first."""

    list_display = ("received_at", "event_type", "order_number", "webhook_id", "subscription")
    list_filter = ("event_type",)
    search_fields = ("webhook_id",)
    list_select_related = ("subscription",)
    fields = ("received_at", "event_type", "webhook_id", "subscription", "body_shown")
    readonly_fields = fields

    @admin.display(description="order")
    def order_number(self, obj: ReceivedWebhook) -> str:
        order = (obj.body.get("data") or {}).get("order") or {}
        return str(order.get("number", ""))

    @admin.display(description="body (verified)")
    def body_shown(self, obj: ReceivedWebhook) -> str:
        return format_html("<pre>{}</pre>", pretty(obj.body))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
