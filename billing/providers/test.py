"""The test payment provider: deterministic, offline, used by the demo and the tests.

The token given to ``authorise`` decides the outcome (docs/billing.md lists them):

- ``tok_approve``: authorised; captures, voids and refunds succeed within the limits;
- ``tok_decline``: ``PaymentDeclined`` (decline code ``generic_decline``);
- ``tok_insufficient_funds``: ``PaymentDeclined`` (decline code ``insufficient_funds``);
- ``tok_expires``: authorised, but the hold lapses at once: capture and void raise
  ``AuthorisationExpired``;
- ``tok_timeout``: ``ProviderUnavailable``, every time (nothing is recorded).

Idempotency: a result (or a decline) is kept under its idempotency key; the same key with
the same arguments returns it again and moves no money, the same key with other
arguments is refused, as Stripe does. The store lives in this process only: a real
provider keeps it on its side, and the billing ledger is the record on ours. So that a
retry in another process (a worker killed after the call) still gets the same answer,
every reference is derived from the idempotency key, and an authorisation's or a
capture's reference spells its kind, currency and amount
(``testauth_ok_USD_12550_<digest>``): any process can capture or refund it. The limits
(captures never exceed what was authorised, refunds never exceed what was captured) are
exact within one process; across processes only the amount in the reference is known.
"""

from __future__ import annotations

import enum
import hashlib
import re
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

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
    ProviderResult,
    ProviderUnavailable,
    Refund,
    Void,
)

ResultT = TypeVar("ResultT", bound=ProviderResult)


class CardToken(enum.StrEnum):
    """The payment tokens the test provider knows (module docstring)."""

    APPROVE = "tok_approve"
    DECLINE = "tok_decline"
    INSUFFICIENT_FUNDS = "tok_insufficient_funds"
    EXPIRES = "tok_expires"
    TIMEOUT = "tok_timeout"


_DECLINE_CODES: dict[str, str] = {
    CardToken.DECLINE: "generic_decline",
    CardToken.INSUFFICIENT_FUNDS: "insufficient_funds",
}

# How long an approved authorisation says it holds (card networks' usual week); the test
# provider never lets one lapse by the clock, only ``tok_expires`` does.
AUTHORISATION_VALIDITY = timedelta(days=7)

_KIND_APPROVED = "ok"
_KIND_EXPIRES = "exp"
_AUTHORISATION_ID = re.compile(r"^testauth_(ok|exp)_([A-Z]{3})_(\d+)_[0-9a-f]{16}$")
_CAPTURE_ID = re.compile(r"^testcap_([A-Z]{3})_(\d+)_[0-9a-f]{16}$")


@dataclass
class _AuthorisationState:
    reference: str
    currency: str
    authorised: int  # minor units, as every amount below
    expires: bool
    captured: int = 0
    refunded: int = 0
    voided: bool = False
    closed: bool = False  # voided, captured in full, or after a final capture

    @property
    def capturable(self) -> int:
        return 0 if self.closed else self.authorised - self.captured


@dataclass
class _CaptureState:
    reference: str
    currency: str
    captured: int
    authorisation: _AuthorisationState | None
    refunded: int = 0


@dataclass
class _Outcome:
    """What one idempotency key produced: its arguments, and a result or a decline."""

    arguments: tuple[Any, ...]
    result: ProviderResult | None = None
    error: PaymentError | None = None


@dataclass
class TestPaymentStore:
    """The test provider's state in this process (what a real provider keeps for us)."""

    __test__ = False  # a library class, not a pytest test class

    lock: threading.Lock = field(default_factory=threading.Lock)
    outcomes: dict[str, _Outcome] = field(default_factory=dict)
    authorisations: dict[str, _AuthorisationState] = field(default_factory=dict)
    captures: dict[str, _CaptureState] = field(default_factory=dict)

    def clear(self) -> None:
        with self.lock:
            self.outcomes.clear()
            self.authorisations.clear()
            self.captures.clear()


# One store per process, shared by every instance the registry hands out.
DEFAULT_STORE = TestPaymentStore()


def _digest(idempotency_key: str) -> str:
    return hashlib.sha256(idempotency_key.encode()).hexdigest()[:16]


def _raw(obj: str, reference: str, minor: int, currency: str, **fields: Any) -> dict[str, Any]:
    """A response shaped like a provider's: amounts in minor units, lower-case currency."""
    return {
        "object": obj,
        "id": reference,
        "amount": minor,
        "currency": currency.lower(),
        **fields,
    }


class TestPaymentProvider(PaymentProvider):
    """Deterministic provider driven by documented tokens (module docstring)."""

    __test__ = False  # a library class, not a pytest test class
    name = "test"

    def __init__(self, store: TestPaymentStore | None = None) -> None:
        self.store = store if store is not None else DEFAULT_STORE

    @classmethod
    def from_settings(cls) -> TestPaymentProvider:
        return cls()

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
        minor = to_minor_units(amount, code)
        arguments = ("authorise", minor, code, token, reference)
        with self.store.lock:
            replayed = self._replay(idempotency_key, arguments, Authorisation)
            if replayed is not None:
                return replayed
            if token == CardToken.TIMEOUT:
                raise ProviderUnavailable("The test provider timed out (tok_timeout).")
            decline_code = _DECLINE_CODES.get(token)
            if decline_code is not None:
                error = PaymentDeclined(
                    "The card was declined.",
                    decline_code=decline_code,
                    raw={"error": {"type": "card_error", "decline_code": decline_code}},
                )
                self.store.outcomes[idempotency_key] = _Outcome(arguments, error=error)
                raise error
            if token not in {CardToken.APPROVE, CardToken.EXPIRES}:
                raise InvalidPaymentRequest(
                    f"The test provider knows no token {token!r}.", code="invalid_token"
                )
            kind = _KIND_EXPIRES if token == CardToken.EXPIRES else _KIND_APPROVED
            auth_id = f"testauth_{kind}_{code}_{minor}_{_digest(idempotency_key)}"
            state = _AuthorisationState(
                reference=auth_id, currency=code, authorised=minor, expires=kind == _KIND_EXPIRES
            )
            now = datetime.now(UTC)
            expires_at = now if state.expires else now + AUTHORISATION_VALIDITY
            result = Authorisation(
                reference=auth_id,
                amount=from_minor_units(minor, code),
                currency=code,
                status=PaymentStatus.AUTHORISED,
                raw=_raw(
                    "test.authorisation",
                    auth_id,
                    minor,
                    code,
                    status="authorised",
                    token=str(token),
                    order_reference=reference,
                    expires_at=expires_at.isoformat(),
                ),
                expires_at=expires_at,
            )
            self.store.authorisations[auth_id] = state
            self.store.outcomes[idempotency_key] = _Outcome(arguments, result=result)
            return result

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
        arguments = ("capture", authorisation_id, minor, code, final)
        with self.store.lock:
            replayed = self._replay(idempotency_key, arguments, Capture)
            if replayed is not None:
                return replayed
            state = self._open_authorisation(authorisation_id)
            if state.currency != code:
                raise InvalidPaymentRequest(
                    f"The authorisation is in {state.currency}, not {code}.",
                    code="currency_mismatch",
                )
            if minor > state.capturable:
                raise InvalidPaymentRequest(
                    f"Only {from_minor_units(state.capturable, code)} {code} can be captured.",
                    code="amount_too_large",
                )
            state.captured += minor
            if final or state.captured == state.authorised:
                state.closed = True
            capture_id = f"testcap_{code}_{minor}_{_digest(idempotency_key)}"
            self.store.captures[capture_id] = _CaptureState(
                reference=capture_id, currency=code, captured=minor, authorisation=state
            )
            result = Capture(
                reference=capture_id,
                amount=from_minor_units(minor, code),
                currency=code,
                status=PaymentStatus.CAPTURED,
                raw=_raw(
                    "test.capture",
                    capture_id,
                    minor,
                    code,
                    status="captured",
                    authorisation=authorisation_id,
                    amount_capturable=state.capturable,
                    final=state.closed,
                ),
                authorisation_id=authorisation_id,
                amount_capturable=from_minor_units(state.capturable, code),
            )
            self.store.outcomes[idempotency_key] = _Outcome(arguments, result=result)
            return result

    def void(self, *, authorisation_id: str, idempotency_key: str) -> Void:
        arguments = ("void", authorisation_id)
        with self.store.lock:
            replayed = self._replay(idempotency_key, arguments, Void)
            if replayed is not None:
                return replayed
            state = self._open_authorisation(authorisation_id)
            released = state.capturable
            state.voided = state.closed = True
            result = Void(
                reference=authorisation_id,
                amount=from_minor_units(released, state.currency),
                currency=state.currency,
                status=PaymentStatus.VOIDED,
                raw=_raw("test.void", authorisation_id, released, state.currency, status="voided"),
            )
            self.store.outcomes[idempotency_key] = _Outcome(arguments, result=result)
            return result

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
        minor = to_minor_units(amount, code)
        arguments = ("refund", payment_reference, minor, code, reason)
        with self.store.lock:
            replayed = self._replay(idempotency_key, arguments, Refund)
            if replayed is not None:
                return replayed
            capture = self._capture(payment_reference)
            authorisation: _AuthorisationState | None
            if capture is not None:
                authorisation, payment_currency = capture.authorisation, capture.currency
            else:
                authorisation = self._authorisation(payment_reference)
                payment_currency = authorisation.currency
            if payment_currency != code:
                raise InvalidPaymentRequest(
                    f"The payment is in {payment_currency}, not {code}.", code="currency_mismatch"
                )
            # A refund of a capture stays within that capture; any refund stays within
            # what its authorisation captured.
            limits: list[int] = []
            if capture is not None:
                limits.append(capture.captured - capture.refunded)
            if authorisation is not None:
                limits.append(authorisation.captured - authorisation.refunded)
            refundable = min(limits)
            if minor > refundable:
                raise InvalidPaymentRequest(
                    f"Only {from_minor_units(max(refundable, 0), code)} {code} can be refunded.",
                    code="amount_too_large",
                )
            if capture is not None:
                capture.refunded += minor
            if authorisation is not None:
                authorisation.refunded += minor
            refund_id = f"testre_{_digest(idempotency_key)}"
            result = Refund(
                reference=refund_id,
                amount=from_minor_units(minor, code),
                currency=code,
                status=PaymentStatus.REFUNDED,
                raw=_raw(
                    "test.refund",
                    refund_id,
                    minor,
                    code,
                    status="succeeded",
                    payment=payment_reference,
                    reason=reason,
                ),
                payment_reference=payment_reference,
            )
            self.store.outcomes[idempotency_key] = _Outcome(arguments, result=result)
            return result

    # The helpers below run under the store's lock.

    def _replay(
        self, idempotency_key: str, arguments: tuple[Any, ...], kind: type[ResultT]
    ) -> ResultT | None:
        """The first outcome of ``idempotency_key`` (a result, or its decline raised
        again), None for a new key; a key reused with other arguments is refused."""
        if not idempotency_key:
            raise InvalidPaymentRequest("An idempotency key is required.", code="missing_key")
        outcome = self.store.outcomes.get(idempotency_key)
        if outcome is None:
            return None
        if outcome.arguments != arguments or not (
            outcome.error is not None or isinstance(outcome.result, kind)
        ):
            raise InvalidPaymentRequest(
                "This idempotency key was used with other arguments.",
                code="idempotency_key_reused",
            )
        if outcome.error is not None:
            raise outcome.error
        return outcome.result if isinstance(outcome.result, kind) else None

    def _authorisation(self, authorisation_id: str) -> _AuthorisationState:
        state = self.store.authorisations.get(authorisation_id)
        if state is not None:
            return state
        # Made in another process: its reference says what it is.
        match = _AUTHORISATION_ID.match(authorisation_id)
        if match is None:
            raise InvalidPaymentRequest(
                f"No authorisation {authorisation_id!r}.", code="unknown_authorisation"
            )
        kind, code, minor = match.groups()
        state = _AuthorisationState(
            reference=authorisation_id,
            currency=code,
            authorised=int(minor),
            expires=kind == _KIND_EXPIRES,
        )
        self.store.authorisations[authorisation_id] = state
        return state

    def _open_authorisation(self, authorisation_id: str) -> _AuthorisationState:
        """The authorisation, if money can still be captured or released from it."""
        state = self._authorisation(authorisation_id)
        if state.expires:
            raise AuthorisationExpired(
                "The authorisation has expired (tok_expires).", raw={"id": authorisation_id}
            )
        if state.voided:
            raise InvalidPaymentRequest(
                "The authorisation was voided.", code="authorisation_voided"
            )
        if state.closed:
            raise InvalidPaymentRequest(
                "The authorisation was captured in full.", code="authorisation_closed"
            )
        return state

    def _capture(self, reference: str) -> _CaptureState | None:
        """The capture ``reference`` names, or None when it names an authorisation."""
        state = self.store.captures.get(reference)
        if state is not None:
            return state
        match = _CAPTURE_ID.match(reference)
        if match is None:
            return None
        code, minor = match.groups()
        state = _CaptureState(
            reference=reference, currency=code, captured=int(minor), authorisation=None
        )
        self.store.captures[reference] = state
        return state
