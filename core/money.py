"""Money as people read it: ``$1,234.50``, or ``1,234.50 EUR`` in another currency.

Every message, hold reason, timeline entry, admin column and e-mail that shows an
amount goes through ``format_money`` (templates through the ``money`` filter of
``oms_format``), so an amount never reaches a screen as a raw ``Decimal`` or a float.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation, localcontext

CENT = Decimal("0.01")

# Currencies written with their symbol in front; any other is written with its code
# after the amount. The console runs in US English, so only the dollar is a symbol.
SYMBOLS = {"USD": "$"}


def to_cents(value: Decimal) -> Decimal:
    """``value`` rounded half up to cents: the one rounding rule for money."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def exact_decimal(value: Decimal | int | str) -> Decimal:
    """``value`` as a Decimal, refusing floats: a float already carries binary noise
    (``188621.1399999999999636…``), which no formatting can honestly take back."""
    if isinstance(value, float):
        raise TypeError("Money is a Decimal (or int or str), never a float.")
    if isinstance(value, Decimal):
        return value
    try:
        return Decimal(value)
    except InvalidOperation as exc:
        raise ValueError(f"Not an amount of money: {value!r}.") from exc


def format_money(amount: Decimal | int | str | None, currency: str = "USD") -> str:
    """``amount`` rounded half up to cents with thousands separators: ``$188,621.14``
    for US dollars, ``-$5.00`` below zero, ``1,234.50 EUR`` in any other currency.
    ``None`` (no amount) reads ``-``, as empty cells do in the console."""
    if amount is None:
        return "-"
    value = exact_decimal(amount)
    if not value.is_finite():
        raise ValueError(f"Not an amount of money: {amount!r}.")
    # Enough precision for every digit of the amount: a large total is never rounded
    # to significant figures.
    with localcontext() as context:
        context.prec = max(context.prec, value.adjusted() + 4)
        cents = to_cents(value)
        sign = "-" if cents < 0 else ""
        digits = f"{abs(cents):,.2f}"
    code = (currency or "USD").upper()
    symbol = SYMBOLS.get(code)
    if symbol:
        return f"{sign}{symbol}{digits}"
    return f"{sign}{digits} {code}"
