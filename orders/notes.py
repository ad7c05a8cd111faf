"""Agents' notes on an order: written from the order page, listed on its timeline, and
pinned to the top of the page while they matter ("customer asked for a call before
delivery"). Each note and each pin or unpin leaves a timeline entry in the same
transaction."""

from __future__ import annotations

from django.db import transaction

from core.actors import Actor, ActorKind
from core.errors import Conflict, InvalidInput, NotFound

from .events import record_order_event
from .models import Order, OrderEventType, OrderNote

# How much of a note its timeline entry repeats; the page shows the whole note.
EVENT_EXCERPT = 120


class NoteAlreadyPinned(Conflict):
    code = "note_already_pinned"


class NoteNotPinned(Conflict):
    code = "note_not_pinned"


def _excerpt(body: str) -> str:
    return body if len(body) <= EVENT_EXCERPT else body[: EVENT_EXCERPT - 1].rstrip() + "…"


@transaction.atomic
def add_order_note(*, order: Order, body: str, actor: Actor, pinned: bool = False) -> OrderNote:
    """Keep an agent's note on ``order`` (pinned on top of its page if ``pinned``).

    The body is trimmed and must hold 1 to ``OrderNote.MAX_LENGTH`` characters; only a
    staff user writes notes. Side effect: a "note" timeline entry naming the note."""
    text = body.strip()
    if not text:
        raise InvalidInput("A note cannot be empty.", field="body")
    if len(text) > OrderNote.MAX_LENGTH:
        raise InvalidInput(
            f"A note holds at most {OrderNote.MAX_LENGTH} characters; this one has {len(text)}.",
            field="body",
        )
    if actor.kind != ActorKind.USER or actor.user_id is None:
        raise InvalidInput("Only a staff user writes notes on an order.")
    note = OrderNote.objects.create(
        order=order,
        author_id=actor.user_id,
        author_name=actor.label[:150],
        body=text,
        pinned=pinned,
    )
    record_order_event(
        order=order,
        type=OrderEventType.NOTE,
        actor=actor,
        message=("Pinned note: " if pinned else "Note: ") + _excerpt(text),
        payload={"note_id": note.pk, "action": "added", "pinned": pinned},
    )
    return note


@transaction.atomic
def pin_order_note(*, note_id: int, pinned: bool, actor: Actor) -> OrderNote:
    """Pin a note on top of its order's page, or unpin it (``pinned=False``).

    Refused when the note is already in that state (two agents clicking at once: the
    second is told, nothing is written twice). Side effect: a timeline entry."""
    # The note's row lock makes the check and the write one decision.
    note = (
        OrderNote.objects.select_for_update(no_key=True)
        .select_related("order")
        .filter(pk=note_id)
        .first()
    )
    if note is None:
        raise NotFound("This note does not exist.")
    if note.pinned == pinned:
        if pinned:
            raise NoteAlreadyPinned("This note is already pinned.")
        raise NoteNotPinned("This note is not pinned.")
    note.pinned = pinned
    note.save(update_fields=["pinned"])
    record_order_event(
        order=note.order,
        type=OrderEventType.NOTE,
        actor=actor,
        message=("Note pinned: " if pinned else "Note unpinned: ") + _excerpt(note.body),
        payload={"note_id": note.pk, "action": "pinned" if pinned else "unpinned"},
    )
    return note
