"""Saved filters (Core > Saved filters): each staff user saves the filter and search of a
list under a name, then opens that list again from here or from the work queues page.

Every changelist has "Save this filter" and "My saved filters" buttons
(``templates/admin/change_list.html``); the first opens the form below filled in with the
list's address and query string. A user sees, applies and deletes only their own.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from django import forms
from django.contrib import admin, messages
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import Resolver404, resolve
from django.utils.html import format_html

from ..models import SavedFilter
from .display import short_datetime

# Query parameters that are not part of a filter: the page, a popup's plumbing.
NOT_A_FILTER = frozenset({"p", "_popup", "_to_field", "e"})


def is_staff(request: HttpRequest) -> bool:
    return bool(request.user.is_active and request.user.is_staff)


def user_id_of(request: HttpRequest) -> int:
    """The signed-in user's id (0, matching no row, for an anonymous one)."""
    return int(request.user.pk or 0)


def clean_query(query: str) -> str:
    """The query string without its '?' and without what is not a filter."""
    pairs = parse_qsl(query.strip().lstrip("?"), keep_blank_values=True)
    return urlencode([(k, v) for k, v in pairs if k not in NOT_A_FILTER])


class SavedFilterForm(forms.ModelForm):
    class Meta:
        model = SavedFilter
        fields = ("name", "changelist", "query")
        widgets = {"query": forms.TextInput(attrs={"size": 80})}

    def __init__(self, *args: Any, user: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_name(self) -> str:
        return " ".join(str(self.cleaned_data["name"]).split())

    def clean_changelist(self) -> str:
        path = urlsplit(str(self.cleaned_data["changelist"]).strip()).path
        try:
            match = resolve(path)
        except Resolver404:
            match = None
        if match is None or not str(match.url_name or "").endswith("_changelist"):
            raise forms.ValidationError(
                "That is not the address of a list of the back office: open the list, "
                "filter it, then use its “Save this filter” button."
            )
        return path

    def clean_query(self) -> str:
        return clean_query(str(self.cleaned_data.get("query") or ""))

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        name, changelist = cleaned.get("name"), cleaned.get("changelist")
        if name and changelist and self.user is not None:
            taken = SavedFilter.objects.filter(
                user=self.user, changelist=changelist, name=name
            ).exclude(pk=self.instance.pk)
            if taken.exists():
                self.add_error("name", f"You already have a filter named “{name}” on this list.")
        return cleaned


@admin.register(SavedFilter)
class SavedFilterAdmin(admin.ModelAdmin):
    """One staff user's saved filters; any staff user has their own."""

    form = SavedFilterForm
    list_display = ("name", "list_name", "apply_link", "saved")
    list_display_links = ("name",)
    search_fields = ("name",)
    search_help_text = "Part of the name."
    fields = ("name", "changelist", "query")
    ordering = ("changelist", "name")

    # --- each staff user manages their own rows ---

    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_staff(request)

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return self._owns(request, obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return is_staff(request)

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return self._owns(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return self._owns(request, obj)

    @staticmethod
    def _owns(request: HttpRequest, obj: Model | None) -> bool:
        if not is_staff(request):
            return False
        return obj is None or getattr(obj, "user_id", None) == user_id_of(request)

    def get_queryset(self, request: HttpRequest) -> QuerySet[SavedFilter]:
        return super().get_queryset(request).filter(user_id=user_id_of(request))

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        form_class = super().get_form(request, obj, change, **kwargs)
        user = request.user

        class BoundToUser(form_class):  # type: ignore[valid-type,misc]
            def __init__(self, *args: Any, **inner: Any) -> None:
                super().__init__(*args, user=user, **inner)

        return BoundToUser

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, str | list[str]]:
        # "Save this filter" on a list links here with the list's address and query.
        return {
            "changelist": request.GET.get("changelist", ""),
            "query": clean_query(request.GET.get("query", "")),
        }

    def save_model(self, request: HttpRequest, obj: SavedFilter, form: Any, change: bool) -> None:
        obj.user_id = user_id_of(request)
        super().save_model(request, obj, form, change)

    def response_add(
        self, request: HttpRequest, obj: SavedFilter, post_url_continue: str | None = None
    ) -> HttpResponse:
        if "_addanother" in request.POST or "_continue" in request.POST:
            return super().response_add(request, obj, post_url_continue)
        self.message_user(
            request,
            f"Saved “{obj.name}”: it is listed under My saved filters and on the work queues page.",
            messages.SUCCESS,
        )
        return HttpResponseRedirect(obj.url)

    # --- columns ---

    @admin.display(description="List", ordering="changelist")
    def list_name(self, obj: SavedFilter) -> str:
        return changelist_title(obj.changelist)

    @admin.display(description="Open")
    def apply_link(self, obj: SavedFilter) -> str:
        return format_html('<a href="{}">Open the list with this filter</a>', obj.url)

    @admin.display(description="Saved")
    def saved(self, obj: SavedFilter) -> str:
        return short_datetime(obj.created_at)


def changelist_title(path: str) -> str:
    """ "Orders" for /admin/orders/order/: the list's model, as the admin index names it."""
    try:
        match = resolve(path)
    except Resolver404:
        return path
    model_admin = getattr(match.func, "model_admin", None)
    if model_admin is None:
        return path
    return str(model_admin.model._meta.verbose_name_plural).capitalize()
