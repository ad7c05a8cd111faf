"""Thin returns tasks: ids in, one service call, safe to repeat."""

from typing import Any

from celery import shared_task

from core import outbox
from core.models import OutboxEvent

from . import resolution


def _resolve(event: OutboxEvent) -> None:
    resolution.resolve_return(request_id=event.payload["return_id"])


@shared_task(name="returns.resolve_return_event", bind=True, acks_late=True, max_retries=8)
def resolve_return_event(self: Any, event_ids: int | list[int]) -> None:
    # The refund and the exchange's release check what is already done under the
    # order's lock, so a redelivered event changes nothing.
    outbox.handle_events(self, event_ids, _resolve)
