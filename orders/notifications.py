"""Claims on the notification log: each message is sent once per (event, channel).

A sender claims a ``Notification`` row by its unique dedupe key before sending
(``claim_notification``); a second run finds the claim and sends nothing. A failed send
marks the row failed so that a retry may claim it again. A claim left "sending" by a
worker that died mid-send goes stale after ``OMS_NOTIFICATION_CLAIM_TIMEOUT`` seconds
and the next attempt takes it over; until then an attempt that finds it is retried
later (``NotificationInProgress``), so the message still goes out, once.

The customer e-mails (``oms.notifications``), the messages to partners
(``fulfillment.partners``) and billing's e-mails (invoices, payment failures) all send
through these claims; e-mails about an order go out through ``send_order_email``.
"""

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone

from core.actors import Actor
from core.outbox import RetryLater

from .events import record_order_event
from .models import Notification, NotificationStatus, Order, OrderEventType

logger = logging.getLogger(__name__)


class NotificationInProgress(RetryLater):
    """Another attempt holds a fresh claim on the notification: try again once that
    claim would have gone stale (by then it has been sent, or its sender is dead)."""


def _claim_timeout() -> timedelta:
    return timedelta(seconds=settings.OMS_NOTIFICATION_CLAIM_TIMEOUT)


def claim_notification(dedupe_key: str, **fields: object) -> Notification | None:
    """Claim the notification ``dedupe_key`` for sending; the caller then sends it and
    calls ``mark_sent`` or ``mark_failed``. None: it needs no sending (already sent, or
    skipped).

    A new key inserts the claim. An existing row is taken over when its last attempt
    failed, or when its claim is stale (left "sending" by a worker that died). The
    takeover is one conditional UPDATE: PostgreSQL re-checks its WHERE clause on the
    row that a concurrent takeover committed, so of two attempts exactly one wins.
    Raises ``NotificationInProgress`` when another attempt holds a fresh claim.
    """
    now = timezone.now()
    try:
        with transaction.atomic():
            return Notification.objects.create(
                dedupe_key=dedupe_key, status=NotificationStatus.SENDING, claimed_at=now, **fields
            )
    except IntegrityError:
        pass
    stale_before = now - _claim_timeout()
    takeable = Q(status=NotificationStatus.FAILED) | Q(
        Q(claimed_at__lt=stale_before) | Q(claimed_at__isnull=True, created_at__lt=stale_before),
        status=NotificationStatus.SENDING,
    )
    taken = Notification.objects.filter(takeable, dedupe_key=dedupe_key).update(
        status=NotificationStatus.SENDING, error="", claimed_at=now
    )
    if taken:
        logger.info("notification %s: claimed again (failed or stale)", dedupe_key)
        return Notification.objects.get(dedupe_key=dedupe_key)
    current = Notification.objects.filter(dedupe_key=dedupe_key).first()
    if current is not None and current.status != NotificationStatus.SENDING:
        return None
    claimed_at = current.claimed_at or current.created_at if current else now
    wait = (claimed_at + _claim_timeout() - now).total_seconds()
    raise NotificationInProgress(
        f"notification {dedupe_key} is being sent by another attempt", retry_after=max(wait, 1)
    )


def _still_ours(claim: Notification) -> Q:
    # A claim taken over (this attempt outlived the timeout) is no longer this
    # attempt's to settle.
    return Q(pk=claim.pk, status=NotificationStatus.SENDING, claimed_at=claim.claimed_at)


def mark_sent(claim: Notification) -> bool:
    """Record that the claimed notification went out; False if the claim was lost."""
    return bool(
        Notification.objects.filter(_still_ours(claim)).update(
            status=NotificationStatus.SENT, sent_at=timezone.now()
        )
    )


def mark_failed(claim: Notification, error: BaseException) -> None:
    """Release the claim after a failed send, so that a retry may claim it again."""
    Notification.objects.filter(_still_ours(claim)).update(
        status=NotificationStatus.FAILED, error=str(error)[:300]
    )


def mark_skipped(claim: Notification) -> None:
    """Record that the claimed notification is not sent (the customer opted out): it is
    settled, and no later attempt claims it again."""
    Notification.objects.filter(_still_ours(claim)).update(status=NotificationStatus.SKIPPED)


@dataclass(frozen=True)
class Attachment:
    """A file sent with an e-mail."""

    filename: str
    content: bytes
    mimetype: str


def send_order_email(
    claim: Notification,
    *,
    order: Order,
    template: str,
    context: dict[str, Any],
    attachments: Sequence[Attachment] = (),
    payload: dict[str, Any] | None = None,
) -> Notification | None:
    """Send the e-mail ``claim`` stands for, about ``order``: the claim's subject to its
    recipient, the body rendered from ``<template>.txt`` and ``<template>.html`` with
    ``context``. Every e-mail about an order goes out this way.

    A failed send marks the claim failed and raises, so that the calling task retries.
    Once sent, the claim is marked sent and the order's timeline gets a "notification
    sent" event (its payload: the event, the channel, the notification's id, plus
    ``payload``) in one transaction. None when this attempt outlived its claim and
    another took it over: that attempt's record stands, not this one's.
    """
    message = EmailMultiAlternatives(
        subject=claim.subject,
        body=render_to_string(f"{template}.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[claim.recipient],
    )
    message.attach_alternative(render_to_string(f"{template}.html", context), "text/html")
    for attachment in attachments:
        message.attach(attachment.filename, attachment.content, attachment.mimetype)
    try:
        message.send()
    except Exception as exc:  # a soft time limit interrupting the send included
        mark_failed(claim, exc)
        raise
    with transaction.atomic():
        if not mark_sent(claim):
            logger.warning("notification %s: sent after its claim was taken over", claim.dedupe_key)
            return None
        record_order_event(
            order=order,
            type=OrderEventType.NOTIFICATION_SENT,
            actor=Actor.system("notifications"),
            message=f"E-mail sent to {claim.recipient}: {claim.subject}",
            payload={
                "event": claim.event,
                "channel": "email",
                "notification_id": claim.pk,
                **(payload or {}),
            },
        )
    claim.refresh_from_db()
    return claim
