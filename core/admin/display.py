"""Small pieces of what the console shows: dates, links, tables, and what a bulk
action did (see "Words on screen" in docs/architecture.md)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from django.contrib import admin, messages
from django.db.models import Model
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from ..preferences import format_datetime


def short_datetime(value: dt.datetime | None) -> str:
    """A timestamp in the viewer's time zone and date style (``core.preferences``),
    compact enough for a table cell."""
    return format_datetime(value)


def admin_change_url(obj: Model) -> str:
    opts = obj._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])


def admin_changelist_url(model: type[Model], query: str = "") -> str:
    opts = model._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    return f"{url}?{query}" if query else url


def adopt_saved(obj: Model, saved: Model) -> None:
    """Make the admin's unsaved ``obj`` the row a service created, so the admin's
    history entry and redirect after "Save" point at it."""
    for field in saved._meta.concrete_fields:
        setattr(obj, field.attname, getattr(saved, field.attname))
    obj._state.adding = False
    obj._state.db = saved._state.db


def render_table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> SafeString:
    """A small HTML table for read-only fields; every cell is escaped unless already safe."""
    head = format_html_join("", "<th>{}</th>", ((h,) for h in headers))
    body = format_html_join(
        "",
        "<tr>{}</tr>",
        ((format_html_join("", "<td>{}</td>", ((cell,) for cell in row)),) for row in rows),
    )
    if not body:
        return format_html("<p>{}</p>", "Nothing yet.")
    return format_html("<table><thead><tr>{}</tr></thead><tbody>{}</tbody></table>", head, body)


def count_of(count: int, noun: str, plural: str = "") -> str:
    """``1 order``, ``3 orders``; ``plural`` for nouns that do not just take an s."""
    return f"{count} {noun if count == 1 else plural or noun + 's'}"


def refusal_of(label: str, message: str) -> str:
    """A refusal naming the row it is about (``SO-1000001: …``), unless it already does."""
    return message if label in message else f"{label}: {message}"


def report_outcome(
    model_admin: admin.ModelAdmin[Any],
    request: HttpRequest,
    *,
    done: int,
    done_message: str,
    refused: Sequence[str] = (),
    nothing_message: str = "Nothing was changed.",
) -> None:
    """Tell what a bulk action did: a success only when something was done, one error
    per refused row (each naming its row, see ``refusal_of``), and a warning when
    nothing was done and nothing refused. Never a green "0 done" beside a refusal."""
    if done:
        model_admin.message_user(request, done_message, messages.SUCCESS)
    for refusal in refused:
        model_admin.message_user(request, refusal, messages.ERROR)
    if not done and not refused:
        model_admin.message_user(request, nothing_message, messages.WARNING)
