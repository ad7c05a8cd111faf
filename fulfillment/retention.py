"""Retention of routing traces (see ``oms.retention``)."""

from datetime import datetime

from django.db.models import Exists, OuterRef

from core.pruning import Batches, delete_in_batches

from .models import RoutingDecision


def prune_routing_decisions(*, created_before: datetime, batches: Batches) -> int:
    """Delete routing decisions made before ``created_before``, except each order's
    latest one, which the order page shows to explain where the order went. Deletes in
    bounded batches, each in its own transaction; returns how many went."""
    superseded = RoutingDecision.objects.filter(
        Exists(RoutingDecision.objects.filter(order_id=OuterRef("order_id"), pk__gt=OuterRef("pk")))
    )
    return delete_in_batches(
        superseded, created_before=created_before, batches=batches, time_field="created_at"
    )
