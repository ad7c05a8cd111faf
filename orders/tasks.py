from typing import Any

from celery import shared_task

from core import outbox
from core.models import OutboxEvent

from . import drafts, quotes


@shared_task(name="orders.release_expired_draft_reservations", acks_late=True)
def release_expired_draft_reservations() -> int:
    # Quotes first: an expired quote is closed and its stock given back with it; the
    # drafts' own reservations that ran out follow.
    quotes.expire_quotes()
    return drafts.release_expired_draft_reservations()


def _email_quote(event: OutboxEvent) -> None:
    quotes.email_quote(event.payload["quote_id"])


@shared_task(name="orders.email_quote_event", bind=True, acks_late=True, max_retries=8)
def email_quote_event(self: Any, event_ids: int | list[int]) -> None:
    # OSError: the mail server is unreachable or refused us; retried with backoff (the
    # copy already sent is claimed and not sent again).
    outbox.handle_events(self, event_ids, _email_quote, retry_on=(OSError,))
