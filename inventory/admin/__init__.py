"""Operator console for products, locations and stock.

The location pages live here; products, stock levels (with the stock operations) and
the ledger have modules of their own, imported below so that their admins register.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.html import format_html
from django.utils.http import urlencode
from simple_history.admin import SimpleHistoryAdmin

from core.actors import Actor
from core.admin import (
    ConfirmForm,
    OperatorAdminMixin,
    PostalAddressForm,
    admin_changelist_url,
    adopt_saved,
    count_of,
    run_action_with_form,
    run_on_rows,
)
from core.errors import DomainError

from .. import services
from ..forms import TimeZoneField
from ..models import Location, StockLevel
from . import (  # noqa: F401 - their admins register on import
    ledger,
    products,
    purchase_orders,
    staff,
    stock_levels,
)
from .ledger import StockMovementAdmin

__all__ = ["StockMovementAdmin"]


def _actor(request: HttpRequest) -> Actor:
    return Actor.for_user(request.user)


# --- locations ------------------------------------------------------------------------


class LocationAdminForm(PostalAddressForm):
    time_zone = TimeZoneField()

    class Meta:
        model = Location
        fields = (
            "code",
            "name",
            "kind",
            "is_active",
            "ships",
            "pickup",
            "customization",
            "priority",
            "daily_capacity",
            "cost_per_shipment",
            "contact_email",
            "time_zone",
            "line1",
            "line2",
            "city",
            "region",
            "postal_code",
            "country",
            "phone",
            "latitude",
            "longitude",
        )

    def clean_code(self) -> str:
        # Codes are stored upper-case; normalising here lets the unique check see
        # "abc" and "ABC" as the same code before the service does.
        return str(self.cleaned_data["code"]).strip().upper()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if "time_zone" in self.errors or any(
            name in self.errors for name in ("country", "postal_code")
        ):
            return cleaned
        # A blank zone is the one of the location's ZIP code, on a new location (the
        # service decides) and on an edited one alike.
        try:
            cleaned["time_zone"] = services.location_time_zone(
                cleaned.get("time_zone") or "",
                country=str(cleaned.get("country") or ""),
                postal_code=str(cleaned.get("postal_code") or ""),
            )
        except DomainError as exc:
            self.add_error("time_zone", exc.message)
        return cleaned


@admin.register(Location)
class LocationAdmin(OperatorAdminMixin, SimpleHistoryAdmin):
    form = LocationAdminForm
    list_display = (
        "code",
        "name",
        "kind",
        "city",
        "country",
        "ships",
        "pickup",
        "customization",
        "priority",
        "daily_capacity",
        "is_active",
    )
    list_filter = ("kind", "is_active", "ships", "pickup", "customization")
    search_fields = ("code", "name", "city", "postal_code")
    fieldsets = (
        (None, {"fields": ("code", "name", "kind", "is_active", "stock_link")}),
        (
            "Capabilities",
            {
                "fields": (
                    ("ships", "pickup", "customization"),
                    "priority",
                    "daily_capacity",
                    "cost_per_shipment",
                    "contact_email",
                    "time_zone",
                )
            },
        ),
        (
            "Address",
            {
                "fields": (
                    "line1",
                    "line2",
                    "city",
                    "region",
                    "postal_code",
                    "country",
                    "phone",
                    ("latitude", "longitude"),
                ),
                "description": "US ZIP codes fill the coordinates when they are left empty.",
            },
        ),
        ("Record", {"fields": ("created_at", "updated_at")}),
    )
    actions = ("close_locations", "open_locations")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        # Opening or closing moves the location's stock in or out of the network
        # totals, so it is an action calling ``set_location_active``, not a checkbox.
        readonly = ("is_active", "stock_link", "created_at", "updated_at")
        return ("code", *readonly) if obj is not None else readonly

    @admin.display(description="Stock")
    def stock_link(self, obj: Location) -> str:
        if obj.pk is None:
            return "-"
        url = admin_changelist_url(StockLevel, urlencode({"location__id__exact": obj.pk}))
        return format_html('<a href="{}">Stock levels at {}</a>', url, obj.code)

    def save_model(self, request: HttpRequest, obj: Location, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        data = form.cleaned_data
        created = services.create_location(
            code=data["code"],
            name=data["name"],
            kind=data["kind"],
            address={
                f: data.get(f)
                for f in (
                    "line1",
                    "line2",
                    "city",
                    "region",
                    "postal_code",
                    "country",
                    "phone",
                    "latitude",
                    "longitude",
                )
            },
            ships=data["ships"],
            pickup=data["pickup"],
            customization=data["customization"],
            priority=data["priority"],
            daily_capacity=data["daily_capacity"],
            cost_per_shipment=data["cost_per_shipment"],
            contact_email=data["contact_email"],
            time_zone=data["time_zone"],
        )
        adopt_saved(obj, created)

    def has_set_active_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("inventory.change_location")

    def _set_active(
        self, request: HttpRequest, queryset: QuerySet[Location], *, active: bool
    ) -> HttpResponse | None:
        verb, done = ("Open", "opened") if active else ("Close", "closed")
        actor = _actor(request)

        def set_active(location: Location) -> None:
            services.set_location_active(location=location, active=active, actor=actor)

        def apply(form: forms.Form) -> None:
            # Locations already in the wanted state need no call; each other one is
            # opened or closed in its own transaction.
            to_change = queryset.exclude(is_active=active).order_by("pk")
            run_on_rows(
                self,
                request,
                ((location, location.code) for location in to_change),
                set_active,
                done_message=lambda outcome: (
                    f"{done.capitalize()} {count_of(outcome.done, 'location')}."
                ),
                nothing_message=f"Every selected location was already {done}.",
            )

        return run_action_with_form(
            self,
            request,
            queryset,
            form_class=ConfirmForm,
            title=f"{verb} locations",
            submit_label=f"{verb} locations",
            apply=apply,
        )

    @admin.action(
        description="Close selected locations (their stock leaves network availability)",
        permissions=["set_active"],
    )
    def close_locations(
        self, request: HttpRequest, queryset: QuerySet[Location]
    ) -> HttpResponse | None:
        return self._set_active(request, queryset, active=False)

    @admin.action(description="Open selected locations", permissions=["set_active"])
    def open_locations(
        self, request: HttpRequest, queryset: QuerySet[Location]
    ) -> HttpResponse | None:
        return self._set_active(request, queryset, active=True)
