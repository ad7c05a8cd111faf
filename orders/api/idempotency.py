"""Idempotent order creation: one ``Idempotency-Key`` per company makes one order."""

import hashlib
import json
from typing import Any

from django.db import connection
from django.utils import timezone

from core.errors import Conflict, InvalidInput
from orders.models import IdempotencyKey
from orders.sql import idempotency_key_insert_sql

MAX_KEY_LENGTH = 255


class IdempotencyKeyMissing(InvalidInput):
    code = "idempotency_key_required"


class IdempotencyKeyReused(InvalidInput):
    code = "idempotency_key_reused"
    status = 422


class DuplicateRequest(Conflict):
    """Raised inside the placing transaction when another request holds the key, so
    that everything this request wrote is rolled back."""

    code = "duplicate_request"


def clean_key(raw: str | None) -> str:
    key = (raw or "").strip()
    if not key:
        raise IdempotencyKeyMissing("An Idempotency-Key header is required for this request.")
    if len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise InvalidInput(
            f"The Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable characters."
        )
    return key


def request_fingerprint(data: Any) -> str:
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def store_response(
    *,
    scope: str,
    company_id: int | None,
    key: str,
    fingerprint: str,
    status: int,
    body: str,
    order_id: int,
) -> None:
    """Insert the key with its response, inside the placing transaction, before any
    stock row is locked (a request key, in the global lock order of
    ``inventory.locks``).

    ``ON CONFLICT DO NOTHING`` waits for a concurrent holder of the same key to
    finish; if it committed, this request becomes a duplicate and rolls back. The wait
    happens while this request holds no SKU's row, so the holder can always finish.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            idempotency_key_insert_sql(),
            [scope, company_id, key, fingerprint, status, body, order_id, timezone.now()],
        )
        if cursor.fetchone() is None:
            raise DuplicateRequest("This Idempotency-Key was used by another request.")


def update_response(*, scope: str, key: str, body: str) -> None:
    """Replace the response this transaction stored for its key (the order changed
    after it was rendered: some units were backordered)."""
    IdempotencyKey.objects.filter(scope=scope, key=key).update(response_body=body)


def stored_response(*, scope: str, key: str, fingerprint: str) -> tuple[int, str] | None:
    """The response recorded for this key, or None. A different body is refused."""
    row = IdempotencyKey.objects.filter(scope=scope, key=key).first()
    if row is None:
        return None
    if row.request_hash != fingerprint:
        raise IdempotencyKeyReused(
            "This Idempotency-Key was already used with a different request body."
        )
    return row.response_status, row.response_body
