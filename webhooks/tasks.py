"""Webhook tasks: the outbox consumer that makes webhook events, and the delivery of
one event to one subscription with retries.

Retries follow ``RETRY_SCHEDULE`` (the Standard Webhooks recommendation): after the
first attempt, again 5 seconds, 5 minutes, 30 minutes, 2 hours, 5 hours, 10 hours and
10 hours later, so an event is tried for about 27.6 hours before it counts as failed.
"""

from typing import Any

from celery import shared_task
from django.conf import settings

from core import outbox
from core.models import OutboxEvent

from . import delivery, fanout
from .models import WebhookEvent, WebhookSubscription

# Seconds before each retry of a failed delivery (about 27.6 hours in all).
RETRY_SCHEDULE = [5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 10 * 3600]


RETRY = "retry"


def queue_delivery(event_pk: int, subscription_pk: int, *, retries: bool = True) -> None:
    """Queue a delivery. Inline (eager tasks: the demo, tests) its retries run at once,
    one after another, and a failure is logged, never raised into the caller."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        deliver_inline(event_pk, subscription_pk, retries=retries)
    else:
        deliver.apply_async(args=[event_pk, subscription_pk], kwargs={"retries": retries})


def deliver_inline(event_pk: int, subscription_pk: int, *, retries: bool = True) -> str:
    """Every attempt of a delivery now, without waiting between them."""
    done = 0
    while (outcome := _step(event_pk, subscription_pk, retries, done)) == RETRY:
        done += 1
    return outcome


def _step(event_pk: int, subscription_pk: int, retries: bool, done: int) -> str:
    """One attempt, after ``done`` retries; ``RETRY`` when another is due. Once the last
    retry failed the event counts against the subscription. Without ``retries`` (a
    replay) it tries once, also on a disabled subscription, and counts nothing."""
    event = WebhookEvent.objects.filter(pk=event_pk).first()
    subscription = WebhookSubscription.objects.filter(pk=subscription_pk).first()
    if event is None or subscription is None or event.company_id != subscription.company_id:
        return "gone"
    if not subscription.is_active and retries:
        return "inactive"
    logged = delivery.attempt(event, subscription)
    if logged.succeeded:
        delivery.delivered(subscription.pk)
        return "delivered"
    if not retries:
        return "failed"
    if done < len(RETRY_SCHEDULE):
        return RETRY
    delivery.failed_for_good(subscription.pk, event)
    return "failed"


def _fan_out(event: OutboxEvent) -> None:
    fanout.fan_out(event, queue_delivery)


@shared_task(name="webhooks.fan_out_event", bind=True, acks_late=True, max_retries=8)
def fan_out_event(self: Any, event_ids: int | list[int]) -> None:
    outbox.handle_events(self, event_ids, _fan_out)


@shared_task(name="webhooks.deliver", bind=True, acks_late=True, max_retries=len(RETRY_SCHEDULE))
def deliver(self: Any, event_pk: int, subscription_pk: int, retries: bool = True) -> str:
    """One attempt of a delivery; a failure is retried on ``RETRY_SCHEDULE``."""
    done = self.request.retries
    outcome = _step(event_pk, subscription_pk, retries, done)
    if outcome == RETRY:
        raise self.retry(countdown=RETRY_SCHEDULE[done], max_retries=len(RETRY_SCHEDULE))
    return outcome
