"""Retention of the order app's bookkeeping rows (see ``oms.retention``)."""

from datetime import datetime

from core.pruning import Batches, delete_in_batches

from .models import IdempotencyKey


def prune_idempotency_keys(*, created_before: datetime, batches: Batches) -> int:
    """Forget the responses to keyed API writes made before ``created_before``: a
    retry with such a key after that is treated as a new request. Deletes in bounded
    batches, each in its own transaction; returns how many went."""
    return delete_in_batches(
        IdempotencyKey.objects.all(),
        created_before=created_before,
        batches=batches,
        time_field="created_at",
    )
