"""The defaults every ``ModelAdmin`` of the console starts from, and the mixins of
rows that are shown but never edited by hand."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import NON_FIELD_ERRORS
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from .paging import BoundedCountPaginator

if TYPE_CHECKING:
    from django.contrib.admin.options import InlineModelAdmin

    _ModelAdminBase = admin.ModelAdmin[Any]
    _InlineBase = InlineModelAdmin[Any, Any]
else:
    _ModelAdminBase = object
    _InlineBase = object


class OperatorAdminMixin(_ModelAdminBase):
    """Defaults for every ``ModelAdmin`` of the console.

    - counts are bounded (``BoundedCountPaginator``) and the unfiltered total is never
      counted (``show_full_result_count = False``);
    - ``change_select_related`` names the relations the change page shows, fetched with
      the object instead of one query each;
    - inlines with ``max_rows`` show only their newest rows (ordered by
      ``newest_first``), so a long history cannot make a change page slow;
    - the row checkboxes of the list's actions are written directly (``action_checkbox``).
    """

    paginator = BoundedCountPaginator
    show_full_result_count = False
    change_select_related: ClassVar[tuple[str, ...]] = ()

    def action_checkbox(self, obj: Any) -> SafeString:
        """The row's checkbox for the list's actions: the HTML Django writes, without
        its form widget template, whose rendering is a quarter of the time of a page of
        100 rows."""
        label = format_html(_("Select this object for an action - {}"), str(obj))
        return format_html(
            '<input type="checkbox" name="{}" value="{}" class="action-select" aria-label="{}">',
            helpers.ACTION_CHECKBOX_NAME,
            str(obj.pk),
            label,
        )

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
