"""Reads of stock and availability."""

from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import QuerySet

from .errors import UnknownLocation, UnknownSku
from .models import Location, NetworkStock, Product, StockLevel, StockMovement


def get_product_by_sku(sku: str) -> Product:
    product = Product.objects.filter(sku=sku.strip().upper()).first()
    if product is None:
        raise UnknownSku(f"Unknown SKU {sku!r}.", sku=sku)
    return product


def get_location_by_code(code: str) -> Location:
    location = Location.objects.filter(code=code.strip().upper()).first()
    if location is None:
        raise UnknownLocation(f"Unknown location {code!r}.", code=code)
    return location


@dataclass(frozen=True)
class LocationAvailability:
    location_code: str
    location_name: str
    available_to_promise: int
    on_hand: int


@dataclass(frozen=True)
class SkuAvailability:
    sku: str
    available_to_promise: int
    locations: list[LocationAvailability]


def get_network_availability(skus: Iterable[str]) -> list[SkuAvailability]:
    """Network and per-location available to promise for each known SKU (two queries)."""
    wanted = sorted({s.strip().upper() for s in skus})
    networks = {
        n.product.sku: n
        for n in NetworkStock.objects.select_related("product").filter(product__sku__in=wanted)
    }
    per_location: dict[str, list[LocationAvailability]] = {}
    levels = (
        StockLevel.objects.select_related("location", "product")
        .filter(product__sku__in=wanted, location__is_active=True)
        .order_by("location__code")
    )
    for level in levels:
        per_location.setdefault(level.product.sku, []).append(
            LocationAvailability(
                location_code=level.location.code,
                location_name=level.location.name,
                available_to_promise=level.available_to_promise,
                on_hand=level.on_hand,
            )
        )
    return [
        SkuAvailability(
            sku=sku,
            available_to_promise=networks[sku].available_to_promise,
            locations=per_location.get(sku, []),
        )
        for sku in wanted
        if sku in networks
    ]


def list_stock_levels() -> QuerySet[StockLevel]:
    return StockLevel.objects.select_related("location", "product")


def list_movements() -> QuerySet[StockMovement]:
    return StockMovement.objects.select_related("location", "product", "actor_user")
