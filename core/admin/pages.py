"""Console pages where an operator types the input of a service call: a form page,
an action's intermediate page, and ``ServiceForm`` pages served by ``ServicePagesMixin``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse

from ..actors import Actor
from ..errors import DomainError
from .display import admin_change_url, admin_changelist_url

if TYPE_CHECKING:
    _ModelAdminBase = admin.ModelAdmin[Any]
else:
    _ModelAdminBase = object


# An action's confirmation page lists this many of the selected rows.
ACTION_PREVIEW_ROWS = 100
FORM_PAGE_TEMPLATE = "admin/oms/form_page.html"


def render_form_page(
    model_admin: admin.ModelAdmin[Any],
    request: HttpRequest,
    *,
    form: forms.Form,
    title: str,
    submit_label: str,
    original: Model | None = None,
    summary: str = "",
    cancel_url: str = "",
    extra: dict[str, Any] | None = None,
    template: str = FORM_PAGE_TEMPLATE,
) -> TemplateResponse:
    """Render a console page holding one form: a stock operation, a hold, an action."""
    opts = model_admin.model._meta
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": opts,
        "app_label": opts.app_label,
        "title": title,
        "form": form,
        "media": model_admin.media + form.media,
        "submit_label": submit_label,
        "original": original,
        "summary": summary,
        "cancel_url": cancel_url
        or (admin_change_url(original) if original else admin_changelist_url(model_admin.model)),
        **(extra or {}),
    }
    request.current_app = model_admin.admin_site.name
    return TemplateResponse(request, template, context)


class ConfirmForm(forms.Form):
    """The confirmation step of an action that needs no input."""


def run_action_with_form(
    model_admin: admin.ModelAdmin[Any],
    request: HttpRequest,
    queryset: QuerySet[Any],
    *,
    form_class: type[forms.Form],
    title: str,
    submit_label: str,
    apply: Callable[[forms.Form], None],
) -> HttpResponse | None:
    """An admin action with an intermediate page: show the selected rows and a form
    (a reason, a hold kind); on a valid submit call ``apply`` and return to the list.

    The page posts back the action name and the selected ids, so Django routes the
    second request to the same action; ``apply`` marks that second request.
    """
    if "apply" in request.POST:
        form = form_class(request.POST)
        if form.is_valid():
            apply(form)
            return None
    else:
        form = form_class()
    return render_form_page(
        model_admin,
        request,
        form=form,
        title=title,
        submit_label=submit_label,
        extra={
            "action_name": request.POST.get("action", ""),
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "selected_ids": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
            "select_across": request.POST.get("select_across", "0"),
            "selected": list(queryset[:ACTION_PREVIEW_ROWS]),
        },
    )


# --- pages that make one service call ----------------------------------------------------


class ServiceForm(forms.Form):
    """The form of a console page whose valid submit makes exactly one service call.

    A subclass names its page (``title``, ``submit_label``), the permission it needs
    besides viewing the model, and implements ``perform``: the service call, returning
    the success message (also kept in the admin history). The form checks the shape of
    the input; the service decides the rest, and a refusal (``DomainError``) is shown by
    ``show_refusal``. Every service checks before it writes (or rolls back), so a form
    that comes back after a refusal means nothing changed.

    ``obj`` is the row the page is about (``None`` on a page of the changelist, see
    ``needs_object``). ``changed`` is the row the success is recorded on and redirected
    to: ``obj`` unless ``perform`` sets another (a row the service created).
    """

    title: ClassVar[str]
    submit_label: ClassVar[str] = "Save"
    permission: ClassVar[str]
    # A page on one row (``<id>/<slug>/``) or on the changelist (``<slug>/``).
    needs_object: ClassVar[bool] = True
    # ``details["fields"]`` keys of the service's refusals -> the form fields they are about.
    error_fields: ClassVar[Mapping[str, str]] = {}
    # A page with more than the form (a line formset) has its own template, which
    # extends this one; ``page_context`` gives it what it shows besides the form.
    template: ClassVar[str] = FORM_PAGE_TEMPLATE

    def __init__(self, data: Any = None, *, obj: Any = None, **kwargs: Any) -> None:
        super().__init__(data, **kwargs)
        self.obj = obj
        self.changed: Model | None = obj

    @classmethod
    def allowed(cls, user: Any) -> bool:
        """Whether ``user`` may use the page at all (403 otherwise)."""
        return bool(user.has_perm(cls.permission))

    @classmethod
    def unavailable_reason(cls, obj: Any) -> str:
        """Why the page does not apply to ``obj`` now (its button is hidden and the page
        sends the operator back with this warning); empty when it does."""
        return ""

    @classmethod
    def refused_to(cls, obj: Any, user: Any) -> str:
        """Why ``user`` may not act on ``obj`` although the page applies (a hold of a
        kind their role does not release): an error, and back to the row."""
        return ""

    def page_context(self) -> dict[str, Any]:
        """What the page's own ``template`` shows besides the form."""
        return {}

    @property
    def page_title(self) -> str:
        return f"{self.title}: {self.obj}" if self.obj is not None else self.title

    def perform(self, actor: Actor) -> str:
        """Make the service call; return the success message."""
        raise NotImplementedError

    def refusal_fields(self) -> Mapping[str, str]:
        """``error_fields``; a form whose service names fields after the row (a new
        line's index) builds them here."""
        return self.error_fields

    def refusal_field(self, exc: DomainError) -> str | None:
        """The field a refusal is wholly about (a wrong pickup code), shown on it as a
        field error instead of as a message; None for a refusal of the request."""
        return None


def _sentence(problem: object) -> str:
    """A service's terse field problem as a sentence: ``not customizable`` -> ``Not
    customizable.``"""
    text = str(problem).strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "?", "!")) else f"{text}."


def show_refusal(
    model_admin: admin.ModelAdmin[Any],
    request: HttpRequest,
    form: forms.Form,
    exc: DomainError,
    *,
    error_fields: Mapping[str, str] | None = None,
    refusal_field: str | None = None,
) -> None:
    """Show a refused service call: its message as an error message above the form as
    it was typed, never as a form error under a "Please correct the error below" banner.

    A refusal wholly about one field (``refusal_field``) is that field's error instead.
    Entries of ``details["fields"]`` named in ``error_fields`` (service key -> form
    field) also go on their fields, as sentences, beside the message.
    """
    if refusal_field is not None and refusal_field in form.fields:
        form.add_error(refusal_field, exc.message)
        return
    model_admin.message_user(request, exc.message, messages.ERROR)
    details = exc.details.get("fields")
    if not isinstance(details, dict) or not error_fields:
        return
    for key, problem in details.items():
        target = error_fields.get(str(key))
        if target is not None and target in form.fields:
            form.add_error(target, _sentence(problem))


class ServicePagesMixin(_ModelAdminBase):
    """Serves the ``ServiceForm`` pages of a ``ModelAdmin``.

    ``service_pages`` maps a URL slug to its form: ``<id>/<slug>/`` for a form that
    ``needs_object``, ``<slug>/`` otherwise, named ``admin:<app>_<model>_<slug>`` (dashes
    become underscores). Each page:

    - answers 404 for a row the user cannot see and 403 without the form's permission;
    - sends the operator back to the row with a warning when ``unavailable_reason``
      says the page does not apply now;
    - on a valid POST calls ``perform``; a refusal is shown by ``show_refusal`` on the
      same page, a success is logged in the admin history, told as a success message,
      and redirects to the changed row;
    - otherwise shows the form (prefilled from the query string on GET).

    Hooks: ``get_service_form_kwargs`` (what the form needs besides ``obj``) and
    ``service_page_summary`` (what the page shows above the form).
    """

    service_pages: ClassVar[Mapping[str, type[ServiceForm]]] = {}

    def page_url_name(self, slug: str) -> str:
        """The URL name (without ``admin:``) of a page hung under this admin."""
        opts = self.model._meta
        return f"{opts.app_label}_{opts.model_name}_{slug.replace('-', '_')}"

    def get_urls(self) -> list[URLPattern]:
        pages = [
            path(
                f"<path:object_id>/{slug}/" if form_class.needs_object else f"{slug}/",
                self.admin_site.admin_view(partial(self.service_page_view, form_class=form_class)),
                name=self.page_url_name(slug),
            )
            for slug, form_class in self.service_pages.items()
        ]
        # Ahead of Django's own: its ``<path:object_id>/`` would take them otherwise.
        return [*pages, *super().get_urls()]

    def service_tools(self, request: HttpRequest, obj: Model) -> list[dict[str, str]]:
        """The buttons of ``obj``'s page: the pages on it that the user may open now."""
        return [
            {
                "url": reverse(f"admin:{self.page_url_name(slug)}", args=[obj.pk]),
                "title": form_class.title,
            }
            for slug, form_class in self.service_pages.items()
            if form_class.needs_object
            and form_class.allowed(request.user)
            and not form_class.unavailable_reason(obj)
            and not form_class.refused_to(obj, request.user)
        ]

    def get_service_form_kwargs(
        self, request: HttpRequest, obj: Any, form_class: type[ServiceForm]
    ) -> dict[str, Any]:
        return {}

    def service_page_summary(self, request: HttpRequest, form: ServiceForm) -> str:
        return ""

    def _service_object(
        self, request: HttpRequest, object_id: str | None, form_class: type[ServiceForm]
    ) -> Any:
        if object_id is None:
            if not self.has_view_permission(request):
                raise PermissionDenied
            obj = None
        else:
            obj = self.get_object(request, unquote(object_id))
            if obj is None:
                raise Http404(f"No such {self.model._meta.verbose_name}.")
            if not self.has_view_permission(request, obj):
                raise PermissionDenied
        if not form_class.allowed(request.user):
            raise PermissionDenied
        return obj

    def service_page_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        *,
        form_class: type[ServiceForm],
    ) -> HttpResponse:
        obj = self._service_object(request, object_id, form_class)
        if obj is not None:
            unavailable = form_class.unavailable_reason(obj)
            if unavailable:
                self.message_user(request, unavailable, messages.WARNING)
                return HttpResponseRedirect(admin_change_url(obj))
            refused = form_class.refused_to(obj, request.user)
            if refused:
                self.message_user(request, refused, messages.ERROR)
                return HttpResponseRedirect(admin_change_url(obj))
        kwargs = {"obj": obj, **self.get_service_form_kwargs(request, obj, form_class)}
        if request.method == "POST":
            form = form_class(request.POST, **kwargs)
        else:
            query = request.GET
            initial = {name: query[name] for name in form_class.base_fields if name in query}
            form = form_class(initial=initial, **kwargs)
        if form.is_bound and form.is_valid():
            try:
                message = form.perform(Actor.for_user(request.user))
            except DomainError as exc:
                show_refusal(
                    self,
                    request,
                    form,
                    exc,
                    error_fields=form.refusal_fields(),
                    refusal_field=form.refusal_field(exc),
                )
            else:
                changed = form.changed
                if changed is not None:
                    self.log_change(request, changed, message)
                self.message_user(request, message, messages.SUCCESS)
                return HttpResponseRedirect(
                    admin_change_url(changed)
                    if changed is not None
                    else admin_changelist_url(self.model)
                )
        return render_form_page(
            self,
            request,
            form=form,
            title=form.page_title,
            submit_label=form.submit_label,
            original=obj,
            summary=self.service_page_summary(request, form),
            extra=form.page_context(),
            template=form.template,
        )
