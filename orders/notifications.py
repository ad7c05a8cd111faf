"""Claims on the notification log: each message is sent once per (event, channel,
recipient).

A sender claims a ``Notification`` row by its unique dedupe key before sending
(``claim_notification``); a second run finds the claim and sends nothing. A failed send
marks the row failed so that a retry may claim it again. A claim left "sending" by a
worker that died mid-send goes stale after ``OMS_NOTIFICATION_CLAIM_TIMEOUT`` seconds
and the next attempt takes it over; until then an attempt that finds it is retried
later (``NotificationInProgress``), so the message still goes out, once.

The customer messages (``oms.notifications``), the messages to partners
(``fulfillment.partners``) and billing's messages (invoices, payment failures) all send
through these claims. A message to the people of an order goes out through
``deliver_order_message``: to the customer on the channels they chose and to their
company's contacts for that kind of event, by e-mail (Django's e-mail backend) and SMS
(``core.sms``), each (event, channel, recipient) claimed on its own.
"""

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone

from core import outbox, sms
from core.actors import Actor
from core.errors import Conflict, NotFound
from core.outbox import DATABASE_DOWN, RetryLater
from customers.notification_models import CHANNEL_LABELS
from customers.selectors import get_notification_channels, list_company_contacts

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
        return _insert_claim(dedupe_key=dedupe_key, claimed_at=now, **fields)
    except IntegrityError:
        pass
    stale_before = now - _claim_timeout()
    # A queued row (a resend an agent asked for) is taken like a failed one.
    takeable = Q(status__in=[NotificationStatus.FAILED, NotificationStatus.QUEUED]) | Q(
        Q(claimed_at__lt=stale_before) | Q(claimed_at__isnull=True, created_at__lt=stale_before),
        status=NotificationStatus.SENDING,
    )
    taken = Notification.objects.filter(takeable, dedupe_key=dedupe_key).update(
        status=NotificationStatus.SENDING, error="", claimed_at=now
    )
    if taken:
        logger.info("notification %s: claimed again (failed, queued or stale)", dedupe_key)
        return Notification.objects.get(dedupe_key=dedupe_key)
    current = Notification.objects.filter(dedupe_key=dedupe_key).first()
    if current is not None and current.status != NotificationStatus.SENDING:
        return None
    claimed_at = current.claimed_at or current.created_at if current else now
    wait = (claimed_at + _claim_timeout() - now).total_seconds()
    raise NotificationInProgress(
        f"notification {dedupe_key} is being sent by another attempt", retry_after=max(wait, 1)
    )


def _insert_claim(**fields: Any) -> Notification:
    new = Notification(status=NotificationStatus.SENDING, **fields)
    if connection.in_atomic_block:
        # A duplicate key must not abort the caller's transaction.
        with transaction.atomic():
            new.save(force_insert=True)
    else:
        # A worker runs in autocommit: the INSERT is a transaction of its own, and a
        # duplicate key aborts nothing, so it needs no BEGIN and COMMIT around it.
        new.save(force_insert=True)
    return new


def _still_ours(claim: Notification) -> Q:
    # A claim taken over (this attempt outlived the timeout) is no longer this
    # attempt's to settle.
    return Q(pk=claim.pk, status=NotificationStatus.SENDING, claimed_at=claim.claimed_at)


def mark_sent(claim: Notification) -> bool:
    """Record that the claimed notification went out (``claim`` too: its status and
    ``sent_at`` are what the row now holds); False if the claim was lost."""
    sent_at = timezone.now()
    if not Notification.objects.filter(_still_ours(claim)).update(
        status=NotificationStatus.SENT, sent_at=sent_at
    ):
        return False
    claim.status, claim.sent_at = NotificationStatus.SENT, sent_at
    return True


# Once a message has gone out, writing that it did is retried in place for up to this
# many seconds while the database cannot be reached (a restart, a failover), rather
# than failing the task: a retried task would find the claim stale and send it again.
RECORD_SENT_RETRY_SECONDS = 60.0


def _record_sent(record: Callable[[], bool]) -> bool:
    """Run ``record`` (marks a sent claim and writes its timeline event), retrying it
    on a new connection while the database is down; inside a transaction, or after
    ``RECORD_SENT_RETRY_SECONDS``, the error is raised as it came."""
    deadline = time.monotonic() + RECORD_SENT_RETRY_SECONDS
    pause = 0.5
    while True:
        try:
            return record()
        except DATABASE_DOWN:
            if connection.in_atomic_block or time.monotonic() + pause > deadline:
                raise
            logger.warning("notification sent; database unavailable, recording it again")
            connection.close()
            time.sleep(pause)
            pause = min(pause * 2, 5.0)


def mark_failed(claim: Notification, error: BaseException) -> None:
    """Release the claim after a failed send, so that a retry may claim it again."""
    Notification.objects.filter(_still_ours(claim)).update(
        status=NotificationStatus.FAILED, error=str(error)[:300]
    )


def mark_skipped(claim: Notification) -> None:
    """Record that the claimed notification is not sent (the customer opted out): it is
    settled, and no later attempt claims it again."""
    Notification.objects.filter(_still_ours(claim)).update(status=NotificationStatus.SKIPPED)


# The mail server connection of a ``mail_connection`` block, shared by its e-mails.
_shared_mail: ContextVar[BaseEmailBackend | None] = ContextVar("shared_mail", default=None)


@contextmanager
def mail_connection() -> Iterator[None]:
    """Send the e-mails of the block (``send_order_email``) through one connection to
    the mail server, opened by the first of them and closed at the end, instead of a
    connection (with its SMTP handshake) per e-mail: a task handling a batch of events
    sets it up once. A send that fails closes it; the next e-mail opens a new one.
    Nested blocks share the outer block's connection."""
    if _shared_mail.get() is not None:
        yield
        return
    backend = get_connection()
    token = _shared_mail.set(backend)
    try:
        yield
    finally:
        _shared_mail.reset(token)
        backend.close()


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
    headers: dict[str, str] | None = None,
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
        headers=headers,
    )
    message.attach_alternative(render_to_string(f"{template}.html", context), "text/html")
    for attachment in attachments:
        message.attach(attachment.filename, attachment.content, attachment.mimetype)
    backend = _shared_mail.get()
    try:
        if backend is not None:
            backend.open()  # opened by the block's first e-mail, then kept
            message.connection = backend
        message.send()
    except Exception as exc:  # a soft time limit interrupting the send included
        if backend is not None:
            # The next e-mail of the block opens a fresh connection.
            backend.close()
        mark_failed(claim, exc)
        raise

    def record() -> bool:
        with transaction.atomic():
            if not mark_sent(claim):
                return False
            record_order_event(
                order=order,
                type=OrderEventType.NOTIFICATION_SENT,
                actor=Actor.system("notifications"),
                message=f"E-mail sent to {claim.recipient}: {claim.subject}",
                payload={
                    "event": claim.event,
                    "channel": "email",
                    "recipient": claim.recipient,
                    "notification_id": claim.pk,
                    **(payload or {}),
                },
            )
            return True

    if not _record_sent(record):
        logger.warning("notification %s: sent after its claim was taken over", claim.dedupe_key)
        return None
    return claim


# --- messages to the people of an order, on every channel ------------------------------


@dataclass(frozen=True)
class Recipient:
    """Who gets one copy of a message: an address on a channel, the customer's own
    (``customer_id``) or a company contact's (``contact_id``)."""

    channel: str  # "email" or "sms"
    address: str  # an e-mail address, or a phone number in E.164
    customer_id: int | None = None
    contact_id: int | None = None
    opted_out: bool = False
    name: str = ""


@dataclass(frozen=True)
class OrderMessage:
    """A message about an order, built once and sent to each recipient.

    ``kind`` is the kind of event whose preferences apply (``NotificationEvent``);
    ``event`` names the message on the log (a variant of the kind, such as
    "order_under_review"). The bodies are ``<template>.txt`` and ``<template>.html``
    (e-mail) and ``<template>.sms.txt`` (SMS), rendered with ``context`` plus the
    recipient's links. ``params`` rebuild the message for a resend."""

    kind: str
    event: str
    subject: str
    template: str
    context: dict[str, Any]
    params: dict[str, Any]
    attachments: Sequence[Attachment] = ()
    payload: dict[str, Any] | None = None


# The links a message carries for its recipient (the status page, the preferences
# page, one-click unsubscribe), set by the project's wiring (``oms.apps``): they are
# signed by the customer-facing pages, which sit above this app.
MessageLinks = Callable[[Order, Recipient], dict[str, str]]
_message_links: list[MessageLinks] = []


def register_message_links(links: MessageLinks) -> None:
    _message_links[:] = [links]


def _links_for(order: Order, recipient: Recipient) -> dict[str, str]:
    return _message_links[0](order, recipient) if _message_links else {}


def list_recipients(order: Order, *, kind: str) -> list[Recipient]:
    """Who hears about ``kind`` on ``order``: the order's e-mail and the customer's phone
    (each marked ``opted_out`` when the customer switched that channel off for this
    kind), then the company's contacts for the kind. An address is listed once."""
    customer = order.customer
    channels = get_notification_channels(customer=customer, event=kind)
    found = [
        Recipient("email", order.email, customer_id=customer.pk, opted_out=not channels["email"])
    ]
    if customer.phone:
        found.append(
            Recipient("sms", customer.phone, customer_id=customer.pk, opted_out=not channels["sms"])
        )
    if order.company_id:
        found.extend(
            Recipient(channel, contact.address(channel), contact_id=contact.pk, name=contact.name)
            for contact in list_company_contacts(company_id=order.company_id, event=kind)
            for channel in contact.channels()
        )
    seen: set[tuple[str, str]] = set()
    unique = []
    for recipient in found:
        key = (recipient.channel, recipient.address.lower())
        if key not in seen:
            seen.add(key)
            unique.append(recipient)
    return unique


def dedupe_key_for(base: str, recipient: Recipient) -> str:
    """The claim of one copy: the message's key, the channel and the recipient."""
    return f"{base}:{recipient.channel}:{recipient.address.lower()}"


def deliver_order_message(
    *, order: Order, dedupe_key: str, message: OrderMessage, recipients: Sequence[Recipient]
) -> list[Notification]:
    """Send ``message`` to each of ``recipients``, once per (channel, recipient): each
    copy is claimed on ``dedupe_key`` + channel + recipient, so that a second run sends
    nothing and a retry sends only the copies that failed. A copy to a channel the
    customer switched off is claimed and marked skipped. Returns the copies sent by
    this attempt.

    Each copy is tried whatever happens to the others; then a transient error (the
    mail server or the SMS provider unreachable, a claim being sent by another
    attempt) is raised so that the calling task retries, else the first other error.
    A number the SMS provider refuses for good is marked failed and recorded on the
    timeline, and not retried.
    """
    sent: list[Notification] = []
    transient: list[Exception] = []
    errors: list[Exception] = []
    for recipient in recipients:
        try:
            claim = claim_notification(
                dedupe_key_for(dedupe_key, recipient),
                channel=recipient.channel,
                event=message.event,
                recipient=recipient.address,
                subject=message.subject,
                order=order,
                params=message.params,
            )
        except NotificationInProgress as exc:
            transient.append(exc)
            continue
        if claim is None:
            continue
        if recipient.opted_out:
            mark_skipped(claim)
            continue
        try:
            done = send_message_copy(claim, order=order, message=message, recipient=recipient)
        except sms.InvalidPhoneNumber as exc:
            _record_failure(claim, order=order, error=exc)
            continue
        except (RetryLater, OSError) as exc:
            transient.append(exc)
            continue
        except Exception as exc:  # the others are still sent; raised below
            logger.exception("notification %s failed", claim.dedupe_key)
            errors.append(exc)
            continue
        if done is not None:
            sent.append(done)
    if transient:
        raise transient[0]
    if errors:
        raise errors[0]
    return sent


def _record_failure(claim: Notification, *, order: Order, error: Exception) -> None:
    with transaction.atomic():
        mark_failed(claim, error)
        record_order_event(
            order=order,
            type=OrderEventType.NOTIFICATION_FAILED,
            actor=Actor.system("notifications"),
            message=f"{CHANNEL_LABELS[claim.channel]} to {claim.recipient} failed: {error}",
            payload={"event": claim.event, "channel": claim.channel, "notification_id": claim.pk},
        )


def send_message_copy(
    claim: Notification, *, order: Order, message: OrderMessage, recipient: Recipient
) -> Notification | None:
    """Send the copy ``claim`` stands for on its channel; see ``send_order_email``."""
    links = _links_for(order, recipient)
    context = {**message.context, **links, "recipient": recipient}
    payload = {**(message.payload or {})}
    if claim.resend_of_id:
        payload["resend_of"] = claim.resend_of_id
    if recipient.channel == "sms":
        return send_order_sms(
            claim, order=order, template=message.template, context=context, payload=payload
        )
    headers = {}
    if links.get("unsubscribe_url"):
        # One-click unsubscribe (RFC 8058): mail clients POST to the link.
        headers = {
            "List-Unsubscribe": f"<{links['unsubscribe_url']}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        }
    return send_order_email(
        claim,
        order=order,
        template=message.template,
        context=context,
        attachments=message.attachments,
        payload=payload,
        headers=headers,
    )


def send_order_sms(
    claim: Notification,
    *,
    order: Order,
    template: str,
    context: dict[str, Any],
    payload: dict[str, Any] | None = None,
) -> Notification | None:
    """Send the text message ``claim`` stands for (``<template>.sms.txt``), as
    ``send_order_email`` sends an e-mail; the provider's message id is kept."""
    body = " ".join(render_to_string(f"{template}.sms.txt", context).split())
    try:
        provider_id = sms.send_sms(to=claim.recipient, body=body, idempotency_key=claim.dedupe_key)
    except Exception as exc:
        mark_failed(claim, exc)
        raise

    def record() -> bool:
        with transaction.atomic():
            if not mark_sent(claim):
                return False
            claim.provider_id = provider_id[:100]
            Notification.objects.filter(pk=claim.pk).update(provider_id=claim.provider_id)
            record_order_event(
                order=order,
                type=OrderEventType.NOTIFICATION_SENT,
                actor=Actor.system("notifications"),
                message=f"SMS sent to {claim.recipient}: {claim.subject}",
                payload={
                    "event": claim.event,
                    "channel": "sms",
                    "recipient": claim.recipient,
                    "notification_id": claim.pk,
                    **(payload or {}),
                },
            )
            return True

    if not _record_sent(record):
        logger.warning("notification %s: sent after its claim was taken over", claim.dedupe_key)
        return None
    return claim


# --- resends ---------------------------------------------------------------------------


def may_resend(notification: Notification) -> bool:
    """Whether the message can be sent again: it was built from known parameters and
    went out (or failed) to someone."""
    return bool(notification.params) and notification.status in (
        NotificationStatus.SENT,
        NotificationStatus.FAILED,
    )


@transaction.atomic
def request_resend(*, notification_id: int, actor: Actor, reason: str = "") -> Notification:
    """Queue a new copy of a message to the same recipient on the same channel, recorded
    as a resend of it by ``actor`` (an agent); it goes out after commit through the
    outbox (``notification.resend``), rebuilt from the original's parameters, with
    today's content. Raises ``NotFound`` or ``Conflict`` (a message that cannot be
    resent) and then writes nothing. ``reason`` (optional) goes on the timeline."""
    reason = reason.strip()
    # Locked so that two resends of one message count one after the other.
    original = (
        Notification.objects.select_for_update(no_key=True, of=("self",))
        .select_related("order")
        .filter(pk=notification_id)
        .first()
    )
    if original is None or original.order is None:
        raise NotFound("There is no such message on an order.")
    if not may_resend(original):
        raise Conflict(
            "This message cannot be sent again: only messages to the customer or the "
            "company's contacts that were sent or failed can be."
        )
    count = original.resends.count() + 1
    resend = Notification.objects.create(
        dedupe_key=f"{original.dedupe_key}:resend:{count}",
        channel=original.channel,
        event=original.event,
        recipient=original.recipient,
        subject=original.subject,
        order=original.order,
        status=NotificationStatus.QUEUED,
        params=original.params,
        resend_of=original,
        requested_by_id=actor.user_id,
    )
    record_order_event(
        order=original.order,
        type=OrderEventType.NOTIFICATION_RESEND,
        actor=actor,
        message=(
            f"Resend of “{original.subject}” by {CHANNEL_LABELS[original.channel]} "
            f"to {original.recipient} requested" + (f": {reason}" if reason else "")
        ),
        payload={
            "event": original.event,
            "reason": reason,
            "channel": original.channel,
            "notification_id": resend.pk,
            "resend_of": original.pk,
        },
    )
    outbox.emit(
        "notification.resend", {"notification_id": resend.pk, "order_id": original.order_id}
    )
    return resend
