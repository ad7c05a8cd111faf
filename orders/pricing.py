"""Prices, tax and totals. Money is rounded once per line and once per total, half up,
in ``money`` (``core.money.to_cents``) — nowhere else."""

from collections.abc import Iterable
from decimal import Decimal

from core.money import to_cents
from customers.models import Company, PriceListEntry
from inventory.models import Product

from .models import Order, OrderLine, TaxRate


def money(value: Decimal) -> Decimal:
    return to_cents(value)


def contract_prices(
    company: Company | None, product_ids: Iterable[int]
) -> dict[int, list[PriceListEntry]]:
    """A company's price-list entries for these products, quantity breaks ascending."""
    if company is None or company.price_list_id is None:
        return {}
    entries: dict[int, list[PriceListEntry]] = {}
    for entry in PriceListEntry.objects.filter(
        price_list_id=company.price_list_id,
        price_list__is_active=True,
        product_id__in=list(product_ids),
    ).order_by("product_id", "min_quantity"):
        entries.setdefault(entry.product_id, []).append(entry)
    return entries


def unit_price_for(product: Product, quantity: int, breaks: list[PriceListEntry]) -> Decimal:
    """The contract price of the highest quantity break reached, else the list price."""
    price = product.list_price
    for entry in breaks:
        if entry.min_quantity <= quantity:
            price = entry.unit_price
    return price


def tax_rate_for(country: str, region: str) -> TaxRate | None:
    """The most specific rate for a destination: its region, else its whole country."""
    rates = list(TaxRate.objects.filter(country=country, region__in=[region, ""]))
    rates.sort(key=lambda r: r.region != region)
    return rates[0] if rates else None


def apply_totals(order: Order, lines: list[OrderLine]) -> None:
    """Recompute line tax and order totals from the units still live (not cancelled).

    Called at placement and after every cancellation or edit, so totals are always
    derived from lines. Tax is rounded per line; shipping is dropped when nothing is
    left to deliver.
    """
    subtotal = Decimal("0")
    line_tax = Decimal("0")
    for line in lines:
        live_value = money(line.unit_price * line.quantity_live)
        line.tax_total = money(live_value * order.tax_rate)
        subtotal += live_value
        line_tax += line.tax_total
    if subtotal == 0:
        order.shipping_total = Decimal("0")
    shipping_tax = money(order.shipping_total * order.tax_rate) if order.tax_shipping else 0
    order.subtotal = subtotal
    order.tax_total = line_tax + shipping_tax
    order.grand_total = (
        order.subtotal + order.shipping_total + order.tax_total - (order.discount_total)
    )
