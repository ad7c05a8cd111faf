"""A bulk action: one service call per row, and what it did, told honestly."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from django.contrib import admin
from django.http import HttpRequest

from ..errors import DomainError
from .display import refusal_of, report_outcome

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
