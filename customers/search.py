"""Finding customers and companies from one search box (``core.search``).

A customer is found by part of the name (any order of first and last name, accents and
case aside), part of the e-mail address, the phone number in any format, and by the
company: part of its name or its exact account number. Each branch is one index lookup
(``migrations/0008_search_indexes``); the branches are combined as a UNION of ids, so
no customer appears twice and no branch makes PostgreSQL scan the table.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet, Value
from django.db.models.functions import Concat, Lower

from core.search import Fold, SearchTerm, name_words, phone_key

from .models import Company, Customer


def customer_name() -> Any:
    """``first_name last_name``, folded: the expression the name index is built on."""
    return Fold(Concat("first_name", Value(" "), "last_name"))


def matching_companies(term: SearchTerm) -> QuerySet[Any]:
    """Companies by exact account number or by every word of the term in the name."""
    by_account = Company.objects.order_by().filter(account_number=term.upper).values("pk")
    if not term.words:
        return by_account
    by_name = Company.objects.order_by().alias(name_folded=Fold("name"))
    for word in name_words(term):
        by_name = by_name.filter(name_folded__contains=word)
    return by_account.union(by_name.values("pk"), all=True)


def matching_customer_ids(term: SearchTerm, *, with_company: bool = True) -> QuerySet[Any]:
    """The ids (``pk``) of the customers the term finds, as one UNION (a subquery for the
    caller's ``pk__in``). ``with_company``: also every buyer of a matching company."""
    customers = Customer.objects.order_by()
    branches: list[QuerySet[Any]] = [
        customers.alias(email_lower=Lower("email"))
        .filter(email_lower=term.raw.lower())
        .values("pk")
    ]
    if term.email_part:
        branches.append(
            customers.alias(email_lower=Lower("email"))
            .filter(email_lower__contains=term.email_part)
            .values("pk")
        )
    if term.words:
        by_name = customers.alias(name_folded=customer_name())
        for word in name_words(term):
            by_name = by_name.filter(name_folded__contains=word)
        branches.append(by_name.values("pk"))
    if term.phone:
        branches.append(
            customers.alias(phone_reversed=phone_key("phone"))
            .filter(phone_reversed__startswith=term.phone_key_prefix)
            .values("pk")
        )
    if with_company:
        branches.append(customers.filter(company__in=matching_companies(term)).values("pk"))
    first, *rest = branches
    return first.union(*rest, all=True) if rest else first
