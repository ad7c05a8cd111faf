"""Finding orders from one search box: the order list's search (``OrderAdmin``).

A term finds the orders whose

- number it is, with or without the ``SO-`` prefix, in any case (``exact_order_number``:
  the list then opens that order's page);
- e-mail address contains it, or whose customer it finds (``customers.search``: part of
  the name or e-mail, the phone in any format, the company's name or account number);
- ship-to name contains its words, or ship-to phone has its digits, in any format;
- PO number (any case), external reference (any case) or a line's SKU it is;
- and what the apps above orders add: ``register_source`` takes a function from a
  ``SearchTerm`` to a queryset of order ids (``values("order_id")``), e.g. the tracking
  numbers of fulfillment, the RMA numbers of returns, the invoice and credit note
  numbers of billing. They register in their ``AppConfig.ready``.

Every branch is one index lookup (``migrations/0024_search_indexes``) and they are
combined as one UNION of order ids: the list's queries stay the count and the page,
however many sources there are, and an order appears once.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from django.db.models import Q, QuerySet
from django.db.models.functions import Lower, Upper

from core.search import Fold, SearchTerm, name_words, phone_key
from customers.search import matching_customer_ids

from .models import Order, OrderLine
from .numbering import PREFIX, WIDTH

# A function from a term to a queryset of order ids (one column), or None to add nothing.
OrderIdSource = Callable[[SearchTerm], "QuerySet[Any] | None"]

_sources: list[OrderIdSource] = []

_NUMBER = re.compile(rf"^(?:{re.escape(PREFIX.rstrip('-'))}-?)?(\d{{1,{WIDTH + 3}}})$")


def register_source(source: OrderIdSource) -> None:
    """Add a source of order ids to every order search (once, however often called)."""
    if source not in _sources:
        _sources.append(source)


def exact_order_number(text: str) -> str:
    """The order number ``text`` names (``SO-1000123``, ``so1000123`` or ``1000123``),
    or "" when it names none."""
    match = _NUMBER.match(text.strip().upper())
    if match is None:
        return ""
    digits = match.group(1)
    return f"{PREFIX}{int(digits):0{WIDTH}d}"


def _own_columns(term: SearchTerm) -> Q:
    """What the term finds in the order's own columns: one condition, so PostgreSQL reads
    each matching order once (a ``BitmapOr`` of the indexes) however many of its columns
    match; a name shipped to is usually also in its e-mail address."""
    numbers = {term.upper}
    if number := exact_order_number(term.raw):
        numbers.add(number)
    found = (
        Q(number__in=sorted(numbers))
        | Q(po_upper=term.upper)
        | Q(reference_upper=term.upper)
        | (
            Q(email_lower__contains=term.email_part)
            if term.email_part
            else Q(email_lower=term.raw.lower())
        )
    )
    if term.words:
        by_name = Q()
        for word in name_words(term):
            by_name &= Q(name_folded__contains=word)
        found |= by_name
    if term.phone:
        found |= Q(phone_reversed__startswith=term.phone_key_prefix)
    return found


def _branches(term: SearchTerm) -> list[QuerySet[Any]]:
    """One queryset of order ids per source of matches (one column each)."""
    orders = Order.objects.order_by()
    own = orders.alias(
        email_lower=Lower("email"),
        po_upper=Upper("po_number"),
        reference_upper=Upper("external_reference"),
        name_folded=Fold("ship_name"),
        phone_reversed=phone_key("ship_phone"),
    ).filter(_own_columns(term))
    branches: list[QuerySet[Any]] = [
        own.values("pk"),
        # From the index on (customer_id, id) alone (``migrations/0027_console_indexes``).
        orders.filter(customer__in=matching_customer_ids(term)).values("pk"),
        # From the index on (sku, order_id) alone.
        OrderLine.objects.order_by().filter(sku=term.upper).values("order_id"),
    ]
    for source in _sources:
        found = source(term)
        if found is not None:
            branches.append(found.order_by())
    return branches


def matching_order_ids(term: SearchTerm) -> QuerySet[Any]:
    """The ids of the orders ``term`` finds: one UNION ALL, for the caller's ``pk__in``
    (an order found twice, by its customer's name and its ship-to name, is one row
    there)."""
    first, *rest = _branches(term)
    return first.union(*rest, all=True)


def newest_matching_order_ids(term: SearchTerm) -> QuerySet[Any]:
    """The ids of the orders ``term`` finds, each once, newest first: the keys of a
    list without filters in its default order, read without the order table (slice
    it)."""
    first, *rest = _branches(term)
    return first.union(*rest).order_by("-pk").values_list("pk", flat=True)


def search_orders(queryset: QuerySet[Order], text: str) -> QuerySet[Order]:
    """``queryset`` narrowed to the orders ``text`` finds (all of it for a blank text)."""
    term = SearchTerm.parse(text)
    if not term:
        return queryset
    return queryset.filter(pk__in=matching_order_ids(term))
