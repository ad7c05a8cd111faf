"""Warehouse staff assigned to locations (Inventory > Staff locations), for managers and
admins. The fulfillment queue opens on the work of the user's locations
(``assigned_location_ids``); a user with no assignment sees every location's work, and
only a user with ``inventory.see_all_locations`` may widen an assigned view to all."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.http import HttpRequest

from core.admin import OperatorAdminMixin

from ..models import Location, StaffLocation

SEE_ALL_LOCATIONS = "inventory.see_all_locations"


def assigned_location_ids(request: HttpRequest) -> list[int]:
    """The ids of the locations the request's user is assigned to (one query, once per
    request)."""
    cached: list[int] | None = getattr(request, "_oms_staff_locations", None)
    if cached is None:
        cached = list(
            StaffLocation.objects.filter(user_id=int(request.user.pk or 0))
            .order_by("location_id")
            .values_list("location_id", flat=True)
        )
        request._oms_staff_locations = cached  # type: ignore[attr-defined]
    return cached


def may_see_all_locations(request: HttpRequest) -> bool:
    return request.user.has_perm(SEE_ALL_LOCATIONS)


class StaffLocationForm(forms.ModelForm):
    class Meta:
        model = StaffLocation
        fields = ("user", "location")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = (  # type: ignore[attr-defined]
            get_user_model().objects.filter(is_staff=True, is_active=True).order_by("username")
        )
        self.fields["user"].help_text = "An active staff user."
        self.fields["location"].queryset = Location.objects.filter(  # type: ignore[attr-defined]
            is_active=True
        )

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        user, location = cleaned.get("user"), cleaned.get("location")
        if user is not None and location is not None:
            taken = StaffLocation.objects.filter(user=user, location=location).exclude(
                pk=self.instance.pk
            )
            if taken.exists():
                raise forms.ValidationError(
                    f"This user ({user}) is already assigned to {location.code}."
                )
        return cleaned

    def _get_validation_exclusions(self) -> set[str]:
        # Once the pair is refused above, in words, the unique constraint's own message
        # would only repeat it.
        excluded: set[str] = set(super()._get_validation_exclusions())  # type: ignore[misc]
        if self.errors:
            excluded |= {"user", "location"}
        return excluded


@admin.register(StaffLocation)
class StaffLocationAdmin(OperatorAdminMixin, admin.ModelAdmin):
    form = StaffLocationForm
    list_display = ("user", "full_name", "location", "created_at")
    list_select_related = ("user", "location")
    list_filter = ("location",)
    search_fields = ("user__username", "location__code")
    search_help_text = "Exact username or location code."
    change_select_related = ("user", "location")

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[StaffLocation], search_term: str
    ) -> tuple[QuerySet[StaffLocation], bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        found = queryset.filter(user__username=term) | queryset.filter(location__code=term.upper())
        return found, False

    @admin.display(description="Name")
    def full_name(self, obj: StaffLocation) -> str:
        return obj.user.get_full_name() or "-"
