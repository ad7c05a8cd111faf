"""The Stripe provider: an adapter over Stripe's official SDK (``stripe``, pinned in
pyproject.toml), through a ``StripeClient`` of our own so that tests plug a fake in at the
SDK's HTTP layer (docs/billing.md, "Payment providers").

- authorise: a PaymentIntent created and confirmed at once with the card token,
  ``capture_method=manual``, asking for multicapture (``request_multicapture=if_available``);
- capture: ``PaymentIntent.capture`` with ``amount_to_capture``. Where the card network
  and the account grant multicapture, a capture that is not ``final`` sends
  ``final_capture=false`` so that the rest stays held for the next shipment; where they do
  not, Stripe allows one capture per intent and releases the rest: the result says so
  (``amount_capturable`` 0) and the billing layer authorises again for what remains.
  Which of the two an intent has is read from its charge before capturing, because the
  arguments of a call must be the same on every retry of its idempotency key;
- void: ``PaymentIntent.cancel``;
- refund: ``Refund.create`` against the payment intent (or a charge).

Our idempotency key travels as Stripe's ``Idempotency-Key`` header, so the SDK's own
retries and ours both replay the first outcome. Stripe's errors become ours: a card
error is ``PaymentDeclined`` with its decline code; a connection error, a rate limit, a
409 or a 5xx is ``ProviderUnavailable``; an intent that Stripe cancelled because its
authorisation lapsed is ``AuthorisationExpired``; any other refused request is
``InvalidPaymentRequest``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal, TypeVar

import stripe
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from stripe.params import (
    PaymentIntentCaptureParams,
    PaymentIntentCreateParams,
    RefundCreateParams,
)

from billing.providers.amounts import from_minor_units, normalise_currency, to_minor_units
from billing.providers.base import (
    Authorisation,
    AuthorisationExpired,
    Capture,
    InvalidPaymentRequest,
    PaymentDeclined,
    PaymentError,
    PaymentProvider,
    PaymentStatus,
    ProviderUnavailable,
    Refund,
    Void,
)

# The API version the pinned SDK (stripe==16.1.0) is generated against: its types and the
# responses agree only at this version. Change it together with the pin.
STRIPE_API_VERSION = "2026-10-28.endive"
# Stripe's own refund reasons; any other reason code of ours goes in the metadata only.
STRIPE_REFUND_REASONS: dict[str, Literal["duplicate", "fraudulent", "requested_by_customer"]] = {
    "duplicate": "duplicate",
    "fraudulent": "fraudulent",
    "requested_by_customer": "requested_by_customer",
}

T = TypeVar("T")


def _response(obj: stripe.StripeObject) -> dict[str, Any]:
    """The JSON Stripe answered, as it came (kept for the audit ledger)."""
    response = obj.last_response
    if isinstance(response, stripe.StripeResponse) and isinstance(response.data, dict):
        return dict(response.data)
    return obj.to_dict(for_json=True)


def _error_response(exc: stripe.StripeError) -> dict[str, Any]:
    return dict(exc.json_body) if isinstance(exc.json_body, dict) else {}


def translate_error(exc: stripe.StripeError) -> PaymentError:
    """Stripe's error as one of ours (module docstring)."""
    raw = _error_response(exc)
    message = exc.user_message or str(exc)
    if isinstance(exc, stripe.CardError):
        details = raw.get("error") or {}
        decline_code = details.get("decline_code") or exc.code or "card_declined"
        return PaymentDeclined(message, decline_code=decline_code, raw=raw)
    if isinstance(exc, stripe.APIConnectionError | stripe.RateLimitError) or (
        isinstance(exc, stripe.APIError)
        and (exc.http_status is None or exc.http_status == 409 or exc.http_status >= 500)
    ):
        return ProviderUnavailable(message, raw=raw)
    if isinstance(exc, stripe.InvalidRequestError | stripe.IdempotencyError):
        return _refused_request(exc, message, raw)
    if isinstance(exc, stripe.AuthenticationError | stripe.PermissionError):
        return PaymentError(message, code="provider_configuration", raw=raw)
    return PaymentError(message, code=exc.code or "provider_error", raw=raw)


def _refused_request(exc: stripe.StripeError, message: str, raw: dict[str, Any]) -> PaymentError:
    """A 400/404: the intent's state, in the error body, says whether its hold lapsed."""
    if isinstance(exc, stripe.IdempotencyError):
        return InvalidPaymentRequest(message, code="idempotency_key_reused", raw=raw)
    intent = (raw.get("error") or {}).get("payment_intent") or {}
    status = intent.get("status")
    if exc.code == "charge_expired_for_capture" or (
        status == "canceled" and intent.get("cancellation_reason") == "automatic"
    ):
        return AuthorisationExpired(message, raw=raw)
    code = {"canceled": "authorisation_voided", "succeeded": "authorisation_closed"}.get(
        status or "", exc.code or "invalid_request"
    )
    return InvalidPaymentRequest(message, code=code, raw=raw)


def _card_details(intent: dict[str, Any]) -> dict[str, Any]:
    """The card part of the intent's charge (the charge expanded in the response)."""
    charge = intent.get("latest_charge")
    if not isinstance(charge, dict):
        return {}
    details = (charge.get("payment_method_details") or {}).get("card")
    return details if isinstance(details, dict) else {}


class StripePaymentProvider(PaymentProvider):
    name = "stripe"

    def __init__(
        self,
        *,
        api_key: str,
        api_version: str = STRIPE_API_VERSION,
        http_client: stripe.HTTPClient | None = None,
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
        max_network_retries: int = 2,
    ) -> None:
        if not api_key:
            raise ImproperlyConfigured("The stripe payment provider needs OMS_STRIPE_API_KEY.")
        if http_client is None:
            http_client = stripe.RequestsClient(timeout=(connect_timeout, read_timeout))
        self.client = stripe.StripeClient(
            api_key,
            stripe_version=api_version,
            http_client=http_client,
            max_network_retries=max_network_retries,
        )

    @classmethod
    def from_settings(cls) -> StripePaymentProvider:
        return cls(
            api_key=getattr(settings, "OMS_STRIPE_API_KEY", ""),
            api_version=getattr(settings, "OMS_STRIPE_API_VERSION", STRIPE_API_VERSION),
            connect_timeout=float(getattr(settings, "OMS_STRIPE_CONNECT_TIMEOUT", 5)),
            read_timeout=float(getattr(settings, "OMS_STRIPE_READ_TIMEOUT", 30)),
            max_network_retries=int(getattr(settings, "OMS_STRIPE_MAX_NETWORK_RETRIES", 2)),
        )

    def authorise(
        self,
        *,
        amount: Decimal,
        currency: str,
        token: str,
        idempotency_key: str,
        reference: str,
    ) -> Authorisation:
        code = normalise_currency(currency)
        params: PaymentIntentCreateParams = {
            "amount": to_minor_units(amount, code),
            "currency": code.lower(),
            "payment_method": token,
            "allowed_payment_method_types": ["card"],
            "confirm": True,
            "capture_method": "manual",
            "payment_method_options": {"card": {"request_multicapture": "if_available"}},
            "metadata": {"order_reference": reference},
            "expand": ["latest_charge"],
        }
        intent = _response(
            self._call(
                lambda: self.client.v1.payment_intents.create(
                    params, {"idempotency_key": idempotency_key}
                )
            )
        )
        if intent.get("status") == "requires_action":
            # The bank wants the customer present (3-D Secure): the storefront must
            # authorise, and hand the OMS the intent.
            raise PaymentDeclined(
                "The card needs the customer to authenticate the payment.",
                decline_code="authentication_required",
                raw=intent,
            )
        if intent.get("status") != "requires_capture":
            raise PaymentError(
                f"Stripe answered an authorisation with status {intent.get('status')!r}.",
                code="unexpected_status",
                raw=intent,
            )
        capture_before = _card_details(intent).get("capture_before")
        return Authorisation(
            reference=intent["id"],
            amount=from_minor_units(intent["amount_capturable"], code),
            currency=code,
            status=PaymentStatus.AUTHORISED,
            raw=intent,
            expires_at=(datetime.fromtimestamp(capture_before, tz=UTC) if capture_before else None),
        )

    def capture(
        self,
        *,
        authorisation_id: str,
        amount: Decimal,
        currency: str,
        idempotency_key: str,
        final: bool = False,
    ) -> Capture:
        code = normalise_currency(currency)
        minor = to_minor_units(amount, code)
        # Read the intent first: a capture in the wrong currency would take another amount
        # than the one the ledger records, and only a multicapture intent takes
        # final_capture. Neither changes after authorisation, so a retry of the key sends
        # the same arguments.
        current = _response(
            self._call(
                lambda: self.client.v1.payment_intents.retrieve(
                    authorisation_id, {"expand": ["latest_charge"]}
                )
            )
        )
        self._check_currency(current, code)
        params: PaymentIntentCaptureParams = {"amount_to_capture": minor}
        multicapture = _card_details(current).get("multicapture") or {}
        if not final and multicapture.get("status") == "available":
            params["final_capture"] = False
        intent = _response(
            self._call(
                lambda: self.client.v1.payment_intents.capture(
                    authorisation_id, params, {"idempotency_key": idempotency_key}
                )
            )
        )
        return Capture(
            reference=intent["id"],
            amount=from_minor_units(minor, code),
            currency=code,
            status=PaymentStatus.CAPTURED,
            raw=intent,
            authorisation_id=authorisation_id,
            amount_capturable=from_minor_units(intent.get("amount_capturable") or 0, code),
        )

    def void(self, *, authorisation_id: str, idempotency_key: str) -> Void:
        intent = _response(
            self._call(
                lambda: self.client.v1.payment_intents.cancel(
                    authorisation_id, None, {"idempotency_key": idempotency_key}
                )
            )
        )
        code = normalise_currency(intent["currency"])
        released = int(intent["amount"]) - int(intent.get("amount_received") or 0)
        return Void(
            reference=intent["id"],
            amount=from_minor_units(released, code),
            currency=code,
            status=PaymentStatus.VOIDED,
            raw=intent,
        )

    def refund(
        self,
        *,
        payment_reference: str,
        amount: Decimal,
        currency: str,
        idempotency_key: str,
        reason: str,
    ) -> Refund:
        code = normalise_currency(currency)
        params: RefundCreateParams = {
            "amount": to_minor_units(amount, code),
            "metadata": {"reason": reason},
        }
        # Read the payment first: a refund in the wrong currency would pay back another
        # amount than the one the ledger records.
        if payment_reference.startswith("ch_"):
            params["charge"] = payment_reference
            payment = _response(
                self._call(lambda: self.client.v1.charges.retrieve(payment_reference))
            )
        else:
            params["payment_intent"] = payment_reference
            payment = _response(
                self._call(lambda: self.client.v1.payment_intents.retrieve(payment_reference))
            )
        self._check_currency(payment, code)
        if reason in STRIPE_REFUND_REASONS:
            params["reason"] = STRIPE_REFUND_REASONS[reason]
        refund = _response(
            self._call(
                lambda: self.client.v1.refunds.create(params, {"idempotency_key": idempotency_key})
            )
        )
        status = refund.get("status")
        if status in {"failed", "canceled"}:
            raise PaymentError(
                f"Stripe did not pay the refund back (status {status!r}).",
                code="refund_failed",
                raw=refund,
            )
        return Refund(
            reference=refund["id"],
            amount=from_minor_units(refund["amount"], code),
            currency=code,
            status=PaymentStatus.REFUNDED if status == "succeeded" else PaymentStatus.PENDING,
            raw=refund,
            payment_reference=payment_reference,
        )

    @staticmethod
    def _call(operation: Callable[[], T]) -> T:
        try:
            return operation()
        except stripe.StripeError as exc:
            raise translate_error(exc) from exc

    @staticmethod
    def _check_currency(payment: dict[str, Any], code: str) -> None:
        if str(payment.get("currency", "")).upper() != code:
            raise InvalidPaymentRequest(
                f"The payment is in {str(payment.get('currency')).upper()}, not {code}.",
                code="currency_mismatch",
                raw=payment,
            )
