"""Changelists that never run an unbounded ``COUNT(*)``."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.paginator import Page, Paginator
from django.db import connections
from django.db.models import QuerySet
from django.utils.formats import number_format
from django.utils.functional import cached_property

DEFAULT_EXACT_COUNT_LIMIT = 10_000
# From this many rows in, a page is found by its primary keys first (see ``page``).
DEEP_PAGE_OFFSET = 1_000
# The limit never goes below this or the page size: a changelist whose count is not
# above both its page size and Django's "Show all" cap (200 rows) would list the whole
# queryset unpaginated, which on a large table is exactly what the bound prevents.
MIN_EXACT_COUNT_LIMIT = 200


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

    def page(self, number: Any) -> Page:
        """A deep page (page 2,000 of a million orders) by its primary keys first.

        ``OFFSET`` makes the database produce every row it skips; with the changelist's
        joins and per-row annotations (the order list's "on hold") that is the whole
        cost of the page. The keys alone come from the primary key's index, in the
        list's order; then only the page's rows are fetched in full, in the same order.
        """
        object_list = self.object_list
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        if (
            not isinstance(object_list, QuerySet)
            or bottom < DEEP_PAGE_OFFSET
            or object_list.query.combinator
        ):
            return super().page(number)
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        keys = list(object_list.values_list("pk", flat=True)[bottom:top])
        return Page(object_list.filter(pk__in=keys), number, self)
