"""The order list: its columns and its one search box (``orders.search``).

An exact order number (with or without its prefix, in any case) opens that order's
page; any other term lists what it finds: e-mail, names, phone in any format, PO,
external reference, SKU, and what the apps above orders register (tracking, RMA and
invoice numbers). A search runs once per page (``SearchResultsPaginator``): one query
takes the keys of the matches in the list's order, at most the count's limit and one
(the count: "more than 10,000" beyond it), and the page fetches its rows by key; an
exact number costs one lookup more.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.contrib import admin
from django.contrib.admin.options import IS_POPUP_VAR, IncorrectLookupParameters
from django.contrib.admin.utils import quote
from django.contrib.admin.views.main import SEARCH_VAR, ChangeList
from django.core.paginator import InvalidPage, Page
from django.db.models import Exists, OuterRef, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.formats import number_format
from django.utils.functional import cached_property
from django.utils.html import format_html

from core.admin import BoundedCountPaginator, admin_change_url, short_datetime
from core.admin.paging import MIN_EXACT_COUNT_LIMIT, exact_count_limit
from core.money import format_money
from core.search import SearchTerm

from ..models import Order, OrderHold
from ..search import exact_order_number, newest_matching_order_ids, search_orders

# Set on the request by the list's view: only the list shows the on-hold column, so
# only its queryset pays for the subquery.
_LISTING = "_oms_listing_orders"

# The list's default order (``Order.Meta.ordering``), as the changelist writes it.
NEWEST_FIRST = {("-id",), ("-pk",)}

# What the list's columns read of an order, its customer and company (``OrderListMixin``).
LIST_COLUMNS = (
    "number",
    "status",
    "fulfillment_status",
    "grand_total",
    "currency",
    "created_at",
    "customer__first_name",
    "customer__last_name",
    "customer__email",
    "company__name",
)

# Stands for the primary key in the one reversed change URL of the list's rows.
_PK = "__pk__"

if TYPE_CHECKING:
    _ModelAdminBase = admin.ModelAdmin[Order]
else:
    _ModelAdminBase = object


class SearchResultsPaginator(BoundedCountPaginator):
    """The pages of a searched list: the search runs once, in the query of ``keys``.

    ``keys`` are the matches' primary keys in the list's order, at most the count's limit
    and one (so the count is exact up to the limit and "more than <limit>" beyond it);
    a page is its rows fetched by key (``rows_by_key``: the list's queryset without the
    search, which the keys have passed). The count and the page no longer each run the
    search (a broad name finds tens of thousands of orders), and a list that fits on one
    page does not run it a third time. A page past the keys (beyond the limit) is
    found as ``BoundedCountPaginator`` finds it."""

    def __init__(
        self,
        object_list: QuerySet[Any],
        per_page: int,
        *,
        rows_by_key: Callable[[list[Any]], QuerySet[Any]],
        keys_query: QuerySet[Any] | None = None,
    ) -> None:
        super().__init__(object_list, per_page)
        self.searched = object_list
        self.rows_by_key = rows_by_key
        self.keys_query = keys_query
        self.limit = max(exact_count_limit(), MIN_EXACT_COUNT_LIMIT, per_page)

    @cached_property
    def keys(self) -> list[Any]:
        query = self.keys_query
        if query is None:
            query = self.searched.values_list("pk", flat=True)
        return list(query[: self.limit + 1])

    @cached_property
    def count(self) -> int:
        found = len(self.keys)
        if found > self.limit:
            self.count_is_exact = False
            self.count_label = f"more than {number_format(self.limit, force_grouping=True)}"
        return found

    def page(self, number: Any) -> Page:
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        if top > self.limit:
            return super().page(number)
        return Page(self.rows_by_key(self.keys[bottom:top]), number, self)


class OrderChangeList(ChangeList):
    """The order list; a searched one takes its count and rows from
    ``SearchResultsPaginator``.

    Each row links to its order with the list's filters kept (so the order page leads
    back to this list): the link is written here from one reversed URL. Django would
    reverse it per row and then resolve it again, to check it is not the list itself,
    which was a third of the time of a filtered page of 100 orders."""

    def __init__(self, request: HttpRequest, *args: Any, **kwargs: Any) -> None:
        super().__init__(request, *args, **kwargs)
        # Added to each row's link here (``url_for_result``), so none is left for
        # Django's ``add_preserved_filters`` to resolve.
        self.row_link_query = self.preserved_filters
        self.preserved_filters = ""

    @cached_property
    def _change_url(self) -> str:
        return reverse(
            f"admin:{self.opts.app_label}_{self.opts.model_name}_change",
            args=(_PK,),
            current_app=self.model_admin.admin_site.name,
        )

    def url_for_result(self, result: Any) -> str:
        url = self._change_url.replace(_PK, str(quote(getattr(result, self.pk_attname))))
        return f"{url}?{self.row_link_query}" if self.row_link_query else url

    def get_results(self, request: HttpRequest) -> None:
        # The rows load only what the columns show (not the addresses, money breakdown
        # and JSON of 100 orders); the list's actions read the full rows, from the
        # queryset they take afresh (``get_queryset``).
        self.queryset = self.queryset.only(*LIST_COLUMNS)
        term = SearchTerm.parse(self.query)
        if not term:
            # No search (or only spaces): the list as it is.
            super().get_results(request)
            return
        ordering = self.queryset.query.order_by
        rows = self.apply_select_related(self.root_queryset).only(*LIST_COLUMNS)

        def rows_by_key(keys: list[Any]) -> QuerySet[Any]:
            return rows.filter(pk__in=keys).order_by(*ordering)

        keys_query = None
        if not self.has_active_filters and tuple(ordering) in NEWEST_FIRST:
            # The search's own ids, newest first: PostgreSQL would otherwise walk the
            # order table's primary key backwards to meet them in the list's order.
            keys_query = newest_matching_order_ids(term)
        paginator = SearchResultsPaginator(
            self.queryset, self.list_per_page, rows_by_key=rows_by_key, keys_query=keys_query
        )
        self.paginator = paginator
        self.result_count = paginator.count
        self.show_full_result_count = False
        self.full_result_count = None
        self.show_admin_actions = True
        self.can_show_all = self.result_count <= self.list_max_show_all
        self.multi_page = self.result_count > self.list_per_page
        if (self.show_all and self.can_show_all) or not self.multi_page:
            # As Django's list does: one page holds every match, whatever page number
            # the address carries (a saved or shared link of a list that has shrunk).
            self.result_list = rows_by_key(paginator.keys)
            return
        try:
            self.result_list = paginator.page(self.page_num).object_list
        except InvalidPage as exc:
            raise IncorrectLookupParameters from exc


class OrderListMixin(_ModelAdminBase):
    """The changelist of ``OrderAdmin``: columns, on-hold flag, search and its redirect."""

    # Seven columns fit beside the menu and the filters at 1366 px (``static/oms/admin.css``,
    # "Order list"): the company sits under its buyer, the channel is a filter.
    list_display = (
        "number",
        "customer_name",
        "status",
        "fulfillment",
        "on_hold",
        "total",
        "created",
    )
    list_select_related = ("customer", "company")
    # Facet counts ("?_facets") count every choice of every filter over the whole
    # table: the unbounded COUNT(*) the list never runs.
    show_facets = admin.ShowFacets.NEVER
    search_fields = ("number",)  # shows the box; ``get_search_results`` does the search
    search_help_text = (
        "Order number, e-mail, customer or company name, phone (any format), PO, SKU, "
        "tracking, external reference, RMA or invoice number. An exact order number "
        "opens the order."
    )

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return OrderChangeList

    def get_queryset(self, request: HttpRequest) -> QuerySet[Order]:
        queryset = super().get_queryset(request)
        if getattr(request, _LISTING, False):
            open_hold = OrderHold.objects.filter(order=OuterRef("pk"), released_at__isnull=True)
            queryset = queryset.annotate(has_open_hold=Exists(open_hold))
        return queryset

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Order], search_term: str
    ) -> tuple[QuerySet[Order], bool]:
        return search_orders(queryset, search_term), False

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        number = exact_order_number(request.GET.get(SEARCH_VAR, ""))
        if number and IS_POPUP_VAR not in request.GET:
            found = self.get_queryset(request).filter(number=number).only("pk").first()
            if found is not None:
                return redirect(admin_change_url(found))
        setattr(request, _LISTING, True)
        return super().changelist_view(request, extra_context)

    @admin.display(description="Customer")
    def customer_name(self, obj: Order) -> str:
        name = obj.customer.full_name or obj.customer.email
        if obj.company is None:
            return name
        company = obj.company.name
        return format_html(
            '{}<span class="oms-list-sub" title="{}">{}</span>', name, company, company
        )

    @admin.display(description="Fulfillment")
    def fulfillment(self, obj: Order) -> str:
        return obj.get_fulfillment_status_display()

    @admin.display(description="On hold", empty_value="")
    def on_hold(self, obj: Order) -> str:
        # A mark on the held orders only: a column of "no" icons hides the few that are.
        if getattr(obj, "has_open_hold", False):
            return format_html('<span class="oms-list-hold">{}</span>', "On hold")
        return ""

    @admin.display(description="Total", ordering="grand_total")
    def total(self, obj: Order) -> str:
        return format_money(obj.grand_total, obj.currency)

    @admin.display(description="Created", ordering="id")
    def created(self, obj: Order) -> str:
        return short_datetime(obj.created_at)
