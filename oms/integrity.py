"""Integrity checks over the whole database, for ``manage.py check_integrity``.

Each app checks its own invariants (``inventory.integrity``: ledger, buckets, network
availability; ``orders.integrity``: network commitments, line buckets, orders with
no lines; ``fulfillment.integrity``: no line sent to locations twice;
``returns.integrity``: the return-requested bucket against open returns); this module
adds the project's own (the outbox backlog) and runs them all. The checks only read,
with one query per check whatever the size of the database, and find what the
database's constraints cannot express; they are what the fault tests and CI assert.
"""

from datetime import timedelta

from django.db.models import Count, Min
from django.utils import timezone

from billing.integrity import check_receivables
from core.integrity import Violation
from core.models import OutboxEvent
from customers.integrity import check_store_credit
from fulfillment.integrity import check_fulfillment
from inventory.integrity import check_stock
from orders.integrity import check_orders
from orders.store_credit import store_credit_order_mismatches
from returns.integrity import check_returns

# An event the relay or the 15 s sweep has not published after this long is stuck:
# the broker has been down for that long, or nothing relays.
DEFAULT_OUTBOX_MAX_AGE = timedelta(minutes=10)


def outbox_backlog(*, older_than: timedelta = DEFAULT_OUTBOX_MAX_AGE) -> list[Violation]:
    """Unpublished outbox events created more than ``older_than`` ago (one violation
    that counts them and names the oldest)."""
    cutoff = timezone.now() - older_than
    stuck = OutboxEvent.objects.filter(published_at__isnull=True, created_at__lt=cutoff)
    summary = stuck.aggregate(count=Count("id"), oldest_id=Min("id"))
    if not summary["count"]:
        return []
    oldest = OutboxEvent.objects.get(pk=summary["oldest_id"])
    minutes = int(older_than.total_seconds() // 60)
    error = f"; last error: {oldest.last_error}" if oldest.last_error else ""
    return [
        Violation(
            "outbox_backlog",
            "outbox",
            f"{summary['count']} events unpublished for over {minutes} min; the oldest is "
            f"{oldest} from {oldest.created_at:%Y-%m-%d %H:%M:%S %Z} "
            f"after {oldest.attempts} attempts{error}",
        )
    ]


def check_integrity(*, outbox_max_age: timedelta = DEFAULT_OUTBOX_MAX_AGE) -> list[Violation]:
    """Every invariant, app by app; an empty list when all hold."""
    return [
        *check_stock(),
        *check_orders(),
        *check_fulfillment(),
        *check_receivables(),
        *check_returns(),
        *check_store_credit(),
        *store_credit_order_mismatches(),
        *outbox_backlog(older_than=outbox_max_age),
    ]
