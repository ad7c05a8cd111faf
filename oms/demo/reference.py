"""Reference data of the demo that no service writes: tax rates and contract price lists.

Both are tables an operator maintains in the admin, with no rules beyond their
database constraints, so the seed writes them with ``get_or_create`` on their natural
keys (and leaves any existing row exactly as it is: someone may have edited it).
"""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction

from customers.models import Company, PriceList, PriceListEntry
from inventory.models import Product
from orders.models import TaxRate
from orders.pricing import money

from .common import popularity, rng
from .data import (
    COMPANIES,
    LOCATIONS,
    PRICE_LISTS,
    SALES_TAX_RATES,
    TAX_SHIPPING_STATES,
    ZIP_CODES,
    PriceListSpec,
)


def demo_states() -> list[str]:
    """Every US state (and DC) an address of the demo is in."""
    states = {state for _, _, state, _ in ZIP_CODES}
    states |= {company.region for company in COMPANIES}
    states |= {location.region for location in LOCATIONS}  # pickup orders are taxed there
    return sorted(states)


@transaction.atomic
def ensure_tax_rates() -> tuple[int, int]:
    """A sales-tax rate per state of the demo; returns (created, already there)."""
    created = 0
    states = demo_states()
    for state in states:
        # No service exists for tax rates: they are reference data (see the module doc).
        _, was_created = TaxRate.objects.get_or_create(
            country="US",
            region=state,
            defaults={
                "rate": SALES_TAX_RATES[state],
                "taxes_shipping": state in TAX_SHIPPING_STATES,
            },
        )
        created += was_created
    return created, len(states) - created


def price_list_entries(
    spec: PriceListSpec, products: list[Product]
) -> list[tuple[Product, int, Decimal]]:
    """(product, min quantity, unit price) rows of a price list: its most popular SKUs
    at its discount, and deeper breaks on about half of them."""
    eligible = [p for p in products if p.sku.startswith(spec.sku_prefixes)]
    eligible.sort(key=lambda p: (-popularity(p.sku), p.sku))
    rows = []
    for product in sorted(eligible[: spec.sku_count], key=lambda p: p.sku):
        rows.append((product, 1, money(product.list_price * (1 - spec.discount))))
        if rng("price-break", spec.code, product.sku).random() < 0.5:
            rows.extend(
                (product, quantity, money(product.list_price * (1 - discount)))
                for quantity, discount in spec.breaks
            )
    return rows


@transaction.atomic
def ensure_price_lists(products: list[Product]) -> tuple[int, int]:
    """The contract price lists with their entries; returns (lists created, already there).

    A list's companies are assigned when the list is created, in the same transaction:
    afterwards, which company buys on which list is the operator's business.
    """
    created = 0
    companies = {c.account_number: c for c in Company.objects.all()}
    for spec in PRICE_LISTS:
        # No service exists for price lists: they are reference data (see the module doc).
        price_list, was_created = PriceList.objects.get_or_create(
            code=spec.code, defaults={"name": spec.name}
        )
        if not was_created:
            continue
        created += 1
        for product, min_quantity, unit_price in price_list_entries(spec, products):
            PriceListEntry.objects.get_or_create(
                price_list=price_list,
                product=product,
                min_quantity=min_quantity,
                defaults={"unit_price": unit_price},
            )
        for account_number in spec.companies:
            company = companies.get(account_number)
            if company is not None and company.price_list_id is None:
                company.price_list = price_list
                company.save(update_fields=["price_list", "updated_at"])
    return created, len(PRICE_LISTS) - created
