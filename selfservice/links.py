"""Signed, expiring links to an order's status page.

A token is the order's id and the link's lifetime in days, signed with a timestamp
(``TimestampSigner``, salt ``selfservice.order``): the page opens while the signature
holds and the timestamp is younger than the lifetime the token carries.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings
from django.core import signing
from django.urls import reverse

if TYPE_CHECKING:
    from orders.models import Order

SALT = "selfservice.order"
DEFAULT_DAYS = 30


class LinkExpired(Exception):
    """A genuine link whose lifetime is over."""


class LinkInvalid(Exception):
    """A token this site did not sign (altered, truncated, or from another key)."""


@dataclass(frozen=True)
class LinkTarget:
    order_id: int
    days: int


def _signer() -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=SALT)


def make_token(order_id: int, *, days: int = DEFAULT_DAYS) -> str:
    if days < 1:
        raise ValueError("a link lives at least one day")
    return _signer().sign(f"{order_id}.{days}")


def read_token(token: str) -> LinkTarget:
    """The order a token opens; ``LinkInvalid`` or ``LinkExpired`` otherwise."""
    signer = _signer()
    try:
        value = signer.unsign(token)
    except signing.BadSignature as exc:
        raise LinkInvalid from exc
    order_part, _, days_part = value.partition(".")
    if not (order_part.isdigit() and days_part.isdigit()):
        raise LinkInvalid
    target = LinkTarget(order_id=int(order_part), days=int(days_part))
    try:
        signer.unsign(token, max_age=dt.timedelta(days=target.days))
    except signing.SignatureExpired as exc:
        raise LinkExpired from exc
    return target


def status_path(order: Order, *, days: int = DEFAULT_DAYS) -> str:
    return reverse("selfservice:status", kwargs={"token": make_token(order.pk, days=days)})


def status_url(order: Order, *, days: int = DEFAULT_DAYS) -> str:
    """The absolute link a message carries: ``OMS_PUBLIC_URL`` and the signed path."""
    return settings.OMS_PUBLIC_URL.rstrip("/") + status_path(order, days=days)
