"""What one shipment bills: the amounts of an invoice, from the order and what earlier
invoices of the order already billed. Pure arithmetic, no database.

The rule (docs/billing.md, "Invoices and credit notes"):

- **Lines**: the value of ``q`` shipped units is ``unit_price * q`` (exact: prices
  have cents, quantities are whole). Their tax is the order line's tax, spread over
  its live units *cumulatively*: after this invoice, the line's units invoiced so far
  carry ``round(line tax * units invoiced / live units)``, and this invoice takes that
  minus what earlier invoices of the line took.
- **Order-level amounts** (shipping, shipping tax, discount) are spread over the
  order's value the same way: after this invoice the order has billed
  ``round(amount * value invoiced / subtotal)`` of each, and this invoice takes the
  difference.
- The invoice that **completes** the order (every live unit invoiced, whatever the
  order in which shipments are invoiced) takes each amount's exact remainder.

Rounding a cumulative share never goes down as more is invoiced, so no share is
negative; and the completing invoice brings every amount to the order's own figure,
so the invoices of a fully shipped order add up to its ``grand_total`` to the cent.
(A cancellation between two shipments recomputes the order's tax; should the earlier
invoices then hold a cent more of a line's tax than its new cumulative share, the
share is floored at zero rather than made negative.)

**Settling** (``settle``): once the order has ended and every live unit is invoiced,
what its invoices billed is compared with the order's own figures. An order
completed by cancelling its unshipped units was billed shares of its shipping and tax
computed against a larger subtotal, and no shipment is left to bill the rest: a
closing invoice (no lines) takes it. An order whose invoices hold more than its total
(an edit lowered it after an earlier invoice, a share floored at zero) is credited
the difference.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from core.money import to_cents

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class OrderLineFigures:
    """An order line as invoicing sees it."""

    order_line_id: int
    unit_price: Decimal
    quantity_live: int  # ordered and not cancelled
    tax_total: Decimal  # the order line's tax, on its live units
    invoiced_quantity: int = 0  # by earlier invoices of the order
    invoiced_tax: Decimal = ZERO


@dataclass(frozen=True)
class OrderFigures:
    subtotal: Decimal
    shipping_total: Decimal
    shipping_tax: Decimal
    discount_total: Decimal
    lines: Sequence[OrderLineFigures]
    # Sums over the earlier invoices of the order.
    invoiced_value: Decimal = ZERO
    invoiced_shipping: Decimal = ZERO
    invoiced_shipping_tax: Decimal = ZERO
    invoiced_discount: Decimal = ZERO


@dataclass(frozen=True)
class LineAmounts:
    order_line_id: int
    quantity: int
    unit_price: Decimal
    value: Decimal  # unit_price * quantity
    discount: Decimal
    tax: Decimal

    @property
    def line_total(self) -> Decimal:
        return self.value - self.discount


@dataclass(frozen=True)
class InvoiceAmounts:
    lines: list[LineAmounts]
    shipping_total: Decimal
    shipping_tax: Decimal
    discount_total: Decimal
    completes_order: bool
    subtotal: Decimal = field(init=False)
    tax_total: Decimal = field(init=False)
    grand_total: Decimal = field(init=False)

    def __post_init__(self) -> None:
        subtotal = sum((line.value for line in self.lines), ZERO)
        tax = sum((line.tax for line in self.lines), ZERO) + self.shipping_tax
        object.__setattr__(self, "subtotal", subtotal)
        object.__setattr__(self, "tax_total", tax)
        object.__setattr__(
            self,
            "grand_total",
            subtotal - self.discount_total + self.shipping_total + tax,
        )


def _share(total: Decimal, done: Decimal, fraction: Decimal, *, last: bool) -> Decimal:
    """This invoice's part of ``total``, of which ``done`` is already invoiced, when
    ``fraction`` of the whole is invoiced after it."""
    if last:
        return max(total - done, ZERO)
    return max(to_cents(total * fraction) - done, ZERO)


def _spread(amount: Decimal, weights: list[Decimal]) -> list[Decimal]:
    """``amount`` in cents over ``weights`` by largest remainder (ties: the first)."""
    if not weights:
        return []
    whole = sum(weights, ZERO)
    if whole == 0:
        weights, whole = [Decimal(1)] * len(weights), Decimal(len(weights))
    cents = int(amount * 100)
    exact = [Decimal(cents) * w / whole for w in weights]
    parts = [int(x) for x in exact]  # floor: amounts and weights are not negative
    left = cents - sum(parts)
    by_remainder = sorted(range(len(weights)), key=lambda i: (-(exact[i] - parts[i]), i))
    for index in by_remainder[:left]:
        parts[index] += 1
    return [Decimal(part) / 100 for part in parts]


def allocate(order: OrderFigures, shipped: dict[int, int]) -> InvoiceAmounts:
    """The amounts of the invoice of ``shipped`` (order line id -> units) given what
    earlier invoices of ``order`` took. Raises ValueError for more units than are left
    to invoice on a line."""
    by_id = {line.order_line_id: line for line in order.lines}
    invoiced_after = {line.order_line_id: line.invoiced_quantity for line in order.lines}
    for line_id, quantity in shipped.items():
        line = by_id[line_id]
        if quantity <= 0 or line.invoiced_quantity + quantity > line.quantity_live:
            raise ValueError(f"order line {line_id}: {quantity} units cannot be invoiced")
        invoiced_after[line_id] += quantity
    completes = all(
        invoiced_after[line.order_line_id] >= line.quantity_live for line in order.lines
    )

    lines: list[LineAmounts] = []
    for line_id in sorted(shipped):
        line, quantity = by_id[line_id], shipped[line_id]
        last_of_line = invoiced_after[line_id] == line.quantity_live
        tax = _share(
            line.tax_total,
            line.invoiced_tax,
            Decimal(invoiced_after[line_id]) / Decimal(line.quantity_live),
            last=last_of_line,
        )
        value = to_cents(line.unit_price * quantity)
        lines.append(LineAmounts(line_id, quantity, line.unit_price, value, ZERO, tax))

    value = sum((line.value for line in lines), ZERO)
    if order.subtotal > 0:
        fraction = (order.invoiced_value + value) / order.subtotal
    else:  # nothing but free units: spread by units instead
        live = sum(line.quantity_live for line in order.lines)
        fraction = Decimal(sum(invoiced_after.values())) / Decimal(live or 1)
    shipping = _share(order.shipping_total, order.invoiced_shipping, fraction, last=completes)
    shipping_tax = _share(order.shipping_tax, order.invoiced_shipping_tax, fraction, last=completes)
    discount = _share(order.discount_total, order.invoiced_discount, fraction, last=completes)
    # The invoice's discount goes to its lines by value; never more than a line's value.
    discount = min(discount, value)
    discounts = _spread(discount, [line.value for line in lines])
    lines = [
        LineAmounts(line.order_line_id, line.quantity, line.unit_price, line.value, share, line.tax)
        for line, share in zip(lines, discounts, strict=True)
    ]
    return InvoiceAmounts(
        lines=lines,
        shipping_total=shipping,
        shipping_tax=shipping_tax,
        discount_total=discount,
        completes_order=completes,
    )


@dataclass(frozen=True)
class Totals:
    """The order-level figures of an order, or their sums over its invoices."""

    subtotal: Decimal
    discount_total: Decimal
    shipping_total: Decimal
    shipping_tax: Decimal
    tax_total: Decimal

    @property
    def grand_total(self) -> Decimal:
        return self.subtotal - self.discount_total + self.shipping_total + self.tax_total


@dataclass(frozen=True)
class ClosingAmounts:
    """The order's closing invoice: no lines, the remainders its other invoices left."""

    subtotal: Decimal
    discount_total: Decimal
    shipping_total: Decimal
    shipping_tax: Decimal
    tax_total: Decimal
    completes_order: bool
    lines: tuple[LineAmounts, ...] = ()

    @property
    def grand_total(self) -> Decimal:
        return self.subtotal - self.discount_total + self.shipping_total + self.tax_total


def settle(order: Totals, invoiced: Totals, *, completes: bool) -> ClosingAmounts | Decimal | None:
    """What settles an ended order whose live units are all invoiced: ``None`` when the
    invoices add up to its total; the closing invoice's amounts when they billed less;
    the amount to credit when they billed more.

    The closing invoice bills each remainder in its own column. A remainder that is
    negative while the whole is owed (a cent of line tax the cumulative rule put on an
    earlier invoice, shipping an edit lowered) is taken off as a discount, so that
    every column stays positive and the total is exactly what is owed."""
    owed = order.grand_total - invoiced.grand_total
    if owed == 0:
        return None
    if owed < 0:
        return -owed

    def part(name: str) -> Decimal:
        return Decimal(getattr(order, name) - getattr(invoiced, name))

    subtotal, discount = part("subtotal"), part("discount_total")
    shipping, tax = part("shipping_total"), part("tax_total")
    below = sum((-x for x in (subtotal, shipping, tax) if x < 0), ZERO)
    tax_billed = max(tax, ZERO)
    return ClosingAmounts(
        subtotal=max(subtotal, ZERO) + max(-discount, ZERO),
        discount_total=max(discount, ZERO) + below,
        shipping_total=max(shipping, ZERO),
        shipping_tax=min(max(part("shipping_tax"), ZERO), tax_billed),
        tax_total=tax_billed,
        completes_order=completes,
    )
