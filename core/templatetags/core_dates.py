"""``{{ value|when }}``: a date or timestamp the one way the viewer chose
(``core.preferences``), the same as the console's tables write it."""

from __future__ import annotations

import datetime as dt

from django import template

from core.preferences import format_date, format_datetime

register = template.Library()


@register.filter
def when(value: dt.date | dt.datetime | None) -> str:
    if isinstance(value, dt.datetime):
        return format_datetime(value)
    if isinstance(value, dt.date):
        return format_date(value)
    return "-"
