"""Amounts between our interface (Decimal, major units) and providers (integer minor units).

Most currencies have cents (two decimals: 12.50 USD is 1250); the zero-decimal ones have
none (1500 JPY is 1500, never 150000); a few have three (1.250 KWD is 1250). The tables
follow the card providers' convention, Stripe's (https://docs.stripe.com/currencies),
which the test provider shares, special cases included: three-decimal amounts must end
in 0 (1.255 KWD is refused), and ISK keeps two decimals on the wire but takes whole
krónur only (500 ISK is 50000).

Nothing is rounded here: money is rounded once, where it is computed
(``core.money.to_cents``), and an amount finer than what the currency allows (1500.50 JPY)
is refused, because rounding it here would move a different amount from the one the
ledger records.
"""

from __future__ import annotations

from decimal import Decimal

from billing.providers.base import InvalidPaymentRequest

ZERO_DECIMAL_CURRENCIES = frozenset(
    {
        "BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND",
        "VUV", "XAF", "XOF", "XPF",
    }
)  # fmt: skip
THREE_DECIMAL_CURRENCIES = frozenset({"BHD", "JOD", "KWD", "OMR", "TND"})
# Minor-unit amounts of these currencies must be a multiple of the step.
MINOR_UNIT_STEPS = {"ISK": 100, **dict.fromkeys(THREE_DECIMAL_CURRENCIES, 10)}


def normalise_currency(currency: str) -> str:
    """``currency`` as an upper-case ISO 4217 code, or InvalidPaymentRequest."""
    code = (currency or "").strip().upper()
    if len(code) != 3 or not code.isalpha() or not code.isascii():
        raise InvalidPaymentRequest(f"Not a currency code: {currency!r}.", code="invalid_currency")
    return code


def minor_unit_exponent(currency: str) -> int:
    """How many decimals the provider's minor unit has: 0 (JPY), 2 (USD) or 3 (KWD)."""
    code = normalise_currency(currency)
    if code in ZERO_DECIMAL_CURRENCIES:
        return 0
    if code in THREE_DECIMAL_CURRENCIES:
        return 3
    return 2


def to_minor_units(amount: Decimal, currency: str) -> int:
    """A positive ``amount`` in major units as an integer count of minor units.

    Raises InvalidPaymentRequest for a float, a non-finite or non-positive amount, or
    one finer than the currency allows (1500.5 JPY, 1.255 KWD, 10.5 ISK)."""
    if not isinstance(amount, Decimal):
        raise InvalidPaymentRequest(
            f"An amount is a Decimal, not {type(amount).__name__}.", code="invalid_amount"
        )
    if not amount.is_finite() or amount <= 0:
        raise InvalidPaymentRequest(
            f"An amount must be more than zero, not {amount}.", code="invalid_amount"
        )
    code = normalise_currency(currency)
    scaled = amount.scaleb(minor_unit_exponent(code))
    minor = int(scaled)
    if scaled != minor or minor % MINOR_UNIT_STEPS.get(code, 1):
        raise InvalidPaymentRequest(
            f"{amount} {code} is finer than the smallest amount the currency allows.",
            code="invalid_amount",
        )
    return minor


def from_minor_units(minor: int, currency: str) -> Decimal:
    """An integer count of minor units as a Decimal in major units with the currency's
    decimals (1250 USD -> 12.50, 1500 JPY -> 1500)."""
    exponent = minor_unit_exponent(currency)
    return Decimal(int(minor)).scaleb(-exponent).quantize(Decimal(1).scaleb(-exponent))
