"""Template filters for words on screen: ``{{ order.grand_total|money:order.currency }}``,
and the error header of a form page (``field_error_count``)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import template
from django.core.exceptions import NON_FIELD_ERRORS

from core.money import format_money

register = template.Library()


@register.filter
def money(amount: Decimal | int | str | None, currency: str = "USD") -> str:
    """An amount as money (``$1,234.50``, ``1,234.50 EUR``); see ``format_money``."""
    return format_money(amount, currency)


@register.filter
def field_error_count(form_or_formset: Any) -> int:
    """How many fields of a form (or of the forms of a formset) have an error.

    The "Please correct the errors below" header goes over field errors only: a form
    whose only error is a refusal of the whole request (a non-field error, e.g. a
    service's ``DomainError``) shows that refusal alone (see "Words on screen")."""
    if form_or_formset is None or form_or_formset == "":
        return 0
    forms = getattr(form_or_formset, "forms", None)
    if forms is not None:
        return sum(field_error_count(form) for form in forms)
    errors = getattr(form_or_formset, "errors", None) or {}
    return sum(1 for name in errors if name != NON_FIELD_ERRORS)
