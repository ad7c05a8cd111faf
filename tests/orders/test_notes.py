"""Agents' notes on an order: kept whole, each one and each pin on the timeline, refused
(with nothing written) when empty, too long, not from a staff user, or already in the
state asked for."""

import pytest

from core.actors import Actor
from core.errors import InvalidInput, NotFound
from orders import notes
from orders.models import OrderEvent, OrderEventType, OrderNote
from orders.timeline import order_timeline
from tests.admin.factories import OrderFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent():
    return Actor.for_user(UserFactory(username="agent-ann"))


def _note_events(order):
    return list(OrderEvent.objects.filter(order=order, type=OrderEventType.NOTE).order_by("id"))


def test_a_note_is_kept_whole_with_its_author_and_leaves_a_timeline_entry(agent):
    order = OrderFactory()
    body = "  Customer asked for a call before delivery. " + "x" * 200 + "  "

    note = notes.add_order_note(order=order, body=body, actor=agent)

    note.refresh_from_db()
    assert note.body == body.strip()
    assert (note.author_name, note.author_id, note.pinned) == ("agent-ann", agent.user_id, False)
    [event] = _note_events(order)
    assert event.message.startswith("Note: Customer asked for a call before delivery.")
    assert event.message.endswith("…")
    assert len(event.message) <= 6 + notes.EVENT_EXCERPT
    assert event.payload == {"note_id": note.pk, "action": "added", "pinned": False}
    assert (event.actor_kind, event.actor_label) == ("user", "agent-ann")


def test_a_note_added_pinned_is_pinned_and_says_so(agent):
    order = OrderFactory()

    note = notes.add_order_note(order=order, body="VIP: call first", actor=agent, pinned=True)

    assert OrderNote.objects.get(pk=note.pk).pinned is True
    assert _note_events(order)[0].message == "Pinned note: VIP: call first"


@pytest.mark.parametrize(
    ("body", "actor", "message"),
    [
        ("   ", None, "A note cannot be empty."),
        ("x" * (OrderNote.MAX_LENGTH + 1), None, "A note holds at most 2000 characters"),
        ("From the API", Actor.api_client("shop"), "Only a staff user writes notes"),
        ("From the system", Actor.system(), "Only a staff user writes notes"),
    ],
)
def test_a_refused_note_writes_nothing(agent, body, actor, message):
    order = OrderFactory()

    with pytest.raises(InvalidInput, match=message):
        notes.add_order_note(order=order, body=body, actor=actor or agent)

    assert not OrderNote.objects.exists()
    assert _note_events(order) == []


def test_pin_and_unpin_each_leave_an_entry(agent):
    order = OrderFactory()
    note = notes.add_order_note(order=order, body="Gate code 4411", actor=agent)

    notes.pin_order_note(note_id=note.pk, pinned=True, actor=agent)
    assert OrderNote.objects.get(pk=note.pk).pinned is True
    notes.pin_order_note(note_id=note.pk, pinned=False, actor=agent)
    assert OrderNote.objects.get(pk=note.pk).pinned is False

    _added, pinned, unpinned = _note_events(order)
    assert pinned.message == "Note pinned: Gate code 4411"
    assert pinned.payload == {"note_id": note.pk, "action": "pinned"}
    assert unpinned.message == "Note unpinned: Gate code 4411"
    assert unpinned.payload == {"note_id": note.pk, "action": "unpinned"}


@pytest.mark.parametrize("pinned", [True, False])
def test_pinning_a_note_already_in_that_state_is_refused_and_writes_nothing(agent, pinned):
    order = OrderFactory()
    note = notes.add_order_note(order=order, body="Gate code 4411", actor=agent, pinned=pinned)

    with pytest.raises(notes.NoteAlreadyPinned if pinned else notes.NoteNotPinned):
        notes.pin_order_note(note_id=note.pk, pinned=pinned, actor=agent)

    assert OrderNote.objects.get(pk=note.pk).pinned is pinned
    assert len(_note_events(order)) == 1


def test_pinning_a_missing_note_is_not_found(agent):
    with pytest.raises(NotFound):
        notes.pin_order_note(note_id=987654, pinned=True, actor=agent)


def test_the_timeline_is_newest_first_with_each_note_on_the_entry_that_added_it(agent):
    order = OrderFactory()
    first = notes.add_order_note(order=order, body="First", actor=agent)
    second = notes.add_order_note(order=order, body="Second", actor=agent, pinned=True)
    notes.pin_order_note(note_id=first.pk, pinned=True, actor=agent)

    timeline = order_timeline(order, limit=10)

    assert [entry.event.message for entry in timeline.entries] == [
        "Note pinned: First",
        "Pinned note: Second",
        "Note: First",
    ]
    assert [entry.note.pk if entry.note else None for entry in timeline.entries] == [
        None,
        second.pk,
        first.pk,
    ]
    # Pinned notes, newest first, even when their entries are beyond the limit.
    assert [note.pk for note in timeline.pinned_notes] == [second.pk, first.pk]
    assert [note.pk for note in order_timeline(order, limit=1).pinned_notes] == [
        second.pk,
        first.pk,
    ]
