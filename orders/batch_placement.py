"""``place_order_chunk``: many orders of one company placed together, set-based.

Batch intake (``POST /api/v1/orders/batch/``) places up to 500 orders per request. Placed
one at a time, each order costs its own eight statements and its own commit; here a
chunk of orders shares them: one transaction, and one statement per step whatever the
chunk's size. Every rule of single placement (``orders.placement``) still holds, order
by order, and each order's outcome is the one it would have had if the chunk's orders
had been placed one after the other in request order: an order that is refused (bad
input, short stock) writes nothing and leaves the others placed, stock and credit
decisions see the orders before it in the chunk, and nothing of a refused order is
left behind.

One chunk, in the global lock order of ``inventory.locks``:

1. the company's credit slots (``orders.holds``): one, taken by the products statement
   (the chunk's SKUs, all at once), when the whole chunk placed in full stays within
   the headroom rule; otherwise all of them, first of all, so that the exposure read
   next is exact (a chunk that finds out only after reading it is rolled back and
   placed again so);
2. the company's credit standing (one read) and its contract prices (one read, when it
   has a price list); every order is then validated and priced in Python, without a
   statement of its own;
3. the request keys of the orders that validate (the caller's idempotency records, in
   one sorted statement): a key held by another request is waited for, and its order
   left out;
4. the order numbers (one statement), the orders (one INSERT), their lines, holds,
   timeline events and outbox rows (one INSERT), and the caller's responses (one
   UPDATE);
5. the network rows of every SKU of the chunk, locked in one statement sorted by
   product id, every order's demand committed in turn in Python and written in one
   update (``inventory.commitments.commit_demands_in_turn``). As in single placement
   the SKUs' rows are locked last, so that a hot SKU is held for two statements and
   the commit, not for the chunk's writes. When an order turns out short (refused, or
   units backordered), the chunk is rolled back and placed again deciding stock first
   (step 5 before step 4, the refused orders' keys deleted): every order then gets
   the outcome it would have had alone;
6. ``CompanyExposure`` at commit, by its deferred trigger.

Single orders and other chunks take the same levels in the same order, so they may
wait for each other but never in a cycle. Pickup orders (which allocate at their store)
and store-credit orders (which lock the buyer's account) are not taken here:
``sets_apart`` names them, and the caller places them one at a time with
``place_order``. PostgreSQL only (``supported``): the demo's SQLite places every
order one at a time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from core import outbox, rows
from core.actors import Actor
from core.addresses import clean_postal_address
from core.errors import Conflict, DomainError
from customers.models import Company
from inventory.commitments import CommitResult, commit_demands_in_turn
from inventory.models import Product
from shipping.promise import Promise

from . import holds as hold_rules
from . import sql
from .models import Order, OrderEvent, OrderHold, OrderLine, PaymentMethod
from .numbering import PREFIX, WIDTH
from .placement import (
    OrderRequest,
    PlacedOrder,
    backorder_event,
    backorderable_product_ids,
    checked_products,
    get_active_shipping_method,
    hold_rows,
    load_products,
    placement_rows,
    price_order,
    promise_order,
    short_lines,
    validate_request_shape,
)
from .pricing import contract_prices

# Orders per transaction. Larger chunks share more (a chunk's statements cost about
# the same whatever its size) but hold the SKUs' network rows longer and redo more
# when the credit decision needs all slots.
CHUNK_SIZE = 100


class RequestKeyTaken(Conflict):
    """Another request holds (or held, and committed) this order's request key: the
    caller answers with that request's stored result."""

    code = "duplicate_request"


class RequestKeys(Protocol):
    """The caller's request keys (the API's idempotency records), written in the
    chunk's transaction: claimed before any stock row is locked, the responses stored
    once the orders are written."""

    def claim(self, indexes: Sequence[int]) -> set[int]:
        """Write the keys of these orders (positions in the chunk); return the
        positions whose key another request holds, or held."""

    def record(self, placed: Mapping[int, PlacedOrder], released: Sequence[int]) -> None:
        """Store the placed orders' responses; remove the keys of the orders in
        ``released``, claimed but then refused (nothing of them may remain)."""


class _CreditContended(Exception):
    """The chunk's credit decisions need all of its company's credit slots."""


class _StockShort(Exception):
    """An order of the chunk is short of stock (refused or backordered): the chunk is
    placed again deciding its stock before it writes its orders."""


@dataclass
class _Priced:
    index: int
    request: OrderRequest
    order: Order
    lines: list[OrderLine]
    products: dict[str, Product]


def supported() -> bool:
    """Whether chunks can be placed set-based here: the order numbers and the locks
    they take are PostgreSQL's."""
    return connection.vendor == "postgresql"


def sets_apart(request: OrderRequest) -> bool:
    """Whether this order is placed on its own (``place_order``) rather than in a
    chunk: a pickup order allocates at its store, a store-credit order takes the
    buyer's balance, and neither is what batches are made of."""
    if request.payment_method == PaymentMethod.STORE_CREDIT:
        return True
    if request.pickup_location_code:
        return True
    try:
        return get_active_shipping_method(request.shipping_method_code).is_pickup
    except DomainError:
        return False  # refused in the chunk, as place_order would refuse it


def place_order_chunk(
    *,
    requests: Sequence[OrderRequest],
    actor: Actor,
    keys: RequestKeys | None = None,
) -> list[PlacedOrder | DomainError]:
    """Place ``requests`` (orders of one company's buyers; none ``sets_apart``) as if
    one after the other, in one transaction.

    Returns, per request in order, its ``PlacedOrder`` or the ``DomainError`` that
    refused it: what ``place_order`` would raise (nothing of that order is written), or
    ``RequestKeyTaken`` when ``keys`` found its key taken. Side effects per placed
    order: those of ``place_order`` (demand committed, holds, timeline, outbox events),
    and its response stored through ``keys``. A database error rolls back the whole
    chunk and is raised."""
    if not requests:
        return []
    companies = {request.customer.company_id for request in requests}
    if len(companies) != 1 or None in companies:
        raise ValueError("a chunk holds orders of one company")
    if any(sets_apart(request) for request in requests):
        raise ValueError("pickup and store-credit orders are placed one at a time")
    exact_credit = stock_first = False
    while True:  # at most three attempts: each exception below is raised once at most
        try:
            with transaction.atomic():
                placement = _ChunkPlacement(requests, actor, keys, stock_first=stock_first)
                return placement.place(exact_credit=exact_credit)
        except _CreditContended:
            exact_credit = True
        except _StockShort:
            stock_first = True


class _ChunkPlacement:
    """One attempt at a chunk, inside its transaction (module docstring, steps 1-5)."""

    def __init__(
        self,
        requests: Sequence[OrderRequest],
        actor: Actor,
        keys: RequestKeys | None,
        *,
        stock_first: bool,
    ) -> None:
        self.stock_first = stock_first
        self.requests = requests
        self.actor = actor
        self.keys = keys
        self.company: Company = requests[0].customer.company  # type: ignore[assignment]
        self.results: list[PlacedOrder | DomainError | None] = [None] * len(requests)
        self.now = timezone.now()
        self._addresses: dict[tuple[tuple[str, Any], ...], dict[str, Any]] = {}
        self._promises: dict[tuple[Any, ...], Promise] = {}

    def place(self, *, exact_credit: bool) -> list[PlacedOrder | DomainError]:
        company = self.company
        decides_credit = hold_rules.decides_credit(company)
        # 1. Credit slots: all of them first when exact, else one with the products.
        if exact_credit:
            hold_rules.lock_credit_decisions(company)
        skus = sorted(
            {
                sku
                for request in self.requests
                if isinstance(request.lines, list)
                for line in request.lines
                if isinstance(line.sku, str) and line.sku.strip()
                for sku in [line.sku.strip().upper()]
            }
        )
        one_slot = not exact_credit and bool(skus)
        known, slot = load_products(skus, company, credit_slot=one_slot)
        # 2. The company's standing (only credit terms read it) and contract prices.
        standing = hold_rules.company_credit_standing(company.pk) if decides_credit else None
        breaks = contract_prices(company, [p.pk for p in known.values()])
        priced = self._price(known, breaks)
        if decides_credit and not exact_credit and priced:
            assert standing is not None  # noqa: S101 - read above
            if slot is None:
                raise _CreditContended(company.pk)
            self._check_one_slot_is_enough(standing.exposure, priced)
        # 3. Request keys, before any stock row.
        if self.keys is not None and priced:
            taken = self.keys.claim([p.index for p in priced])
            for entry in priced:
                if entry.index in taken:
                    self.results[entry.index] = RequestKeyTaken(
                        "This Idempotency-Key was used by another request."
                    )
            priced = [p for p in priced if p.index not in taken]
        if self.stock_first:
            # 4. Stock: every order's demand in turn, on the rows locked once; then
            # 5. the rows of the orders placed.
            placed, released = self._commit_stock(priced)
            self._write(placed, self._holds(placed, standing), released)
        else:
            # Every order is expected to get its units: its rows are written first and
            # the SKUs' rows locked last (as single placement does), so that a hot SKU
            # stays locked for two statements and the commit, not for the writes. If
            # an order turns out short, the chunk is placed again stock first.
            self._write(priced, self._holds(priced, standing), [])
            placed, released = self._commit_stock(priced)
            if released or any(line.quantity_backordered for p in placed for line in p.lines):
                raise _StockShort
        results = [r for r in self.results if r is not None]
        if len(results) != len(self.requests):
            raise RuntimeError("an order of the chunk has no outcome")
        return results

    def _holds(
        self, placed: list[_Priced], standing: hold_rules.CreditStanding | None
    ) -> list[list[OrderHold]]:
        """Each order's holds, in turn: its exposure counts the chunk's orders before it
        (held or not, as committed orders count)."""
        exposure = standing.exposure if standing is not None else Decimal("0")
        holds: list[list[OrderHold]] = []
        for entry in placed:
            decisions = hold_rules.evaluate_holds(
                entry.order,
                prior_orders=1,
                recent_orders=0,
                company_exposure=exposure,
                overdue=standing,
            )
            holds.append(hold_rows(entry.order, decisions))
            exposure += hold_rules.counted_amount(entry.order)
        return holds

    def _clean_address(self, data: dict[str, Any]) -> dict[str, Any]:
        """``clean_postal_address``, once per distinct address of the chunk (a B2B
        batch ships to a few places many times); a refusal is raised each time."""
        key = tuple(sorted((k, v) for k, v in data.items() if isinstance(v, str | None)))
        if len(key) != len(data):
            return clean_postal_address(data)
        found = self._addresses.get(key)
        if found is None:
            found = self._addresses[key] = clean_postal_address(data)
        return found

    def _promise(self, order: Order) -> Promise:
        """The order's delivery promise, once per (method, destination) of the chunk:
        its orders are placed at the same moment."""
        key = (order.shipping_method_id, order.ship_latitude, order.ship_longitude)
        found = self._promises.get(key)
        if found is None:
            found = self._promises[key] = promise_order(order, now=self.now)
        return found

    def _price(self, known: dict[str, Product], breaks: Mapping[int, list[Any]]) -> list[_Priced]:
        """Validate and price every order as ``place_order`` does; the refused ones get
        their error as result."""
        priced = []

        def chunk_breaks(_company: Company | None, _ids: list[int]) -> Mapping[int, list[Any]]:
            return breaks

        for index, request in enumerate(self.requests):
            try:
                validate_request_shape(request)
                products = checked_products(request, known)
                order, lines = price_order(
                    request, products, breaks=chunk_breaks, clean_address=self._clean_address
                )
            except DomainError as exc:
                self.results[index] = exc
                continue
            order.placed_at = self.now
            order.promised_delivery_date = self._promise(order).delivery_date
            priced.append(_Priced(index, request, order, lines, products))
        return priced

    def _check_one_slot_is_enough(self, exposure: Decimal, priced: list[_Priced]) -> None:
        """One credit slot decides the chunk when the chunk, placed in full, is small
        against its company's headroom and leaves the headroom free: no order of it is
        then over the limit, whatever the orders in flight (``orders.holds``). Otherwise
        the chunk is placed again holding all the slots."""
        limit = self.company.credit_limit
        total = sum((hold_rules.counted_amount(p.order) for p in priced), Decimal("0"))
        others = max(1, int(settings.OMS_CREDIT_PARALLEL_ORDERS)) - 1
        if others == 0:
            return  # the only slot: nothing else is in flight
        headroom = limit * Decimal(str(settings.OMS_CREDIT_HEADROOM))
        if total * others > headroom or exposure + total + headroom > limit:
            raise _CreditContended(self.company.pk)

    def _commit_stock(self, priced: list[_Priced]) -> tuple[list[_Priced], list[int]]:
        """Commit each order's demand in turn; the short ones are refused (their keys
        released). Backorders are spread over the lines, last lines first."""
        demands: list[dict[int, int]] = []
        allowed: list[set[int]] = []
        for entry in priced:
            demand: dict[int, int] = {}
            for line in entry.lines:
                demand[line.product_id] = demand.get(line.product_id, 0) + line.quantity_ordered
            demands.append(demand)
            allowed.append(backorderable_product_ids(entry.order, entry.products))
        placed: list[_Priced] = []
        released: list[int] = []
        for entry, outcome in zip(priced, commit_demands_in_turn(demands, allowed), strict=True):
            if not isinstance(outcome, CommitResult):
                self.results[entry.index] = short_lines(entry.lines, outcome)
                released.append(entry.index)
                continue
            remaining = dict(outcome.backordered)
            for line in reversed(entry.lines):
                short = min(remaining.get(line.product_id, 0), line.quantity_ordered)
                if short:
                    line.quantity_backordered = short
                    remaining[line.product_id] -= short
            placed.append(entry)
        return placed, released

    def _write(
        self, placed: list[_Priced], holds: list[list[OrderHold]], released: list[int]
    ) -> None:
        orders = [entry.order for entry in placed]
        if orders:
            found = rows.fetch(sql.NEXT_ORDER_NUMBERS, [len(orders)])
            for order, (value,) in zip(orders, found, strict=True):
                order.number = f"{PREFIX}{value:0{WIDTH}d}"
            rows.insert(orders)
        all_lines: list[OrderLine] = []
        all_holds: list[OrderHold] = []
        events: list[OrderEvent] = []
        emitted: list[Any] = []
        outcomes: dict[int, PlacedOrder] = {}
        for entry, order_holds in zip(placed, holds, strict=True):
            order = entry.order
            for line in entry.lines:
                line.order = order  # its id, now that the order has one
            for hold in order_holds:
                hold.order = order
            order_events, order_emitted = placement_rows(
                order, entry.lines, order_holds, entry.request, self.actor
            )
            backordered = backorder_event(order, entry.lines, self.actor)
            all_lines += entry.lines
            all_holds += order_holds
            events += order_events
            if backordered is not None:
                events.append(backordered)
            emitted += order_emitted
            outcomes[entry.index] = PlacedOrder(order=order, lines=entry.lines, holds=order_holds)
        # One statement for all of them (they refer to the orders only).
        rows.insert_groups(all_lines, all_holds, events, emitted)
        outbox.emitted(*emitted)
        if self.keys is not None and (outcomes or released):
            self.keys.record(outcomes, released)
        for index, outcome in outcomes.items():
            self.results[index] = outcome
