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

from django.db.models import QuerySet
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


def matching_order_ids(term: SearchTerm) -> QuerySet[Any]:
    """The ids of the orders ``term`` finds: one UNION, for the caller's ``pk__in``."""
    orders = Order.objects.order_by()
    numbers = {term.upper}
    if number := exact_order_number(term.raw):
        numbers.add(number)
    branches: list[QuerySet[Any]] = [
        orders.filter(number__in=sorted(numbers)).values("pk"),
        orders.filter(customer__in=matching_customer_ids(term)).values("pk"),
        orders.alias(email_lower=Lower("email")).filter(email_lower=term.raw.lower()).values("pk"),
        orders.alias(po_upper=Upper("po_number")).filter(po_upper=term.upper).values("pk"),
        orders.alias(reference_upper=Upper("external_reference"))
        .filter(reference_upper=term.upper)
        .values("pk"),
        OrderLine.objects.order_by().filter(sku=term.upper).values("order_id"),
    ]
    if term.email_part:
        branches.append(
            orders.alias(email_lower=Lower("email"))
            .filter(email_lower__contains=term.email_part)
            .values("pk")
        )
    if term.words:
        by_name = orders.alias(name_folded=Fold("ship_name"))
        for word in name_words(term):
            by_name = by_name.filter(name_folded__contains=word)
        branches.append(by_name.values("pk"))
    if term.phone:
        branches.append(
            orders.alias(phone_reversed=phone_key("ship_phone"))
            .filter(phone_reversed__startswith=term.phone_key_prefix)
            .values("pk")
        )
    for source in _sources:
        found = source(term)
        if found is not None:
            branches.append(found.order_by())
    first, *rest = branches
    return first.union(*rest, all=True)


def search_orders(queryset: QuerySet[Order], text: str) -> QuerySet[Order]:
    """``queryset`` narrowed to the orders ``text`` finds (all of it for a blank text)."""
    term = SearchTerm.parse(text)
    if not term:
        return queryset
    return queryset.filter(pk__in=matching_order_ids(term))
