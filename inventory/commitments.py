"""Network-level demand: placed orders commit units of a SKU before any location is
chosen. Callers hold the order's lock (or create the order) in the same transaction.

Lock order (the global one, written out in ``inventory.locks``): the order row, the
company's credit-decision locks, request keys (idempotency record), then the network
rows here, then location and stock rows. The network rows of a transaction are locked
in ONE call, sorted by product id: a caller that will commit, release or allocate for
several products locks them all first with ``lock_network_rows`` and passes the result
as ``networks`` to every later call, which then locks nothing more. A function given
no ``networks`` locks its own products, so it must be the transaction's only network
lock.

Commitments are recorded on the order's timeline (its lines say how much each
committed); ``NetworkStock.committed`` always equals the open, non-backordered
quantities of placed orders, which the tests reconcile.
"""

from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection
from django.utils import timezone

from core import rows as sql_rows
from core.actors import Actor

from . import sql
from .errors import InsufficientStock
from .models import NetworkReservation, NetworkStock, ReservationStatus


@dataclass(frozen=True)
class Shortage:
    product_id: int
    requested: int
    available: int


@dataclass(frozen=True)
class CommitResult:
    committed: dict[int, int]
    backordered: dict[int, int]


def _commit_all_or_nothing(demand: Mapping[int, int]) -> CommitResult:
    """``commit_demand`` without backorders, in one round trip (PostgreSQL)."""
    ids = sorted(demand)
    now = timezone.now()
    params: list[Any] = []
    for pid in ids:
        params += [pid, demand[pid]]
    found = sql_rows.fetch(sql.network_commit_all_sql(len(ids)), [*params, *ids, now])
    applied = found[0][-1] if found else 0
    if applied != len(ids):
        # Refused: the rows as they were tell what each short product has.
        locked = (sql_rows.instance(NetworkStock, values) for values in found)
        rows = {row.product_id: row for row in locked if row is not None}
        shortages = []
        for pid in ids:
            available = rows[pid].available_to_promise if pid in rows else 0
            if available < demand[pid]:
                shortages.append(Shortage(pid, demand[pid], available))
        if applied or not shortages:
            raise RuntimeError(f"network commitment updated {applied} of {len(ids)} rows")
        raise _insufficient_stock(shortages)
    return CommitResult(committed={pid: demand[pid] for pid in ids}, backordered={})


def _insufficient_stock(shortages: list[Shortage]) -> InsufficientStock:
    return InsufficientStock(
        "Not enough stock for "
        + ", ".join(f"product {s.product_id} ({s.available} of {s.requested})" for s in shortages),
        shortages=[s.__dict__ for s in shortages],
    )


def lock_network_rows(product_ids: list[int]) -> dict[int, NetworkStock]:
    """Lock network rows by product id, sorted (level 4 of the global lock order): one
    call per transaction, over every product it may touch. Runs on every placement, so
    its statement is written by hand."""
    ids = sorted(set(product_ids))
    found = sql_rows.fetch(sql.network_lock_sql(len(ids)), ids)
    locked = [sql_rows.instance(NetworkStock, row) for row in found]
    return {row.product_id: row for row in locked if row is not None}


def commit_demand(
    demand: Mapping[int, int],
    *,
    backorderable: set[int] | frozenset[int] = frozenset(),
    networks: dict[int, NetworkStock] | None = None,
) -> CommitResult:
    """Commit ``demand`` (product id → units) against network availability.

    A product in ``backorderable`` commits what is available and backorders the rest;
    any other shortfall refuses the whole demand with ``InsufficientStock`` listing
    every short product, and nothing is written. Two queries whatever the size; one
    on PostgreSQL when nothing can be backordered and no rows are locked yet.
    """
    if not demand:
        return CommitResult(committed={}, backordered={})
    if networks is None and connection.vendor == "postgresql" and not backorderable & demand.keys():
        return _commit_all_or_nothing(demand)
    rows = networks if networks is not None else lock_network_rows(list(demand))
    shortages: list[Shortage] = []
    committed: dict[int, int] = {}
    backordered: dict[int, int] = {}
    for product_id, quantity in sorted(demand.items()):
        row = rows.get(product_id)
        available = row.available_to_promise if row else 0
        if quantity <= available:
            committed[product_id] = quantity
        elif product_id in backorderable:
            committed[product_id] = available
            backordered[product_id] = quantity - available
        else:
            shortages.append(Shortage(product_id, quantity, available))
    if shortages:
        raise _insufficient_stock(shortages)
    _apply_committed_deltas(rows, {pid: q for pid, q in committed.items() if q})
    return CommitResult(committed=committed, backordered=backordered)


def commit_demands_in_turn(
    demands: Sequence[Mapping[int, int]],
    backorderable: Sequence[AbstractSet[int]],
) -> list[CommitResult | InsufficientStock]:
    """Commit several orders' demands (product id → units) one after the other, each as
    ``commit_demand`` would with the matching ``backorderable``, as if each were placed
    in its own transaction in that order: a demand refused for a shortfall commits
    nothing and leaves its units to the next ones. Returns, per demand, its
    ``CommitResult`` or the ``InsufficientStock`` that refused it (not raised).

    Two statements whatever the number of demands: the network rows of every product
    concerned locked in ONE sorted call (level 4 of the lock order, so it must be the
    transaction's only network lock), and one update of their commitments."""
    wanted = [pid for demand in demands for pid in demand]
    rows = lock_network_rows(wanted) if wanted else {}
    free = {pid: row.available_to_promise for pid, row in rows.items()}
    total: dict[int, int] = {}
    results: list[CommitResult | InsufficientStock] = []
    for demand, allowed in zip(demands, backorderable, strict=True):
        shortages: list[Shortage] = []
        committed: dict[int, int] = {}
        backordered: dict[int, int] = {}
        for product_id, quantity in sorted(demand.items()):
            available = free.get(product_id, 0)
            if quantity <= available:
                committed[product_id] = quantity
            elif product_id in allowed:
                committed[product_id] = available
                backordered[product_id] = quantity - available
            else:
                shortages.append(Shortage(product_id, quantity, available))
        if shortages:
            results.append(_insufficient_stock(shortages))
            continue
        for product_id, quantity in committed.items():
            if quantity:
                free[product_id] -= quantity
                total[product_id] = total.get(product_id, 0) + quantity
        results.append(CommitResult(committed=committed, backordered=backordered))
    _apply_committed_deltas(rows, total)
    return results


def release_demand(
    released: Mapping[int, int], *, networks: dict[int, NetworkStock] | None = None
) -> None:
    """Give committed units back to the network (cancellation, edits, allocation)."""
    rows = networks if networks is not None else lock_network_rows(list(released))
    _apply_committed_deltas(rows, {pid: -q for pid, q in released.items() if q})


def _apply_committed_deltas(rows: dict[int, NetworkStock], deltas: dict[int, int]) -> None:
    if not deltas:
        return
    now = timezone.now()
    for product_id, delta in deltas.items():
        row = rows[product_id]
        row.committed += delta
        if row.committed < 0:
            raise ValueError(f"network commitment of product {product_id} would go negative")
        row.updated_at = now
    ids = sorted(deltas)
    params: list[Any] = []
    for pid in ids:
        params += [pid, rows[pid].committed]
    params += [connection.ops.adapt_datetimefield_value(now), *ids]
    with connection.cursor() as cursor:
        cursor.execute(sql.network_committed_update_sql(len(ids)), params)


def reserve_network(
    demand: Mapping[int, int],
    *,
    reference: str,
    expires_at: datetime,
    actor: Actor,
    networks: dict[int, NetworkStock] | None = None,
) -> list[NetworkReservation]:
    """Hold network availability for a draft or quote until ``expires_at``.

    Refuses with ``InsufficientStock`` (nothing written) when any product is short.
    The caller holds the lock of whatever ``reference`` names (the draft order).
    """
    commit_demand(demand, networks=networks)
    return NetworkReservation.objects.bulk_create(
        [
            NetworkReservation(
                product_id=product_id,
                quantity=quantity,
                reference=reference,
                expires_at=expires_at,
                **actor.as_fields(),
            )
            for product_id, quantity in sorted(demand.items())
            if quantity > 0
        ]
    )


def end_network_reservations(
    reference: str,
    *,
    status: str,
    networks: dict[int, NetworkStock] | None = None,
) -> dict[int, int]:
    """End the active reservations of ``reference``; returns product id → units.

    ``consumed`` keeps the units committed (an order takes them over); ``released``
    and ``expired`` give them back to the network.
    """
    active = list(
        NetworkReservation.objects.select_for_update()
        .filter(reference=reference, status=ReservationStatus.ACTIVE)
        .order_by("id")
    )
    if not active:
        return {}
    held: dict[int, int] = {}
    for reservation in active:
        held[reservation.product_id] = held.get(reservation.product_id, 0) + reservation.quantity
    if status != ReservationStatus.CONSUMED:
        release_demand(held, networks=networks)
    NetworkReservation.objects.filter(pk__in=[r.pk for r in active]).update(
        status=status, ended_at=timezone.now()
    )
    return held


def expired_network_references(*, now: datetime, limit: int = 500) -> list[str]:
    return list(
        NetworkReservation.objects.filter(status=ReservationStatus.ACTIVE, expires_at__lte=now)
        .order_by("reference")
        .values_list("reference", flat=True)
        .distinct()[:limit]
    )
