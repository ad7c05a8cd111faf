"""How an order's timeline entries read: the changes an edit or a cancellation made, in
words and money a person reads (``describe_changes``)."""

from __future__ import annotations

import contextlib
from typing import Any

from core.money import format_money

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
