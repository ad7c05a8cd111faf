"""The payment provider interface we own (docs/billing.md, "Payment providers").

Every provider takes amounts as ``Decimal`` in the currency's major unit (``12.50`` US
dollars, ``1500`` yen) and converts them to the provider's minor units itself
(``billing.providers.amounts``). Every call carries an idempotency key: the same key with
the same arguments returns the same result and moves money at most once, so a task that
dies after the provider answered can simply run again with its key.

Results are frozen dataclasses that keep the provider's raw response for the audit
ledger. Failures are ``PaymentError`` subclasses; only ``ProviderUnavailable`` is worth
retrying (with the same idempotency key).
"""

from __future__ import annotations

import abc
import enum
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar


class PaymentStatus(enum.StrEnum):
    AUTHORISED = "authorised"
    CAPTURED = "captured"
    VOIDED = "voided"
    REFUNDED = "refunded"
    # A refund the provider accepted but has not settled yet (Stripe's "pending").
    PENDING = "pending"


@dataclass(frozen=True)
class ProviderResult:
    """What the provider answered to one successful call."""

    reference: str
    amount: Decimal
    currency: str
    status: PaymentStatus
    # The provider's response as it came, stored with the ledger row for audit.
    raw: dict[str, Any] = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class Authorisation(ProviderResult):
    """Money held on the customer's card; ``reference`` is what capture and void take."""

    # When the provider drops the hold if nothing was captured (None: not known).
    expires_at: datetime | None = None


@dataclass(frozen=True)
class Capture(ProviderResult):
    """Money taken from an authorisation; ``reference`` is what refund takes."""

    authorisation_id: str = ""
    # What is still held on the authorisation after this capture; zero once the
    # authorisation is closed (a final capture, or a provider that allows only one).
    amount_capturable: Decimal = Decimal(0)


@dataclass(frozen=True)
class Void(ProviderResult):
    """The rest of an authorisation released; ``amount`` is what was released."""


@dataclass(frozen=True)
class Refund(ProviderResult):
    """Captured money paid back; ``reference`` is the refund's own reference."""

    payment_reference: str = ""


class PaymentError(Exception):
    """The provider refused or could not do what was asked; no money moved.

    ``code`` is stable (shown to operators and stored in the ledger), ``raw`` is the
    provider's error response for the audit ledger.
    """

    code: str = "payment_error"
    retryable: ClassVar[bool] = False

    def __init__(
        self, message: str, *, code: str | None = None, raw: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.raw = raw or {}


class PaymentDeclined(PaymentError):
    """The card issuer said no; ``decline_code`` says why (``insufficient_funds``)."""

    code = "payment_declined"

    def __init__(
        self, message: str, *, decline_code: str, raw: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message, raw=raw)
        self.decline_code = decline_code


class AuthorisationExpired(PaymentError):
    """The hold on the card lapsed: nothing is left to capture or void; authorise again."""

    code = "authorisation_expired"


class ProviderUnavailable(PaymentError):
    """A timeout, a connection error, a rate limit or a 5xx: the outcome is unknown.

    Retry with the same idempotency key: the provider answers with the first outcome
    if the call went through after all.
    """

    code = "provider_unavailable"
    retryable = True


class InvalidPaymentRequest(PaymentError):
    """The call cannot succeed as asked (more than is capturable or refundable, an
    unknown reference, an amount finer than the currency's minor unit, an idempotency
    key reused with other arguments): a bug or a stale decision, never worth retrying."""

    code = "invalid_payment_request"


class PaymentProvider(abc.ABC):
    """A payment provider as the billing services use it.

    Every method is keyword-only, makes one provider call (two for Stripe's capture and
    refund, which read the payment first) and must not run inside a database
    transaction: a network call never holds a lock (docs/architecture.md).
    """

    name: ClassVar[str]

    @abc.abstractmethod
    def authorise(
        self,
        *,
        amount: Decimal,
        currency: str,
        token: str,
        idempotency_key: str,
        reference: str,
    ) -> Authorisation:
        """Hold ``amount`` on the payment method ``token``; ``reference`` (the order
        number) is stored with the payment at the provider."""

    @abc.abstractmethod
    def capture(
        self,
        *,
        authorisation_id: str,
        amount: Decimal,
        currency: str,
        idempotency_key: str,
        final: bool = False,
    ) -> Capture:
        """Take ``amount`` (at most what is still capturable) of an authorisation.
        Several captures may follow one another; ``final`` releases what remains."""

    @abc.abstractmethod
    def void(self, *, authorisation_id: str, idempotency_key: str) -> Void:
        """Release what remains of an authorisation."""

    @abc.abstractmethod
    def refund(
        self,
        *,
        payment_reference: str,
        amount: Decimal,
        currency: str,
        idempotency_key: str,
        reason: str,
    ) -> Refund:
        """Pay back ``amount`` (at most what was captured and not yet refunded) of a
        capture, or of an authorisation's captures; ``reason`` is our reason code."""
