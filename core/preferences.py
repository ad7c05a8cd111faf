"""Each staff user's time zone and date style, applied to every console page.

- ``PreferenceBackend`` loads the user with their ``StaffPreference`` in the query that
  loads the user anyway, so applying it costs no query.
- ``StaffPreferenceMiddleware`` activates the user's time zone and date style for a
  console (admin) page, and puts the site's back after the response.
- ``format_datetime`` / ``format_date`` write a date the one way the viewer chose; the
  console's ``short_datetime`` and the ``when`` template filter (``core_dates``) use them.
- ``preferences_view``: the page where a user sets both (linked from the user menu).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Callable
from contextvars import ContextVar
from functools import cache
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from .models import DateStyle, StaffPreference

# Django date format strings of each style: with the time, and the date alone.
DATETIME_FORMATS = {
    DateStyle.ISO: "Y-m-d H:i",
    DateStyle.EUROPEAN: "d/m/Y H:i",
    DateStyle.US: "m/d/Y g:i A",
}
DATE_FORMATS = {
    DateStyle.ISO: "Y-m-d",
    DateStyle.EUROPEAN: "d/m/Y",
    DateStyle.US: "m/d/Y",
}

# The style of the request being answered; the site's default outside a console page.
_style: ContextVar[str] = ContextVar("oms_date_style", default=DateStyle.ISO)


def format_datetime(value: dt.datetime | None) -> str:
    """A timestamp in the viewer's time zone and date style; "-" for none."""
    if value is None:
        return "-"
    return date_format(timezone.localtime(value), DATETIME_FORMATS[DateStyle(_style.get())])


def format_date(value: dt.date | None) -> str:
    """A calendar date (a promise, a due date) in the viewer's date style; "-" for none."""
    if value is None:
        return "-"
    if isinstance(value, dt.datetime):
        value = timezone.localtime(value).date()
    return date_format(value, DATE_FORMATS[DateStyle(_style.get())])


@cache
def time_zone_names() -> tuple[str, ...]:
    return tuple(sorted(zoneinfo.available_timezones()))


def preference_of(user: Any) -> StaffPreference | None:
    """The user's row, loaded with the user by ``PreferenceBackend`` (no query then)."""
    if not getattr(user, "is_authenticated", False):
        return None
    # A missing reverse one-to-one raises a subclass of AttributeError.
    return getattr(user, "staff_preference", None)


class PreferenceBackend(ModelBackend):
    """Django's model backend, loading a session's user with their preferences."""

    def get_user(self, user_id: Any) -> Any:
        user_model = get_user_model()
        try:
            user = user_model._default_manager.select_related("staff_preference").get(pk=user_id)
        except user_model.DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None


class StaffPreferenceMiddleware:
    """Writes console pages in the viewer's time zone and date style."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = _style.set(_style.get())
        try:
            return self.get_response(request)
        finally:
            # The thread answers someone else next: the site's zone and style again.
            timezone.deactivate()
            _style.reset(token)

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., Any],
        view_args: Any,
        view_kwargs: Any,
    ) -> None:
        match = request.resolver_match
        # Only the console: the API and the customers' pages keep the site's settings.
        if match is None or (match.app_name != "admin" and match.url_name != "staff_preferences"):
            return
        preference = preference_of(request.user)
        if preference is None:
            return
        if preference.time_zone in time_zone_names():
            timezone.activate(zoneinfo.ZoneInfo(preference.time_zone))
        _style.set(preference.date_style)


class PreferenceForm(forms.Form):
    time_zone = forms.ChoiceField(
        required=False,
        help_text="Every date and time of the console is shown in this zone.",
    )
    date_style = forms.ChoiceField(
        choices=DateStyle.choices, widget=forms.RadioSelect, label="Dates"
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        site_zone = timezone.get_default_timezone_name()
        zone_field: Any = self.fields["time_zone"]
        zone_field.choices = [
            ("", f"The site's ({site_zone})"),
            *((name, name.replace("_", " ")) for name in time_zone_names()),
        ]


def preferences_view(request: HttpRequest) -> HttpResponse:
    """The user's own settings; any staff user may change theirs (``admin_view`` wraps it)."""
    preference = preference_of(request.user)
    initial = {
        "time_zone": preference.time_zone if preference else "",
        "date_style": preference.date_style if preference else DateStyle.ISO,
    }
    form = PreferenceForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        StaffPreference.objects.update_or_create(
            user=request.user,
            defaults={
                "time_zone": form.cleaned_data["time_zone"],
                "date_style": form.cleaned_data["date_style"],
            },
        )
        zone = form.cleaned_data["time_zone"] or timezone.get_default_timezone_name()
        style = DateStyle(form.cleaned_data["date_style"]).label
        messages.success(request, f"Saved: dates are shown in {zone}, written {style}.")
        return HttpResponseRedirect(reverse("staff_preferences"))
    context = {
        **admin.site.each_context(request),
        "title": "Your preferences",
        "form": form,
        "now_shown": format_datetime(timezone.now()),
    }
    return TemplateResponse(request, "admin/core/preferences.html", context)
