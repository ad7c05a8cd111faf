"""The customer's order status page: no login; a signed link or a lookup opens it."""

from __future__ import annotations

import math

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from core.actors import Actor, ActorKind
from core.api.throttling import Rate, SlidingWindow
from core.errors import DomainError
from core.security import client_ip
from fulfillment.changes import cancel_order

from .forms import LookupForm
from .links import LinkExpired, LinkInvalid, read_token, status_path
from .selectors import StatusPage, find_order, status_page

NOT_FOUND = (
    "We could not find an order with these details. Check the order number and the "
    "e-mail address or postal code, as written in your confirmation e-mail."
)
EXPIRED = "This link has expired. Look your order up below to get a new one."
INVALID = "This link is not valid. Look your order up below."
CANCEL_REASON = "Cancelled by the customer on the order status page"


def lookup_window() -> SlidingWindow:
    """Lookups per client address: ``OMS_STATUS_LOOKUPS_PER_MINUTE``, in every process."""
    return SlidingWindow(
        scope="status_lookup", rate=Rate(limit=settings.OMS_STATUS_LOOKUPS_PER_MINUTE, seconds=60)
    )


def _lookup_page(
    request: HttpRequest, form: LookupForm, *, message: str = "", status: int = 200
) -> HttpResponse:
    return render(
        request, "selfservice/lookup.html", {"form": form, "message": message}, status=status
    )


@require_http_methods(["GET", "POST"])
def lookup(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _lookup_page(request, LookupForm())
    verdict = lookup_window().hit(client_ip(request))
    if not verdict.allowed:
        wait = math.ceil(verdict.wait)
        response = render(request, "selfservice/too_many.html", {"wait": wait}, status=429)
        response["Retry-After"] = str(wait)
        return response
    form = LookupForm(request.POST)
    if not form.is_valid():
        return _lookup_page(request, form, status=400)
    order = find_order(
        number=form.cleaned_data["number"],
        email=form.cleaned_data.get("email") or "",
        postal_code=form.cleaned_data.get("postal_code") or "",
    )
    if order is None:
        # An unknown number and a wrong pair answer alike: a fresh, empty form.
        return _lookup_page(request, LookupForm(), message=NOT_FOUND, status=404)
    return HttpResponseRedirect(status_path(order))


def page_for(request: HttpRequest, token: str) -> StatusPage | HttpResponse:
    try:
        target = read_token(token)
    except LinkExpired:
        return _lookup_page(request, LookupForm(), message=EXPIRED, status=410)
    except LinkInvalid:
        return _lookup_page(request, LookupForm(), message=INVALID, status=400)
    page = status_page(target.order_id)
    if page is None:
        raise Http404
    return page


@require_http_methods(["GET"])
def status(request: HttpRequest, token: str) -> HttpResponse:
    page = page_for(request, token)
    if isinstance(page, HttpResponse):
        return page
    return render(request, "selfservice/status.html", {"page": page, "token": token})


@require_http_methods(["GET", "POST"])
def cancel(request: HttpRequest, token: str) -> HttpResponse:
    page = page_for(request, token)
    if isinstance(page, HttpResponse):
        return page
    context: dict[str, object] = {"page": page, "token": token}
    if not page.can_cancel:
        context["refused"] = (
            "This order can no longer be cancelled here: its preparation has started or it "
            "is already closed. Please contact us."
        )
        return render(request, "selfservice/cancel.html", context, status=409)
    if request.method == "GET":
        return render(request, "selfservice/cancel.html", context)
    actor = Actor(kind=ActorKind.CUSTOMER, label=page.order.email)
    try:
        cancel_order(order_id=page.order.pk, reason=CANCEL_REASON, actor=actor)
    except DomainError as exc:  # any refusal of the service: a message, never a 500
        context["refused"] = f"This order could not be cancelled: {exc}"
        return render(request, "selfservice/cancel.html", context, status=409)
    return HttpResponseRedirect(reverse("selfservice:status", kwargs={"token": token}))
