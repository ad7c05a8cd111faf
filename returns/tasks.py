"""Thin returns tasks: ids in, one service call, safe to repeat."""

from typing import Any

from celery import shared_task

from core import outbox
from core.models import OutboxEvent

from . import pickup, resolution


def _resolve(event: OutboxEvent) -> None:
    resolution.resolve_return(request_id=event.payload["return_id"])


@shared_task(name="returns.resolve_return_event", bind=True, acks_late=True, max_retries=8)
def resolve_return_event(self: Any, event_ids: int | list[int]) -> None:
    # The refund and the exchange's release check what is already done under the
    # order's lock, so a redelivered event changes nothing.
    outbox.handle_events(self, event_ids, _resolve)


def _book_pickup(event: OutboxEvent) -> None:
    pickup.book_return_pickup(request_id=event.payload["return_id"])


@shared_task(name="returns.book_pickup_event", bind=True, acks_late=True, max_retries=8)
def book_pickup_event(self: Any, event_ids: int | list[int]) -> None:
    # The carrier books by the return's number and the booking is stored under the
    # order's lock only if none is, so a redelivered event books once.
    outbox.handle_events(self, event_ids, _book_pickup)
