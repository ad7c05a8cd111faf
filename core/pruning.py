"""Deleting old rows in bounded batches, for the retention jobs.

A retention job must never take a table's worth of locks, bloat one transaction or
hold a worker for long: it deletes one primary-key range at a time, each in its own
short transaction, and stops after a set number of ranges (the rest waits for the
next run).
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import QuerySet


@dataclass(frozen=True)
class Batches:
    """How a prune deletes: ``size`` rows per DELETE, at most ``limit`` DELETEs per run."""

    size: int
    limit: int


def delete_in_batches(
    queryset: QuerySet[Any], *, created_before: datetime, batches: Batches, time_field: str
) -> int:
    """Delete the rows of ``queryset`` whose ``time_field`` is before ``created_before``,
    batch by batch; returns how many went.

    ``time_field`` must grow with the primary key (an insertion time), so the old rows
    are the low ids: the scan stops at the first young row instead of walking the whole
    table. Each batch reads the ids of its next ``batches.size`` rows in id order, then
    deletes the rows of the queryset in that id range. The DELETE repeats the
    queryset's conditions, so a row that stopped qualifying meanwhile (a notification
    claimed again) is left alone. The model must have no rows pointing at it, so that
    the DELETE is one statement.
    """
    model = queryset.model
    old = queryset.filter(**{f"{time_field}__lt": created_before})
    first_young = (
        model._default_manager.filter(**{f"{time_field}__gte": created_before})
        .order_by("pk")
        .values_list("pk", flat=True)
        .first()
    )
    if first_young is not None:
        old = old.filter(pk__lt=first_young)
    deleted = 0
    after = None
    for _ in range(batches.limit):
        due = old if after is None else old.filter(pk__gt=after)
        ids = list(due.order_by("pk").values_list("pk", flat=True)[: batches.size])
        if not ids:
            break
        with transaction.atomic():
            count, _ = old.filter(pk__gte=ids[0], pk__lte=ids[-1]).delete()
        deleted += count
        after = ids[-1]
        if len(ids) < batches.size:
            break
    return deleted
