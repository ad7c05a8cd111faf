"""Payment providers behind one interface (``base``), chosen by ``OMS_PAYMENT_PROVIDER``.

``get_provider()`` gives the configured provider, ``get_provider("stripe")`` a named one.
The providers import nothing of the project but ``core``: the billing services above them
decide what to authorise, capture, void and refund, and record every attempt.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

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
from billing.providers.stripe import StripePaymentProvider
from billing.providers.test import TestPaymentProvider

DEFAULT_PROVIDER = "test"

# Each provider builds itself from the settings it documents (docs/billing.md).
PROVIDERS: dict[str, Callable[[], PaymentProvider]] = {
    TestPaymentProvider.name: TestPaymentProvider.from_settings,
    StripePaymentProvider.name: StripePaymentProvider.from_settings,
}


def get_provider(name: str | None = None) -> PaymentProvider:
    """The provider called ``name``, or the one ``OMS_PAYMENT_PROVIDER`` names.

    Built on each call, from the settings of the moment; the test provider's state is
    per process, shared by every instance."""
    chosen = name or str(getattr(settings, "OMS_PAYMENT_PROVIDER", DEFAULT_PROVIDER))
    try:
        factory = PROVIDERS[chosen]
    except KeyError:
        known = ", ".join(sorted(PROVIDERS))
        raise ImproperlyConfigured(
            f"Unknown payment provider {chosen!r} (OMS_PAYMENT_PROVIDER); known: {known}."
        ) from None
    return factory()


__all__ = [
    "DEFAULT_PROVIDER",
    "PROVIDERS",
    "Authorisation",
    "AuthorisationExpired",
    "Capture",
    "InvalidPaymentRequest",
    "PaymentDeclined",
    "PaymentError",
    "PaymentProvider",
    "PaymentStatus",
    "ProviderResult",
    "ProviderUnavailable",
    "Refund",
    "Void",
    "get_provider",
]
