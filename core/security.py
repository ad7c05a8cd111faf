"""Slowing down guessing: who a request comes from, and the admin log-in lockout.

django-axes records every failed log-in (``axes.models.AccessAttempt``, one row per
username, address and browser) and refuses a log-in while the failures recorded
against it reach a limit. Two limits apply, checked on every attempt:

- ``AXES_FAILURE_LIMIT`` failures of one username from one address lock that username
  out from that address (a typo-prone colleague elsewhere is not affected);
- ``OMS_LOGIN_IP_FAILURE_LIMIT`` failures from one address, whatever the usernames,
  lock the address out (one guesser trying many usernames).

Failures count for ``AXES_COOLOFF_TIME`` after the latest one. The unlock commands
(``axes_reset_username``, ``axes_reset_ip``, ``axes_reset``) and the admin's "Unlock"
action delete the recorded failures.
"""

from datetime import timedelta
from math import ceil
from typing import Any

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username, get_cool_off
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib import admin
from django.db.models import Sum
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse


def client_ip(request: HttpRequest) -> str:
    """The address of the client: the connection's peer, or behind
    ``OMS_TRUSTED_PROXY_COUNT`` reverse proxies the address the outermost one saw.

    Each proxy appends the address it received the request from to
    ``X-Forwarded-For``, so the client is the n-th entry from the right; entries to its
    left were written by the client itself and prove nothing.
    """
    proxies = int(settings.OMS_TRUSTED_PROXY_COUNT)
    if proxies > 0:
        hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        hops = [hop for hop in hops if hop]
        if len(hops) >= proxies:
            return hops[-proxies]
    return str(request.META.get("REMOTE_ADDR", ""))


class LoginAttemptHandler(AxesDatabaseHandler):
    """Axes' database handler with a limit per username and address and another, higher
    one per address alone.

    Axes compares one number (``get_failures``) with one limit (``AXES_FAILURE_LIMIT``),
    the failures of its worst lockout parameter. ``AXES_LOCKOUT_PARAMETERS`` lists the
    username-and-address pair first and the address second; the address's failures
    are scaled to the pair's limit, so the address reaches it exactly when they reach
    ``OMS_LOGIN_IP_FAILURE_LIMIT``.
    """

    def get_failures(self, request: HttpRequest, credentials: dict[str, Any] | None = None) -> int:
        per_user_and_ip, per_ip = (
            attempts.aggregate(total=Sum("failures_since_start"))["total"] or 0
            for attempts in self.get_user_attempts(request, credentials)
        )
        limit = int(settings.AXES_FAILURE_LIMIT)
        ip_limit = int(settings.OMS_LOGIN_IP_FAILURE_LIMIT)
        return max(per_user_and_ip, per_ip * limit // ip_limit)

    def reset_user_attempts(
        self, request: HttpRequest, credentials: dict[str, Any] | None = None
    ) -> int:
        """A successful log-in clears its own username's failures from its address, not
        the failures of other usernames from that address: logging in with one's own
        account must not reset the count of a guesser next to it."""
        username = get_client_username(request, credentials)
        count, _ = AccessAttempt.objects.filter(
            username=username,
            ip_address=request.axes_ip_address,  # type: ignore[attr-defined]
        ).delete()
        return count


def lockout_response(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict[str, Any] | None = None,
) -> HttpResponse:
    """The page a locked-out person sees instead of the log-in form (429)."""
    cool_off = get_cool_off(request) or timedelta(0)
    context = {
        **admin.site.each_context(request),
        "title": "Log-in locked",
        "minutes": max(1, ceil(cool_off.total_seconds() / 60)),
        "username": get_client_username(request, credentials) or "",
    }
    response = TemplateResponse(request, "admin/locked_out.html", context, status=429)
    response["Retry-After"] = str(int(cool_off.total_seconds()) or 60)
    return response.render()
