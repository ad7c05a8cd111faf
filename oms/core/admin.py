"""Building blocks shared by the operator console (the Django admin of every app).

- ``BoundedCountPaginator``: changelists never run an unbounded ``COUNT(*)``.
- ``OperatorAdminMixin``: the defaults every ``ModelAdmin`` of the console starts from.
- ``AppendOnlyAdminMixin`` / ``ReadOnlyInlineMixin``: ledgers, timelines and holds are
  shown, never added, edited or deleted by hand.
- ``render_form_page`` and ``run_action_with_form``: the pages where an operator types
  the input of a service call (a reason, a quantity) before it runs.
- ``ServiceForm`` + ``ServicePagesMixin``: a console page whose valid submit makes one
  service call and reports the outcome; ``show_refusal`` shows a refused call as an
  error message above the unchanged form (never as a "Please correct" banner).
- ``run_on_rows`` and ``report_outcome``: a bulk action, one service call per row, and
  what it did, told honestly (see "Words on screen" in docs/architecture.md).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import unquote
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.formats import date_format, number_format
from django.utils.functional import cached_property
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.timezone import localtime

from .actors import Actor
from .errors import DomainError

if TYPE_CHECKING:
    from django.contrib.admin.options import InlineModelAdmin

    _ModelAdminBase = admin.ModelAdmin[Any]
    _InlineBase = InlineModelAdmin[Any, Any]
else:
    _ModelAdminBase = object
    _InlineBase = object

DEFAULT_EXACT_COUNT_LIMIT = 10_000
# The limit never goes below this or the page size: a changelist whose count is not
# above both its page size and Django's "Show all" cap (200 rows) would list the whole
# queryset unpaginated, which on a large table is exactly what the bound prevents.
MIN_EXACT_COUNT_LIMIT = 200
# An action's confirmation page lists this many of the selected rows.
ACTION_PREVIEW_ROWS = 100


def exact_count_limit() -> int:
    return int(getattr(settings, "OMS_ADMIN_EXACT_COUNT_LIMIT", DEFAULT_EXACT_COUNT_LIMIT))


def table_row_estimate(queryset: QuerySet[Any]) -> int | None:
    """The planner's row estimate for the queryset's table, or None where there is none.

    PostgreSQL keeps it in ``pg_class.reltuples`` (refreshed by VACUUM/ANALYZE); it is
    -1 for a table never analysed, which we treat as unknown.
    """
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        return None
    table = connection.ops.quote_name(queryset.model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass(%s)", [table]
        )
        row = cursor.fetchone()
    if row is None or row[0] is None or row[0] < 0:
        return None
    return int(row[0])


def _is_unfiltered(queryset: QuerySet[Any]) -> bool:
    query = queryset.query
    return not query.where and not query.distinct and not query.combinator


class BoundedCountPaginator(Paginator):
    """A paginator whose count never scans more than ``OMS_ADMIN_EXACT_COUNT_LIMIT`` rows.

    An unfiltered table takes the planner's estimate when that is above the limit (one
    catalog lookup, no scan). Otherwise the count runs over at most limit + 1 rows
    (``SELECT count(*) FROM (... LIMIT n + 1)``): exact up to the limit, and reported
    as "more than <limit>" beyond it. Pages past the true end of an estimate are
    simply empty; that is the price of not counting a million rows on every page view.
    """

    count_is_exact: bool = True
    count_label: str = ""

    @cached_property
    def count(self) -> int:
        object_list = self.object_list
        if not isinstance(object_list, QuerySet):
            return len(object_list)
        limit = max(exact_count_limit(), MIN_EXACT_COUNT_LIMIT, self.per_page)
        if _is_unfiltered(object_list):
            estimate = table_row_estimate(object_list)
            if estimate is not None and estimate > limit:
                self.count_is_exact = False
                self.count_label = f"about {number_format(estimate, force_grouping=True)}"
                return estimate
        # order_by() drops the sort, which a count does not need; select_related joins
        # are dropped from the subquery by Django itself.
        bounded = object_list.order_by()[: limit + 1].count()
        if bounded > limit:
            self.count_is_exact = False
            self.count_label = f"more than {number_format(limit, force_grouping=True)}"
        return bounded


def short_datetime(value: dt.datetime | None) -> str:
    """A timestamp in the site's time zone, compact enough for a table cell."""
    return date_format(localtime(value), "Y-m-d H:i") if value else "-"


def admin_change_url(obj: Model) -> str:
    opts = obj._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])


def admin_changelist_url(model: type[Model], query: str = "") -> str:
    opts = model._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    return f"{url}?{query}" if query else url


def adopt_saved(obj: Model, saved: Model) -> None:
    """Make the admin's unsaved ``obj`` the row a service created, so the admin's
    history entry and redirect after "Save" point at it."""
    for field in saved._meta.concrete_fields:
        setattr(obj, field.attname, getattr(saved, field.attname))
    obj._state.adding = False
    obj._state.db = saved._state.db


def render_table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> SafeString:
    """A small HTML table for read-only fields; every cell is escaped unless already safe."""
    head = format_html_join("", "<th>{}</th>", ((h,) for h in headers))
    body = format_html_join(
        "",
        "<tr>{}</tr>",
        ((format_html_join("", "<td>{}</td>", ((cell,) for cell in row)),) for row in rows),
    )
    if not body:
        return format_html("<p>{}</p>", "Nothing yet.")
    return format_html("<table><thead><tr>{}</tr></thead><tbody>{}</tbody></table>", head, body)


def count_of(count: int, noun: str, plural: str = "") -> str:
    """``1 order``, ``3 orders``; ``plural`` for nouns that do not just take an s."""
    return f"{count} {noun if count == 1 else plural or noun + 's'}"


def refusal_of(label: str, message: str) -> str:
    """A refusal naming the row it is about (``SO-1000001: …``), unless it already does."""
    return message if label in message else f"{label}: {message}"


def report_outcome(
    model_admin: admin.ModelAdmin[Any],
    request: HttpRequest,
    *,
    done: int,
    done_message: str,
    refused: Sequence[str] = (),
    nothing_message: str = "Nothing was changed.",
) -> None:
    """Tell what a bulk action did: a success only when something was done, one error
    per refused row (each naming its row, see ``refusal_of``), and a warning when
    nothing was done and nothing refused. Never a green "0 done" beside a refusal."""
    if done:
        model_admin.message_user(request, done_message, messages.SUCCESS)
    for refusal in refused:
        model_admin.message_user(request, refusal, messages.ERROR)
    if not done and not refused:
        model_admin.message_user(request, nothing_message, messages.WARNING)


class OperatorAdminMixin(_ModelAdminBase):
    """Defaults for every ``ModelAdmin`` of the console.

    - counts are bounded (``BoundedCountPaginator``) and the unfiltered total is never
      counted (``show_full_result_count = False``);
    - ``change_select_related`` names the relations the change page shows, fetched with
      the object instead of one query each;
    - inlines with ``max_rows`` show only their newest rows (ordered by
      ``newest_first``), so a long history cannot make a change page slow.
    """

    paginator = BoundedCountPaginator
    show_full_result_count = False
    change_select_related: ClassVar[tuple[str, ...]] = ()

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        queryset = super().get_queryset(request)
        if getattr(request, "_oms_change_page", False) and self.change_select_related:
            return queryset.select_related(*self.change_select_related)
        return queryset

    def get_object(
        self, request: HttpRequest, object_id: str, from_field: str | None = None
    ) -> Any:
        # The change page (and the views hung under it) fetch their object through here;
        # the flag lets ``get_queryset`` join what the page shows without burdening the
        # changelist, which has its own ``list_select_related``.
        request._oms_change_page = True  # type: ignore[attr-defined]
        try:
            return super().get_object(request, object_id, from_field)
        finally:
            request._oms_change_page = False  # type: ignore[attr-defined]

    def render_change_form(  # noqa: PLR0917 - Django's signature
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Any = None,
    ) -> HttpResponse:
        # Django heads any error with "Please correct the error below", which points at
        # nothing when the only error is a refusal of the whole form (a business rule,
        # not a field): that refusal is shown as an error message instead, alone.
        adminform = context.get("adminform")
        if context.get("errors") and adminform is not None:
            form = adminform.form
            inline_errors = any(
                any(inline.formset.errors) or inline.formset.non_form_errors()
                for inline in context.get("inline_admin_formsets", ())
            )
            refusals = form.errors.get(NON_FIELD_ERRORS, [])
            if refusals and set(form.errors) == {NON_FIELD_ERRORS} and not inline_errors:
                for refusal in refusals:
                    self.message_user(request, refusal, messages.ERROR)
                context["errors"] = []
        return super().render_change_form(request, context, add, change, form_url, obj)

    def get_formset_kwargs(
        self, request: HttpRequest, obj: Any, inline: Any, prefix: str
    ) -> dict[str, Any]:
        kwargs = super().get_formset_kwargs(request, obj, inline, prefix)
        max_rows = getattr(inline, "max_rows", None)
        if max_rows is not None and obj is not None and obj.pk is not None:
            # An inline formset filters its queryset by the parent itself, so a sliced
            # queryset cannot be handed over; a pk__in subquery with the LIMIT can.
            queryset = kwargs["queryset"]
            newest = queryset.filter(**{inline.fk_name: obj}).order_by(*inline.newest_first)
            kwargs["queryset"] = queryset.filter(pk__in=newest.values("pk")[:max_rows])
        return kwargs


class OrderNumberSearchMixin(_ModelAdminBase):
    """Search rows that hang off an order by its exact number: an index lookup, never a
    substring scan of a large table."""

    search_fields = ("order__number",)
    search_help_text = "Exact order number."

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        term = search_term.strip().upper()
        if not term:
            return queryset, False
        return queryset.filter(order__number=term), False


class AppendOnlyAdminMixin(_ModelAdminBase):
    """Rows written only by services (ledgers, timelines): viewable, never edited here."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyInlineMixin(_InlineBase):
    """An inline that only shows rows; set ``max_rows``, ``fk_name`` and ``newest_first``
    on the inline to bound it (see ``OperatorAdminMixin``)."""

    extra = 0
    can_delete = False
    max_rows: int | None = None
    newest_first: ClassVar[tuple[str, ...]] = ("-pk",)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


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
    return TemplateResponse(request, "admin/oms/form_page.html", context)


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

    def __init__(self, data: Any = None, *, obj: Any = None, **kwargs: Any) -> None:
        super().__init__(data, **kwargs)
        self.obj = obj
        self.changed: Model | None = obj

    @classmethod
    def unavailable_reason(cls, obj: Any) -> str:
        """Why the page does not apply to ``obj`` now (its button is hidden and the page
        sends the operator back with this warning); empty when it does."""
        return ""

    @property
    def page_title(self) -> str:
        return f"{self.title}: {self.obj}" if self.obj is not None else self.title

    def perform(self, actor: Actor) -> str:
        """Make the service call; return the success message."""
        raise NotImplementedError

    def refusal_field(self, exc: DomainError) -> str | None:
        """The field a refusal is wholly about (a wrong pickup code), shown on it as a
        field error instead of as a message; None for a refusal of the request."""
        return None


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
    field) also go on their fields, beside the message.
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
            form.add_error(target, str(problem))


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
            and request.user.has_perm(form_class.permission)
            and not form_class.unavailable_reason(obj)
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
        if not request.user.has_perm(form_class.permission):
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
                    error_fields=form.error_fields,
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
        )


# --- bulk actions ------------------------------------------------------------------------

RowKey = TypeVar("RowKey")


@dataclasses.dataclass
class RowsOutcome:
    """What ``run_on_rows`` did: rows changed, rows that needed nothing, refusals."""

    done: int = 0
    skipped: int = 0
    refused: list[str] = dataclasses.field(default_factory=list)


def run_on_rows(
    model_admin: admin.ModelAdmin[Any],
    request: HttpRequest,
    rows: Iterable[tuple[RowKey, str]],
    call: Callable[[RowKey], object],
    *,
    done_message: Callable[[RowsOutcome], str],
    nothing_message: str,
) -> RowsOutcome:
    """A bulk action: one service call per row, then ``report_outcome``.

    ``rows`` are (key, label) pairs; ``call(key)`` is one service call, which is its own
    transaction (the changelist runs its actions outside any), so a refused row
    (``DomainError``) is reported by its label and changes nothing while the others
    still go through. A call returning ``False`` found nothing to do (already done).
    """
    outcome = RowsOutcome()
    for key, label in rows:
        try:
            result = call(key)
        except DomainError as exc:
            outcome.refused.append(refusal_of(label, exc.message))
            continue
        if result is False:
            outcome.skipped += 1
        else:
            outcome.done += 1
    report_outcome(
        model_admin,
        request,
        done=outcome.done,
        done_message=done_message(outcome) if outcome.done else "",
        refused=outcome.refused,
        nothing_message=nothing_message,
    )
    return outcome
