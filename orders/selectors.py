"""Reusable reads of orders, with what they need joined or prefetched.

The order console (``orders.admin``) renders these; they hold no HTML.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from customers.models import Company, Customer
from inventory.models import NetworkReservation, ReservationStatus
from inventory.selectors import SkuAvailability, get_network_availability

from .models import Notification, Order, OrderHold, OrderLine
from .placement import OrderRequest, backorderable_product_ids, build_order, promise_order


def list_company_orders(company_id: int | None) -> QuerySet[Order]:
    """A company's orders (``None``: the storefront's B2C web orders), drafts left out,
    with their lines and open holds, in a fixed number of queries. The order resource of
    the API adds the shipments (``fulfillment.selectors.list_company_order_resources``)."""
    scoped = (
        Order.objects.filter(company_id=company_id)
        if company_id is not None
        else Order.objects.filter(company__isnull=True, channel="web")
    )
    return (
        scoped.exclude(status="draft")
        .select_related("shipping_method", "pickup_location")
        .prefetch_related(
            "lines",
            Prefetch(
                "holds",
                queryset=OrderHold.objects.filter(released_at__isnull=True),
            ),
        )
    )


def list_recent_orders(
    *, customer: Customer | None = None, company: Company | None = None, limit: int
) -> QuerySet[Order]:
    """The newest ``limit`` orders (drafts included) of one customer or one company, newest
    first, in one query: what the rows show lives on the order itself."""
    if (customer is None) == (company is None):
        raise ValueError("Give exactly one of customer or company.")
    scoped = (
        Order.objects.filter(customer=customer)
        if customer is not None
        else Order.objects.filter(company=company)
    )
    return scoped.order_by("-id")[:limit]


def list_open_holds(order: Order) -> QuerySet[OrderHold]:
    """The order's holds not yet released, oldest first."""
    return OrderHold.objects.filter(order=order, released_at__isnull=True).order_by("placed_at")


def list_order_notifications(order: Order, *, limit: int) -> QuerySet[Notification]:
    """The customer notifications of an order, newest first (one query)."""
    return (
        Notification.objects.filter(order=order)
        .select_related("requested_by")
        .order_by("-id")[:limit]
    )


# --- live availability of a draft's lines -------------------------------------------------


@dataclass(frozen=True)
class LineAvailability:
    """How much of a line's SKU can be had where the order takes it from: the network,
    or the pickup store."""

    available: int
    source: str  # "network" or the pickup store's code
    locations: str  # "RNO1: 4, NYC1: 0", or "no stock recorded"
    status: str  # "In stock", "Short by 2", "Short by 2: backordered"


def line_availability(
    wanted: dict[str, int],
    *,
    backorderable: set[str],
    pickup_code: str = "",
    extra: dict[str, int] | None = None,
) -> dict[str, LineAvailability]:
    """Live availability per SKU for ``wanted`` units (two queries). ``backorderable``
    SKUs short in the network are backordered rather than refused (not at a pickup
    store). ``extra`` adds units already held for this order (a draft's own
    reservation), which the network's available-to-promise no longer counts."""
    found: dict[str, SkuAvailability] = {a.sku: a for a in get_network_availability(wanted)}
    extra = extra or {}
    result = {}
    for sku, quantity in wanted.items():
        sku_availability = found.get(sku)
        locations = sku_availability.locations if sku_availability else []
        if pickup_code:
            at_store = next((loc for loc in locations if loc.location_code == pickup_code), None)
            available = at_store.available_to_promise if at_store else 0
            source = pickup_code
        else:
            available = sku_availability.available_to_promise if sku_availability else 0
            source = "network"
        available += extra.get(sku, 0)
        if available >= quantity:
            status = "In stock"
        else:
            short = quantity - max(available, 0)
            status = (
                f"Short by {short}: backordered"
                if sku in backorderable and not pickup_code
                else f"Short by {short}"
            )
        result[sku] = LineAvailability(
            available=available,
            source=source,
            locations=", ".join(
                f"{loc.location_code}: {loc.available_to_promise}" for loc in locations
            )
            or "no stock recorded",
            status=status,
        )
    return result


def _demand_by_sku(lines: Iterable[OrderLine]) -> dict[str, int]:
    demand: dict[str, int] = defaultdict(int)
    for line in lines:
        demand[line.sku] += line.quantity_live
    return dict(demand)


def _availability_for(
    order: Order, lines: list[OrderLine], *, extra: dict[str, int] | None = None
) -> dict[str, LineAvailability]:
    """Availability of ``lines`` where ``order`` takes them from, with placement's own
    backorder rule (``backorderable_product_ids``)."""
    products = {line.product.sku: line.product for line in lines}
    backorderable = backorderable_product_ids(order, products)
    return line_availability(
        _demand_by_sku(lines),
        backorderable={sku for sku, p in products.items() if p.pk in backorderable},
        pickup_code=order.pickup_location.code if order.pickup_location else "",
        extra=extra,
    )


@dataclass(frozen=True)
class DraftPreview:
    """An order as it would be placed now: priced, promised, and the stock for it."""

    order: Order
    lines: list[OrderLine]
    ship_by_date: dt.date
    delivery_date: dt.date
    transit_days: int
    availability: dict[str, LineAvailability]  # by SKU


def get_draft_preview(order_request: OrderRequest) -> DraftPreview:
    """What the customer would pay and when it would arrive, with live availability:
    the order priced by ``build_order`` (reads only; raises ``DomainError`` on bad
    input) and promised by ``promise_order``. Nothing is written."""
    order, lines, _ = build_order(order_request)
    promise = promise_order(order, now=timezone.now())
    return DraftPreview(
        order=order,
        lines=lines,
        ship_by_date=promise.ship_by_date,
        delivery_date=promise.delivery_date,
        transit_days=promise.transit_days,
        availability=_availability_for(order, lines),
    )


@dataclass(frozen=True)
class DraftStock:
    """A saved draft's lines, the stock it reserved for itself and what is available."""

    lines: list[OrderLine]
    reserved: dict[str, int]  # units by SKU held by the draft's own reservation
    reserved_until: dt.datetime | None  # when the first of them expires
    availability: dict[str, LineAvailability]  # by SKU, its own reservation included


def get_draft_stock(order: Order) -> DraftStock:
    """A draft's lines with live availability and its own reservation (four queries)."""
    lines = list(OrderLine.objects.filter(order=order).select_related("product"))
    reserved: dict[str, int] = defaultdict(int)
    until: dt.datetime | None = None
    for reservation in NetworkReservation.objects.filter(
        reference=order.number, status=ReservationStatus.ACTIVE
    ).select_related("product"):
        reserved[reservation.product.sku] += reservation.quantity
        until = min(until, reservation.expires_at) if until else reservation.expires_at
    return DraftStock(
        lines=lines,
        reserved=dict(reserved),
        reserved_until=until,
        availability=_availability_for(order, lines, extra=reserved),
    )
