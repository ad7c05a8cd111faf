"""SMS through Twilio's Messages API, over the official ``twilio`` SDK.

Settings: ``OMS_TWILIO_ACCOUNT_SID`` and ``OMS_TWILIO_AUTH_TOKEN`` (or an API key:
``OMS_TWILIO_API_KEY_SID``/``OMS_TWILIO_API_KEY_SECRET`` with the account SID), and the
sender: ``OMS_TWILIO_MESSAGING_SERVICE_SID`` or else ``OMS_TWILIO_FROM_NUMBER``.
``OMS_TWILIO_TIMEOUT`` (seconds) bounds each request.

Twilio's Messages API takes no idempotency key: a message is sent once because its
claim row (``orders.notifications``) is taken before the call; the key is logged with
the message SID so that a duplicate after a lost answer can be traced.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from twilio.base.exceptions import (
    TwilioException,
    TwilioRestException,
    TwilioServiceException,
)
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from . import InvalidPhoneNumber, ProviderUnavailable, SmsError

logger = logging.getLogger(__name__)

# Twilio error codes that say the number will never take the message
# (https://www.twilio.com/docs/api/errors): invalid "To" number, not a mobile number,
# a landline, an unsubscribed (STOP) recipient, a region not enabled.
PERMANENT_NUMBER_ERRORS = {21211, 21214, 21408, 21610, 21612, 21614}


class TwilioBackend:
    """Sends through ``twilio.rest.Client``. ``http_client`` replaces the SDK's HTTP
    layer (a fake in tests)."""

    def __init__(self, *, http_client: Any = None) -> None:
        account_sid = settings.OMS_TWILIO_ACCOUNT_SID
        api_key = settings.OMS_TWILIO_API_KEY_SID
        if not account_sid:
            raise SmsError("OMS_TWILIO_ACCOUNT_SID is not set")
        self.client = Client(
            username=api_key or account_sid,
            password=(
                settings.OMS_TWILIO_API_KEY_SECRET if api_key else settings.OMS_TWILIO_AUTH_TOKEN
            ),
            account_sid=account_sid,
            http_client=http_client or TwilioHttpClient(timeout=settings.OMS_TWILIO_TIMEOUT),
        )

    def send(self, *, to: str, body: str, idempotency_key: str) -> str:
        sender: dict[str, str] = (
            {"messaging_service_sid": settings.OMS_TWILIO_MESSAGING_SERVICE_SID}
            if settings.OMS_TWILIO_MESSAGING_SERVICE_SID
            else {"from_": settings.OMS_TWILIO_FROM_NUMBER}
        )
        try:
            message = self.client.messages.create(to=to, body=body, **sender)
        except (TwilioRestException, TwilioServiceException) as exc:
            raise _typed(exc, to) from exc
        except (TwilioException, OSError) as exc:
            # The SDK wraps connection errors of its HTTP layer; requests' are OSErrors.
            raise ProviderUnavailable(f"Twilio could not be reached: {exc}") from exc
        logger.info("sms %s sent as Twilio message %s", idempotency_key, message.sid)
        return str(message.sid)


def _typed(exc: TwilioRestException | TwilioServiceException, to: str) -> SmsError:
    """Twilio's refusal as ours: a number that will never take the message, a failure
    on Twilio's side (retry), or another refusal (a configuration to fix)."""
    status, code = int(exc.status or 0), exc.code
    detail = getattr(exc, "msg", "") or getattr(exc, "detail", "") or str(exc)
    if code in PERMANENT_NUMBER_ERRORS:
        return InvalidPhoneNumber(f"Twilio refused {to}: {detail} ({code})")
    if status == 429 or status >= 500:
        return ProviderUnavailable(f"Twilio answered {status}: {detail}")
    return SmsError(f"Twilio refused the message: {detail} ({code})")
