"""The lists that open on the work of the user's own locations (Inventory > Staff
locations): the fulfillment queue, purchase orders and transfers, stock levels.

``LocationScopeFilter`` narrows a list to the assigned user's locations by default, and
offers "All locations" only to those who may see every location; ``scope_to_locations``
holds the same line for the users who may not widen it, on the list and behind a typed
URL alike. A user with no assignment sees every location and gets no such filter.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest

from .staff import assigned_location_ids, may_see_all_locations

# The lookups a list's rows are at one of the user's locations by: a fulfillment order
# or a stock level has one location; a transfer has the one it leaves too.
DEFAULT_LOCATION_FIELDS: tuple[str, ...] = ("location_id",)


def at_locations(location_ids: list[int], fields: tuple[str, ...]) -> Q:
    """Rows at one of ``location_ids`` by any of ``fields``."""
    query = Q()
    for field in fields:
        query |= Q(**{f"{field}__in": location_ids})
    return query


def is_confined(request: HttpRequest) -> bool:
    """Whether the user sees only their own locations: assigned to some, and without
    the permission to see every location. (The permission first: it costs no query for
    those who have it, whose lists then keep their query count.)"""
    return not may_see_all_locations(request) and bool(assigned_location_ids(request))


def scope_to_locations(
    request: HttpRequest,
    queryset: QuerySet[Any],
    fields: tuple[str, ...] = DEFAULT_LOCATION_FIELDS,
) -> QuerySet[Any]:
    """``queryset`` as the user may see it: their locations' rows only when they are
    confined to them (``is_confined``), every row otherwise."""
    if is_confined(request):
        return queryset.filter(at_locations(assigned_location_ids(request), fields))
    return queryset


class LocationScopeFilter(admin.SimpleListFilter):
    """Opens the list on the rows of the user's assigned locations; "All locations" for
    those allowed to see every location. Subclasses name the lookups in
    ``location_fields``."""

    title = "assigned locations"
    parameter_name = "locations"
    MINE = "mine"
    ALL = "all"
    location_fields: tuple[str, ...] = DEFAULT_LOCATION_FIELDS
    mine_label = "My locations"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        if not assigned_location_ids(request):
            return []
        choices = [(self.MINE, self.mine_label)]
        if may_see_all_locations(request):
            choices.append((self.ALL, "All locations"))
        return choices

    def value(self) -> str | None:
        value = super().value()
        return value if value in {self.MINE, self.ALL} else self.MINE

    def choices(self, changelist: Any) -> Any:
        current = self.value()
        for lookup, title in self.lookup_choices:
            yield {
                "selected": current == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any] | None:
        mine = assigned_location_ids(request)
        if mine and not (self.value() == self.ALL and may_see_all_locations(request)):
            return queryset.filter(at_locations(mine, self.location_fields))
        return queryset
