"""Where a return goes: the rule that picks the location, and the drop-off stores.

The rule: among active warehouses, distribution centres and stores that accept returns,
prefer those that stock every SKU of the return (a stock row exists there), then the
nearest to the order's ship-to coordinates, then the routing priority and the code. The
reason text records which of these decided, like routing's trace.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.errors import Conflict
from core.geo import distance_km
from inventory.models import Location, LocationKind, StockLevel
from orders.models import Order

RETURN_LOCATION_KINDS = (
    LocationKind.WAREHOUSE,
    LocationKind.DISTRIBUTION_CENTER,
    LocationKind.STORE,
)


class NoReturnDestination(Conflict):
    code = "no_return_destination"


class DropOffStoreInvalid(Conflict):
    code = "drop_off_store_invalid"
    status = 422


@dataclass(frozen=True)
class Candidate:
    location: Location
    distance_km: float | None
    stocks_all: bool


def _distance(order: Order, location: Location) -> float | None:
    if None in (order.ship_latitude, order.ship_longitude, location.latitude, location.longitude):
        return None
    return distance_km(
        order.ship_latitude,  # type: ignore[arg-type]
        order.ship_longitude,  # type: ignore[arg-type]
        location.latitude,  # type: ignore[arg-type]
        location.longitude,  # type: ignore[arg-type]
    )


def _candidates(order: Order, product_ids: set[int], kinds: tuple[str, ...]) -> list[Candidate]:
    locations = list(Location.objects.filter(is_active=True, accepts_returns=True, kind__in=kinds))
    stocked: dict[int, set[int]] = {}
    for location_id, product_id in StockLevel.objects.filter(
        location__in=locations, product_id__in=product_ids
    ).values_list("location_id", "product_id"):
        stocked.setdefault(location_id, set()).add(product_id)
    found = [
        Candidate(
            location=loc,
            distance_km=_distance(order, loc),
            stocks_all=product_ids <= stocked.get(loc.pk, set()),
        )
        for loc in locations
    ]
    found.sort(
        key=lambda c: (
            not c.stocks_all,
            c.distance_km is None,
            c.distance_km or 0.0,
            c.location.priority,
            c.location.code,
        )
    )
    return found


def _reason(candidate: Candidate, skus: list[str], what: str) -> str:
    parts = [f"{candidate.location.code}: {what} accepting returns"]
    if candidate.stocks_all:
        parts.append(f"that stocks {', '.join(skus)}")
    else:
        parts.append(f"(none stocks all of {', '.join(skus)})")
    if candidate.distance_km is not None:
        parts.append(f"{candidate.distance_km:,.0f} km from the ship-to address")
    else:
        parts.append("by priority (no coordinates to measure from)")
    return " ".join(parts)[:300]


def choose_destination(
    order: Order, product_ids: set[int], skus: list[str]
) -> tuple[Location, str]:
    """The location a mailed or picked-up return goes to, with the rule's reason."""
    candidates = _candidates(order, product_ids, RETURN_LOCATION_KINDS)
    if not candidates:
        raise NoReturnDestination(
            "No active location accepts returns; ask an operator to open one for returns."
        )
    best = candidates[0]
    return best.location, _reason(best, skus, "nearest location")


def list_drop_off_stores(order: Order, product_ids: set[int], *, limit: int = 5) -> list[Candidate]:
    """The open stores accepting returns nearest the order's ship-to address."""
    candidates = _candidates(order, product_ids, (LocationKind.STORE,))
    candidates.sort(key=lambda c: (c.distance_km is None, c.distance_km or 0.0, c.location.code))
    return candidates[:limit]


def drop_off_destination(
    order: Order, product_ids: set[int], skus: list[str], store: Location | None
) -> tuple[Location, str]:
    """The store the customer picked (or the nearest one), checked to take returns."""
    stores = _candidates(order, product_ids, (LocationKind.STORE,))
    stores.sort(key=lambda c: (c.distance_km is None, c.distance_km or 0.0, c.location.code))
    if not stores:
        raise NoReturnDestination("No open store accepts returns; choose return by mail.")
    if store is None:
        return stores[0].location, _reason(stores[0], skus, "nearest store")
    chosen = next((c for c in stores if c.location.pk == store.pk), None)
    if chosen is None:
        raise DropOffStoreInvalid(
            f"{store.code} does not take returns; choose one of the open stores listed.",
            location=store.code,
        )
    return chosen.location, _reason(chosen, skus, "store chosen by the customer,")
