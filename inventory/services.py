"""Every write to products, locations and stock.

All stock changes go through ``StockChangeSet``: it takes the rows locked in the
documented order (see ``locks.py``), applies bucket deltas, refuses any result that
breaks an invariant *before* writing anything, then writes the ledger rows, the new
counters and the network totals together inside the caller's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from core.actors import Actor
from core.addresses import clean_postal_address
from core.errors import Conflict, InvalidInput
from core.geo import time_zone_for_postal_code

from .errors import InsufficientStock, InvalidStockChange
from .locks import (
    location_activity_for_share,
    network_stock_for_update,
    stock_levels_for_update,
)
from .models import (
    Location,
    LocationKind,
    MovementReason,
    NetworkStock,
    Product,
    ProductCategory,
    ReservationStatus,
    StockBucket,
    StockLevel,
    StockMovement,
    StockReservation,
    default_time_zone,
    known_time_zones,
)

MAX_STOCK_QUANTITY = 10_000_000


def location_contribution(level: StockLevel, *, active: bool) -> int:
    """What one stock row adds to its SKU's network availability."""
    return level.available_to_promise if active else 0


@dataclass
class StockChangeSet:
    """Bucket changes on locked rows, validated together and written together."""

    actor: Actor
    reference: str = ""
    note: str = ""
    networks: dict[int, NetworkStock] = field(default_factory=dict)
    active_locations: dict[int, bool] = field(default_factory=dict)
    _touched: dict[int, StockLevel] = field(default_factory=dict)
    _before: dict[int, int] = field(default_factory=dict)
    _movements: list[StockMovement] = field(default_factory=list)

    def change(self, level: StockLevel, bucket: str, delta: int, reason: str) -> None:
        if delta == 0:
            return
        if level.pk not in self._touched:
            self._touched[level.pk] = level
            self._before[level.pk] = self._contribution(level)
        balance = getattr(level, bucket) + delta
        setattr(level, bucket, balance)
        self._movements.append(
            StockMovement(
                stock_level=level,
                location_id=level.location_id,
                product_id=level.product_id,
                bucket=bucket,
                delta=delta,
                balance_after=balance,
                reason=reason,
                reference=self.reference,
                note=self.note,
                **self.actor.as_fields(),
            )
        )

    def _contribution(self, level: StockLevel) -> int:
        return location_contribution(level, active=self.active_locations[level.location_id])

    def _validate(self) -> None:
        for level in self._touched.values():
            for bucket in StockBucket.values:
                value = getattr(level, bucket)
                if value < 0:
                    raise InvalidStockChange(
                        f"{bucket.replace('_', ' ')} would become {value}; it cannot go below 0.",
                        location_id=level.location_id,
                        product_id=level.product_id,
                        bucket=bucket,
                    )
                if value > MAX_STOCK_QUANTITY:
                    raise InvalidStockChange(f"{bucket} would exceed {MAX_STOCK_QUANTITY}.")
            if level.allocated + level.reserved > level.on_hand:
                raise InsufficientStock(
                    f"Only {level.on_hand} on hand, but {level.allocated} allocated and "
                    f"{level.reserved} reserved would remain.",
                    location_id=level.location_id,
                    product_id=level.product_id,
                )

    def commit(self) -> list[StockMovement]:
        """Validate, then write ledger rows, counters and network totals."""
        self._validate()
        if not self._movements:
            return []
        network_deltas: dict[int, int] = {}
        for pk, level in self._touched.items():
            diff = self._contribution(level) - self._before[pk]
            network_deltas[level.product_id] = network_deltas.get(level.product_id, 0) + diff
        movements = StockMovement.objects.bulk_create(self._movements)
        # One UPDATE per table whatever the number of rows: hot paths (placement,
        # routing, shipping) keep a constant query count.
        now = timezone.now()
        levels = list(self._touched.values())
        for level in levels:
            level.updated_at = now
        StockLevel.objects.bulk_update(levels, [*StockBucket.values, "updated_at"])
        changed_networks = []
        for product_id, diff in network_deltas.items():
            if diff:
                network = self.networks[product_id]
                network.available += diff
                network.updated_at = now
                changed_networks.append(network)
        if changed_networks:
            NetworkStock.objects.bulk_update(changed_networks, ["available", "updated_at"])
        return movements


def _positive_quantity(quantity: int, *, name: str = "quantity") -> int:
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        raise InvalidStockChange(f"The {name} must be a whole number.")
    if quantity <= 0:
        raise InvalidStockChange(f"The {name} must be greater than zero.")
    if quantity > MAX_STOCK_QUANTITY:
        raise InvalidStockChange(f"The {name} cannot exceed {MAX_STOCK_QUANTITY}.")
    return quantity


def _required_note(note: str) -> str:
    note = (note or "").strip()
    if not note:
        raise InvalidStockChange("A reason is required for this stock change.")
    return note


def _lock_for_change(
    pairs: list[tuple[Location, Product]], *, actor: Actor, reference: str = "", note: str = ""
) -> tuple[StockChangeSet, dict[tuple[int, int], StockLevel]]:
    """Lock network rows, then location rows, then stock rows (the global order) and
    start a change set."""
    networks = network_stock_for_update(product.pk for _, product in pairs)
    active_locations = location_activity_for_share(loc.pk for loc, _ in pairs)
    levels = stock_levels_for_update((loc.pk, product.pk) for loc, product in pairs)
    changes = StockChangeSet(
        actor=actor,
        reference=reference,
        note=note,
        networks=networks,
        active_locations=active_locations,
    )
    return changes, levels


# --- master data --------------------------------------------------------------


@transaction.atomic
def create_location(
    *,
    code: str,
    name: str,
    kind: str,
    address: dict[str, Any],
    ships: bool = True,
    pickup: bool = False,
    customization: bool = False,
    priority: int = 100,
    daily_capacity: int | None = None,
    cost_per_shipment: Decimal = Decimal("0"),
    contact_email: str = "",
    time_zone: str = "",
) -> Location:
    """Create a fulfillment location; its address is validated and geocoded.

    ``time_zone`` (an IANA name) is the clock its shipping cut-offs are read on; left
    empty, it is the zone of its US ZIP code, else the server's."""
    code = code.strip().upper()
    if not code:
        raise InvalidInput("A location code is required.")
    if kind not in LocationKind.values:
        raise InvalidInput(f"Unknown location kind {kind!r}.")
    if Location.objects.filter(code=code).exists():
        raise Conflict(f"Location code {code} is already taken.")
    cleaned = clean_postal_address({"name": name, **address})
    cleaned["name"] = name
    zone = location_time_zone(
        time_zone, country=cleaned["country"], postal_code=cleaned["postal_code"]
    )
    return Location.objects.create(
        code=code,
        kind=kind,
        ships=ships,
        pickup=pickup,
        customization=customization,
        priority=priority,
        daily_capacity=daily_capacity,
        cost_per_shipment=cost_per_shipment,
        contact_email=contact_email,
        time_zone=zone,
        **cleaned,
    )


def location_time_zone(time_zone: str, *, country: str, postal_code: str) -> str:
    """A location's zone: the one given (checked), else its US ZIP code's, else the
    server's."""
    zone = (time_zone or "").strip()
    if not zone:
        return time_zone_for_postal_code(country, postal_code) or default_time_zone()
    if zone not in known_time_zones():
        raise InvalidInput(
            f"{zone} is not a known time zone; use an IANA name such as America/Denver.",
            fields={"time_zone": "unknown"},
        )
    return zone


@transaction.atomic
def create_product(
    *,
    sku: str,
    name: str,
    list_price: Decimal,
    currency: str = "USD",
    weight_grams: int = 0,
    description: str = "",
    is_customizable: bool = False,
    customization_fields: list[str] | None = None,
    is_returnable: bool = True,
    allow_backorder: bool = False,
    dropship_vendor: Location | None = None,
    category: ProductCategory | None = None,
) -> Product:
    """Create a SKU and its network stock row."""
    sku = sku.strip().upper()
    if not sku or len(sku) > 64:
        raise InvalidInput("A SKU of 1 to 64 characters is required.")
    if list_price < 0:
        raise InvalidInput("The list price cannot be negative.")
    fields = customization_fields or []
    if fields and not is_customizable:
        raise InvalidInput("Only customizable products take customization fields.")
    if dropship_vendor is not None and dropship_vendor.kind != LocationKind.DROPSHIP_VENDOR:
        raise InvalidInput(f"{dropship_vendor.code} is not a dropship vendor.")
    if Product.objects.filter(sku=sku).exists():
        raise Conflict(f"SKU {sku} already exists.")
    product = Product.objects.create(
        sku=sku,
        name=name,
        list_price=list_price,
        currency=currency,
        weight_grams=weight_grams,
        description=description,
        is_customizable=is_customizable,
        customization_fields=fields,
        is_returnable=is_returnable,
        allow_backorder=allow_backorder,
        dropship_vendor=dropship_vendor,
        category=category,
    )
    NetworkStock.objects.create(product=product)
    return product


@transaction.atomic
def ensure_product_category(*, code: str, name: str) -> ProductCategory:
    """The category with this code, created with this name if it does not exist yet
    (an existing category keeps its name)."""
    code = code.strip().lower()
    if not code or len(code) > 32:
        raise InvalidInput("A category code of 1 to 32 characters is required.")
    category, _ = ProductCategory.objects.get_or_create(code=code, defaults={"name": name})
    return category


@transaction.atomic
def set_location_active(*, location: Location, active: bool, actor: Actor) -> Location:
    """Open or close a location; its stock joins or leaves network availability."""
    levels_qs = StockLevel.objects.filter(location=location)
    product_ids = list(levels_qs.values_list("product_id", flat=True))
    networks = network_stock_for_update(product_ids)
    locked = Location.objects.select_for_update().get(pk=location.pk)
    if locked.is_active == active:
        return locked
    levels = list(levels_qs.select_for_update(no_key=True).order_by("id"))
    if any(level.product_id not in networks for level in levels):
        # A SKU was first stocked here after product_ids was read (its writer committed
        # while we waited for the location lock). Its network row is not locked, and
        # locking it now would break the lock order. Nothing is written yet: retry.
        raise Conflict(f"Stock at {locked.code} changed meanwhile; try again.")
    for level in levels:
        delta = level.available_to_promise
        if delta:
            network = networks[level.product_id]
            network.available += delta if active else -delta
            network.save(update_fields=["available", "updated_at"])
    locked.is_active = active
    locked.save(update_fields=["is_active", "updated_at"])
    return locked


# --- stock ------------------------------------------------------------------------


@transaction.atomic
def receive_stock(
    *,
    location: Location,
    product: Product,
    quantity: int,
    actor: Actor,
    reference: str = "",
    note: str = "",
) -> StockLevel:
    """Put received units on hand. Expected (incoming) units are settled first."""
    _positive_quantity(quantity)
    changes, levels = _lock_for_change(
        [(location, product)], actor=actor, reference=reference, note=note
    )
    level = levels[(location.pk, product.pk)]
    changes.change(level, StockBucket.ON_HAND, quantity, MovementReason.RECEIPT)
    changes.change(
        level, StockBucket.INCOMING, -min(level.incoming, quantity), MovementReason.RECEIPT
    )
    changes.commit()
    return level


@transaction.atomic
def expect_stock(
    *, location: Location, product: Product, quantity: int, actor: Actor, reference: str = ""
) -> StockLevel:
    """Record units on their way (a purchase order or a transfer in transit)."""
    _positive_quantity(quantity)
    changes, levels = _lock_for_change([(location, product)], actor=actor, reference=reference)
    level = levels[(location.pk, product.pk)]
    changes.change(level, StockBucket.INCOMING, quantity, MovementReason.EXPECTED)
    changes.commit()
    return level


ADJUSTABLE_BUCKETS = (StockBucket.ON_HAND, StockBucket.UNSELLABLE, StockBucket.INCOMING)


@transaction.atomic
def adjust_stock(
    *,
    location: Location,
    product: Product,
    delta: int,
    reason: str,
    actor: Actor,
    bucket: str = StockBucket.ON_HAND,
    reference: str = "",
) -> StockLevel:
    """Correct a bucket by ``delta`` (found, lost, write-off…). A reason is required.

    Refuses a result below zero, or on hand below what is allocated and reserved.
    """
    note = _required_note(reason)
    if bucket not in ADJUSTABLE_BUCKETS:
        raise InvalidStockChange(f"The {bucket} bucket is not adjusted by hand.")
    if isinstance(delta, bool) or not isinstance(delta, int) or delta == 0:
        raise InvalidStockChange("The adjustment must be a non-zero whole number.")
    if abs(delta) > MAX_STOCK_QUANTITY:
        raise InvalidStockChange(f"An adjustment cannot exceed {MAX_STOCK_QUANTITY} units.")
    changes, levels = _lock_for_change(
        [(location, product)], actor=actor, reference=reference, note=note
    )
    level = levels[(location.pk, product.pk)]
    changes.change(level, bucket, delta, MovementReason.ADJUSTMENT)
    changes.commit()
    return level


@transaction.atomic
def mark_unsellable(
    *, location: Location, product: Product, quantity: int, reason: str, actor: Actor
) -> StockLevel:
    """Move sellable units to the unsellable bucket (damaged, held for QC)."""
    note = _required_note(reason)
    _positive_quantity(quantity)
    changes, levels = _lock_for_change([(location, product)], actor=actor, note=note)
    level = levels[(location.pk, product.pk)]
    changes.change(level, StockBucket.ON_HAND, -quantity, MovementReason.DAMAGE)
    changes.change(level, StockBucket.UNSELLABLE, quantity, MovementReason.DAMAGE)
    changes.commit()
    return level


@transaction.atomic
def set_safety_stock(
    *, location: Location, product: Product, quantity: int, actor: Actor
) -> StockLevel:
    """Keep ``quantity`` units at this location back from promising."""
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0:
        raise InvalidStockChange("Safety stock must be a whole number, zero or more.")
    changes, levels = _lock_for_change([(location, product)], actor=actor)
    level = levels[(location.pk, product.pk)]
    changes.change(
        level, StockBucket.SAFETY_STOCK, quantity - level.safety_stock, MovementReason.SAFETY_STOCK
    )
    changes.commit()
    return level


@transaction.atomic
def transfer_stock(
    *,
    source: Location,
    destination: Location,
    product: Product,
    quantity: int,
    reason: str,
    actor: Actor,
    reference: str = "",
) -> tuple[StockLevel, StockLevel]:
    """Move sellable units from one location to another, both sides in one transaction."""
    note = _required_note(reason)
    _positive_quantity(quantity)
    if source.pk == destination.pk:
        raise InvalidStockChange("Source and destination must differ.")
    changes, levels = _lock_for_change(
        [(source, product), (destination, product)], actor=actor, reference=reference, note=note
    )
    out_level = levels[(source.pk, product.pk)]
    in_level = levels[(destination.pk, product.pk)]
    if out_level.on_hand - out_level.allocated - out_level.reserved < quantity:
        raise InsufficientStock(
            f"{source.code} has only "
            f"{out_level.on_hand - out_level.allocated - out_level.reserved} free units "
            f"of {product.sku}.",
        )
    changes.change(out_level, StockBucket.ON_HAND, -quantity, MovementReason.TRANSFER_OUT)
    changes.change(in_level, StockBucket.ON_HAND, quantity, MovementReason.TRANSFER_IN)
    changes.commit()
    return out_level, in_level


@transaction.atomic
def record_cycle_count(
    *, location: Location, product: Product, counted: int, actor: Actor, note: str = ""
) -> StockLevel:
    """Set on hand to the counted number of sellable units; the difference is ledgered.

    A count below what is allocated and reserved is refused: those commitments must be
    released or rejected first, so that no promised unit silently disappears.
    """
    if isinstance(counted, bool) or not isinstance(counted, int) or counted < 0:
        raise InvalidStockChange("The counted quantity must be a whole number, zero or more.")
    changes, levels = _lock_for_change(
        [(location, product)], actor=actor, note=note or "cycle count"
    )
    level = levels[(location.pk, product.pk)]
    changes.change(level, StockBucket.ON_HAND, counted - level.on_hand, MovementReason.CYCLE_COUNT)
    changes.commit()
    return level


@transaction.atomic
def release_reservation(*, reservation_id: int, actor: Actor) -> bool:
    """Give the units of a location reservation back. Returns False when it had already
    ended (idempotent).

    Nothing makes location reservations any more: drafts and quotes reserve against
    the network (``inventory.commitments.reserve_network``), where a reservation cannot
    take units that placed orders have committed. This releases the ones made before.
    """
    reservation = (
        StockReservation.objects.select_related("stock_level__location", "stock_level__product")
        .filter(pk=reservation_id)
        .first()
    )
    if reservation is None:
        return False
    level = reservation.stock_level
    changes, levels = _lock_for_change(
        [(level.location, level.product)], actor=actor, reference=reservation.reference
    )
    # Re-read under the locks: another worker may have ended it meanwhile.
    reservation = StockReservation.objects.select_for_update().get(pk=reservation_id)
    if reservation.status != ReservationStatus.ACTIVE:
        return False
    locked = levels[(level.location_id, level.product_id)]
    changes.change(
        locked, StockBucket.RESERVED, -reservation.quantity, MovementReason.RESERVATION_RELEASE
    )
    changes.commit()
    reservation.status = ReservationStatus.RELEASED
    reservation.ended_at = timezone.now()
    reservation.save(update_fields=["status", "ended_at"])
    return True
