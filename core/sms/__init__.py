"""Text messages (SMS) through a provider interface we own.

``send_sms(to=..., body=..., idempotency_key=...)`` hands a message to the backend named
by ``OMS_SMS_BACKEND`` (a dotted path, like Django's ``EMAIL_BACKEND``) and returns the
provider's message id. Backends:

- ``core.sms.backends.ConsoleBackend``: writes the message to standard output (demo);
- ``core.sms.backends.FileBackend``: one file per message in ``OMS_SMS_FILE_PATH`` (demo);
- ``core.sms.backends.MemoryBackend``: keeps messages in ``core.sms.outbox`` (tests);
- ``core.sms.twilio.TwilioBackend``: Twilio's Messages API through its official SDK.

Errors are typed: ``InvalidPhoneNumber`` (the provider will never deliver to this
number: do not retry) and ``ProviderUnavailable`` (a transient failure: a
``core.outbox.RetryLater``, so the consuming task retries it with backoff).
"""

from __future__ import annotations

from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

from core.outbox import RetryLater


class SmsError(Exception):
    """The provider did not accept the message."""


class InvalidPhoneNumber(SmsError):
    """The number cannot receive this message (not a valid or not a mobile number, or the
    recipient blocked the sender): retrying would not help."""


class ProviderUnavailable(SmsError, RetryLater):
    """The provider could not be reached or failed on its side: retry later."""


class SmsBackend(Protocol):
    def send(self, *, to: str, body: str, idempotency_key: str) -> str:
        """Hand the message to the provider; returns the provider's message id.

        ``to`` is an E.164 number (``+14155550100``). ``idempotency_key`` names the
        message: a backend that supports idempotent sends passes it on."""
        ...


# Messages the memory backend kept, oldest first (tests read and clear it).
outbox: list[dict[str, str]] = []


def get_backend() -> SmsBackend:
    backend: SmsBackend = import_string(settings.OMS_SMS_BACKEND)()
    return backend


def send_sms(*, to: str, body: str, idempotency_key: str) -> str:
    """Send ``body`` to the E.164 number ``to`` through the configured backend; returns
    the provider's message id. Raises ``InvalidPhoneNumber`` or ``ProviderUnavailable``."""
    if not to.startswith("+"):
        raise InvalidPhoneNumber(f"{to!r} is not an E.164 number")
    return get_backend().send(to=to, body=body, idempotency_key=idempotency_key)
