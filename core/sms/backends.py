"""SMS backends for the demo and the tests: console, files, memory (``core.sms``)."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from . import outbox


def _message_id(idempotency_key: str) -> str:
    # The same message gets the same id, as an idempotent provider would answer.
    return "local-" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:24]


def _render(*, to: str, body: str, idempotency_key: str, message_id: str) -> str:
    return (
        f"To: {to}\nDate: {timezone.now().isoformat()}\nMessage-Id: {message_id}\n"
        f"Idempotency-Key: {idempotency_key}\n\n{body}\n"
    )


class ConsoleBackend:
    """Writes each message to standard output."""

    def send(self, *, to: str, body: str, idempotency_key: str) -> str:
        message_id = _message_id(idempotency_key)
        sys.stdout.write(
            _render(to=to, body=body, idempotency_key=idempotency_key, message_id=message_id)
            + "-" * 40
            + "\n"
        )
        sys.stdout.flush()
        return message_id


class FileBackend:
    """Writes each message to its own file in ``OMS_SMS_FILE_PATH`` (named after its
    idempotency key, so a message sent twice is one file)."""

    def send(self, *, to: str, body: str, idempotency_key: str) -> str:
        message_id = _message_id(idempotency_key)
        directory = Path(settings.OMS_SMS_FILE_PATH)
        directory.mkdir(parents=True, exist_ok=True)
        (directory / f"{message_id}.txt").write_text(
            _render(to=to, body=body, idempotency_key=idempotency_key, message_id=message_id),
            encoding="utf-8",
        )
        return message_id


class MemoryBackend:
    """Keeps each message in ``core.sms.outbox`` (tests)."""

    def send(self, *, to: str, body: str, idempotency_key: str) -> str:
        message_id = _message_id(idempotency_key)
        outbox.append(
            {"to": to, "body": body, "idempotency_key": idempotency_key, "id": message_id}
        )
        return message_id
