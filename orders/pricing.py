"""Prices, tax and totals. Money is rounded once per line and once per total, half up,
in ``money`` — nowhere else."""

from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal

from customers.models import Company, PriceListEntry
from inventory.models import Product

from .models import TaxRate

CENT = Decimal("0.01")


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


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
