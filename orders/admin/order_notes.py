"""Agents' notes from the order page: the small form under the timeline adds one (pinned
on top if asked), and each note's button pins or unpins it. Each is one POST, one call
of ``orders.notes``, a message saying what happened, and back to the page's timeline."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import URLPattern, path, reverse
from django.views.decorators.http import require_POST

from core.errors import DomainError

from .. import notes
from ..models import Order
from .base import actor_of
from .order_summary import ADD_NOTE_PERMISSION, PIN_NOTE_PERMISSION

_ModelAdminBase: Any = admin.ModelAdmin


class NotePagesMixin(_ModelAdminBase):
    """The order admin's note endpoints (``<id>/notes/add/``, ``<id>/notes/<note>/pin/``)."""

    def get_urls(self) -> list[URLPattern]:
        # Ahead of Django's own, whose "<path:object_id>/" would take them.
        return [
            path(
                "<path:object_id>/notes/add/",
                self.admin_site.admin_view(require_POST(self.add_note_view)),
                name="orders_order_add_note",
            ),
            path(
                "<path:object_id>/notes/<int:note_id>/pin/",
                self.admin_site.admin_view(require_POST(self.pin_note_view)),
                name="orders_order_pin_note",
            ),
            *super().get_urls(),
        ]

    def _order_for_note(self, request: HttpRequest, object_id: str, permission: str) -> Order:
        order = self.get_object(request, object_id)
        if order is None:
            raise Http404("No such order.")
        if not self.has_view_permission(request, order) or not request.user.has_perm(permission):
            raise PermissionDenied
        return order

    def _back_to_timeline(self, order: Order) -> HttpResponse:
        url = reverse("admin:orders_order_change", args=[order.pk])
        return HttpResponseRedirect(f"{url}#timeline")

    def add_note_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        order = self._order_for_note(request, object_id, ADD_NOTE_PERMISSION)
        pinned = request.POST.get("pinned") == "1"
        try:
            notes.add_order_note(
                order=order,
                body=request.POST.get("body", ""),
                actor=actor_of(request),
                pinned=pinned,
            )
        except DomainError as exc:
            messages.error(request, f"The note was not added: {exc.message}")
        else:
            added = "Note added and pinned on top." if pinned else "Note added to the timeline."
            messages.success(request, f"{order.number}: {added}")
        return self._back_to_timeline(order)

    def pin_note_view(self, request: HttpRequest, object_id: str, note_id: int) -> HttpResponse:
        order = self._order_for_note(request, object_id, PIN_NOTE_PERMISSION)
        pinned = request.POST.get("pinned") == "1"
        if not order.agent_notes.filter(pk=note_id).exists():
            raise Http404("No such note on this order.")
        try:
            notes.pin_order_note(note_id=note_id, pinned=pinned, actor=actor_of(request))
        except DomainError as exc:
            messages.warning(request, f"{order.number}: {exc.message}")
        else:
            done = "Note pinned on top of the page." if pinned else "Note unpinned."
            messages.success(request, f"{order.number}: {done}")
        return self._back_to_timeline(order)
