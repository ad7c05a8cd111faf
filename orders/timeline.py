"""How an order's timeline reads: the changes an edit or a cancellation made, in words
and money a person reads (``describe_changes``), and the entries of the order page's
timeline with its agents' notes, newest first (``order_timeline``)."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

from django.db.models import Q

from core.money import format_money

from .models import Order, OrderEvent, OrderEventType, OrderNote

# How the keys of an edit event's ``before``/``after`` read on screen; keys not named
# here read as words ("promised_delivery_date" -> "Promised delivery date").
CHANGE_LABELS = {
    "grand_total": "Total",
    "shipping_total": "Shipping",
    "tax_total": "Tax",
    "unit_price": "Unit price",
    "line": "Line",
    "lines": "Lines",
    "name": "Recipient",
}
MONEY_KEYS = {"grand_total", "shipping_total", "tax_total", "subtotal", "unit_price", "line_total"}


def _change_label(key: str) -> str:
    return CHANGE_LABELS.get(key, key.replace("_", " ").capitalize())


def _change_value(key: str, value: Any, currency: str) -> str:
    if value is None or value == "":
        return "–"
    if key in MONEY_KEYS and isinstance(value, (str, int)):
        with contextlib.suppress(ValueError):
            return format_money(value, currency)
    return str(value)


def _cancelled_line(key: str) -> str:
    """A cancellation payload's ``"MUG-RED#1"`` as ``line 1 (MUG-RED)``."""
    sku, _, number = str(key).rpartition("#")
    return f"line {number} ({sku})" if sku and number.isdigit() else str(key)


def describe_changes(payload: Any, *, currency: str = "USD") -> str:
    """The ``before``/``after`` of an edit event as "Field: old → new; …" (only what
    changed, money as money), or the lines of a cancellation; empty for other events."""
    if not isinstance(payload, dict):
        return ""
    before, after = payload.get("before"), payload.get("after")
    if isinstance(before, dict) and isinstance(after, dict):
        keys = [*before, *(k for k in after if k not in before)]
        return "; ".join(
            f"{_change_label(key)}: {_change_value(key, before.get(key), currency)} → "
            f"{_change_value(key, after.get(key), currency)}"
            for key in keys
            if before.get(key) != after.get(key)
        )
    lines = payload.get("lines")
    if "grand_total_after" in payload and isinstance(lines, dict):
        cancelled = ", ".join(f"{_cancelled_line(key)} × {qty}" for key, qty in lines.items())
        total_before = _change_value("grand_total", payload.get("grand_total_before"), currency)
        total_after = _change_value("grand_total", payload["grand_total_after"], currency)
        return f"Cancelled {cancelled}; total: {total_before} → {total_after}"
    return ""


@dataclass(frozen=True)
class TimelineEntry:
    """One row of the order page's timeline: an event, with the agent's note it added."""

    event: OrderEvent
    changes: str
    note: OrderNote | None


@dataclass(frozen=True)
class Timeline:
    entries: list[TimelineEntry]
    pinned_notes: list[OrderNote]


def order_timeline(order: Order, *, limit: int) -> Timeline:
    """The order's newest ``limit`` timeline entries, newest first, each note entry with
    its note (a note's entry repeats only the start of it), and the pinned notes, newest
    first. Two queries, whatever the counts."""
    events = list(OrderEvent.objects.filter(order=order).order_by("-created_at", "-id")[:limit])
    note_ids = {
        event.payload["note_id"]
        for event in events
        if event.type == OrderEventType.NOTE
        and isinstance(event.payload, dict)
        and isinstance(event.payload.get("note_id"), int)
    }
    notes = {
        note.pk: note
        for note in OrderNote.objects.filter(order=order).filter(
            Q(pinned=True) | Q(pk__in=note_ids)
        )
    }

    def added_note(event: OrderEvent) -> OrderNote | None:
        payload = event.payload
        if not isinstance(payload, dict) or payload.get("action") != "added":
            return None
        note_id = payload.get("note_id")
        return notes.get(note_id) if isinstance(note_id, int) else None

    entries = [
        TimelineEntry(
            event=event,
            changes=describe_changes(event.payload, currency=order.currency),
            # The note in full on the entry that added it; a pin's entry names it.
            note=added_note(event),
        )
        for event in events
    ]
    pinned = sorted(
        (note for note in notes.values() if note.pinned),
        key=lambda note: (note.created_at, note.pk),
        reverse=True,
    )
    return Timeline(entries=entries, pinned_notes=pinned)
