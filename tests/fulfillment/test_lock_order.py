"""Every writer takes its locks in the one documented order, so concurrent writers on
the same SKUs wait for each other but never deadlock.

Threads, each with its own PostgreSQL connection and released together by a barrier,
place orders (through the service and through the API, with idempotency keys shared
between threads), route them (backorder promotion included), cancel them, ship and
reject their fulfillment orders and receive stock, all on a few SKUs that every order
lists in a different order. Afterwards: no deadlock was detected by PostgreSQL, no
operation failed other than by a business refusal, every counter equals its ledger,
and every unit is accounted for exactly once (no lost update).
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.db.models import Sum

from core import refcache
from core.actors import Actor
from core.errors import DomainError
from customers.api_keys import create_api_key
from fulfillment import operations as ops
from fulfillment.changes import cancel_order
from fulfillment.models import (
    FulfillmentOrder,
    FulfillmentOrderLine,
    FulfillmentStatus,
    Shipment,
    ShipmentLine,
)
from fulfillment.routing import orders_awaiting_routing, route_order
from inventory import services as stock
from inventory.models import StockLevel
from orders.models import Order, OrderLine, OrderStatus
from orders.placement import LineRequest, OrderRequest, place_order
from tests.api.conftest import api_client
from tests.api.support import assert_commitments_match_orders, post_order, run_together
from tests.factories import (
    CarrierFactory,
    CompanyFactory,
    CustomerFactory,
    LocationFactory,
    ProductFactory,
    ShippingMethodFactory,
)
from tests.inventory.ledger import assert_stock_consistent

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.concurrency]

SYSTEM = Actor.system("lock order test")
WORKERS = 8
OPERATIONS_PER_WORKER = 40  # a few hundred operations in all
ADDRESS = {
    "name": "Pat Buyer",
    "line1": "350 Fifth Avenue",
    "city": "New York",
    "region": "NY",
    "postal_code": "10118",
    "country": "US",
}
OPEN_FO = (FulfillmentStatus.OPEN, FulfillmentStatus.IN_PROGRESS)


def deadlocks_so_far() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()")
        return int(cursor.fetchone()[0])


@pytest.fixture
def world(db):
    """Four SKUs (the last two may be backordered), two warehouses with a little stock,
    a company buyer far from its credit limit, and an API key for it."""
    refcache.clear()
    CarrierFactory(code="SIM")
    ShippingMethodFactory()
    products = [ProductFactory(list_price=Decimal("10.00")) for _ in range(4)]
    for product in products[2:]:
        product.allow_backorder = True
        product.save(update_fields=["allow_backorder"])
    locations = [
        LocationFactory(code="EAST", postal_code="07102", city="Newark", region="NJ"),
        LocationFactory(code="WEST"),
    ]
    for location in locations:
        for product in products:
            stock.receive_stock(location=location, product=product, quantity=12, actor=SYSTEM)
    company = CompanyFactory(credit_limit=Decimal("100000000"))
    buyer = CustomerFactory(company=company, company_role="buyer")
    raw_key = create_api_key(company=company, name="erp").raw_key
    yield {"products": products, "locations": locations, "buyer": buyer, "raw_key": raw_key}
    refcache.clear()


def _lines(rng: random.Random, products: list[Any], *, descending: bool) -> list[tuple[Any, int]]:
    """Two to four SKUs, listed highest id first or lowest id first."""
    chosen = rng.sample(products, rng.randint(2, len(products)))
    chosen.sort(key=lambda p: p.pk, reverse=descending)
    return [(product, rng.randint(1, 3)) for product in chosen]


def _open_fulfillment_order(rng: random.Random) -> FulfillmentOrder | None:
    ids = list(
        FulfillmentOrder.objects.filter(status__in=OPEN_FO, is_pickup=False).values_list(
            "pk", flat=True
        )[:50]
    )
    return FulfillmentOrder.objects.get(pk=rng.choice(ids)) if ids else None


def _open_order_id(rng: random.Random) -> int | None:
    ids = list(
        Order.objects.filter(status__in=[OrderStatus.PLACED, OrderStatus.PROCESSING])
        .order_by("-pk")
        .values_list("pk", flat=True)[:50]
    )
    return rng.choice(ids) if ids else None


class Worker:
    """One thread's share of the work: a seeded random mix of every writer."""

    def __init__(self, index: int, world: dict[str, Any]) -> None:
        self.index = index
        self.world = world
        self.rng = random.Random(index)
        self.done: Counter[str] = Counter()
        self.refused: Counter[str] = Counter()
        self.failures: list[str] = []
        self.api_keys: set[str] = set()

    def __call__(self) -> Worker:
        client = api_client(self.world["raw_key"])
        kinds = ["place", "api", "route", "route", "ship", "reject", "cancel", "receive"]
        for step in range(OPERATIONS_PER_WORKER):
            kind = self.rng.choice(kinds)
            try:
                outcome = getattr(self, kind)(step, client)
            except DomainError as exc:
                self.refused[f"{kind}: {exc.code}"] += 1
            except Exception as exc:
                self.failures.append(f"{kind}: {type(exc).__name__}: {exc}")
            else:
                if outcome:
                    self.done[kind] += 1
        return self

    def place(self, step: int, client: Any) -> bool:
        lines = _lines(self.rng, self.world["products"], descending=self.index % 2 == 0)
        place_order(
            request=OrderRequest(
                customer=self.world["buyer"],
                channel="agent",
                shipping_method_code="STANDARD",
                shipping_address=ADDRESS,
                lines=[LineRequest(sku=p.sku, quantity=q) for p, q in lines],
            ),
            actor=SYSTEM,
        )
        return True

    def api(self, step: int, client: Any) -> bool:
        """Neighbouring threads send different bodies under the same key: one wins,
        the other is told the key is taken (a 4xx), whichever path each one takes."""
        lines = _lines(self.rng, self.world["products"], descending=self.index % 2 == 0)
        key = f"key-{self.index // 2}-{step}"
        body = {
            "shipping_address": ADDRESS,
            "shipping_method": "STANDARD",
            "lines": [{"sku": p.sku, "quantity": q} for p, q in lines],
        }
        response = post_order(client, body, key)
        if response.status_code >= 500:
            self.failures.append(f"api: {response.status_code} {response.content[:200]!r}")
            return False
        if response.status_code == 201:
            self.api_keys.add(key)
            return True
        self.refused[f"api: {response.status_code}"] += 1
        return False

    def route(self, step: int, client: Any) -> bool:
        waiting = orders_awaiting_routing(limit=50)
        if not waiting:
            return False
        return route_order(order_id=self.rng.choice(waiting)) is not None

    def ship(self, step: int, client: Any) -> bool:
        fo = _open_fulfillment_order(self.rng)
        if fo is None:
            return False
        ops.ship_fulfillment_order(fo_id=fo.pk, actor=SYSTEM)
        return True

    def reject(self, step: int, client: Any) -> bool:
        fo = _open_fulfillment_order(self.rng)
        if fo is None:
            return False
        reason = self.rng.choice(["out_of_stock", "damaged", "cannot_fulfil"])
        ops.reject_fulfillment_lines(fo_id=fo.pk, reason=reason, actor=SYSTEM)
        return True

    def cancel(self, step: int, client: Any) -> bool:
        order_id = _open_order_id(self.rng)
        if order_id is None:
            return False
        if self.rng.random() < 0.5:
            cancel_order(order_id=order_id, reason="customer asked", actor=SYSTEM)
        else:
            line = OrderLine.objects.filter(order_id=order_id).order_by("-line_number").first()
            assert line is not None
            cancel_order(
                order_id=order_id, reason="one less", actor=SYSTEM, lines={line.line_number: 1}
            )
        return True

    def receive(self, step: int, client: Any) -> bool:
        stock.receive_stock(
            location=self.rng.choice(self.world["locations"]),
            product=self.rng.choice(self.world["products"]),
            quantity=self.rng.randint(2, 6),
            actor=SYSTEM,
        )
        return True


def assert_allocations_match_fulfillment_orders() -> None:
    """Each stock row's allocated units are exactly the open units of the fulfillment
    orders at that location, and each order line's allocated units are its open
    fulfillment-order units: no allocation was lost or counted twice."""
    open_units: dict[tuple[int, int], int] = defaultdict(int)
    by_line: dict[int, int] = defaultdict(int)
    live = FulfillmentOrderLine.objects.select_related("fulfillment_order", "order_line").exclude(
        fulfillment_order__status__in=[FulfillmentStatus.CLOSED, FulfillmentStatus.CANCELLED]
    )
    for fo_line in live:
        units = fo_line.quantity_open
        key = (fo_line.fulfillment_order.location_id, fo_line.order_line.product_id)
        open_units[key] += units
        by_line[fo_line.order_line_id] += units
    for level in StockLevel.objects.all():
        assert level.allocated == open_units[(level.location_id, level.product_id)], (
            f"stock row {level.pk} allocates {level.allocated}, its open fulfillment "
            f"orders hold {open_units[(level.location_id, level.product_id)]}"
        )
    for line in OrderLine.objects.all():
        assert line.quantity_allocated == by_line[line.pk], (
            f"order line {line.pk} allocates {line.quantity_allocated}, its fulfillment "
            f"orders hold {by_line[line.pk]}"
        )


def test_concurrent_writers_on_shared_skus_never_deadlock_or_lose_an_update(world):
    # Given some orders already placed and routed, so that every writer has work
    # from the start, and backorders waiting on the last SKUs
    seed = Worker(99, world)
    for step in range(12):
        seed.place(step, None)
    for order_id in orders_awaiting_routing():
        route_order(order_id=order_id)
    deadlocks_before = deadlocks_so_far()

    # When eight threads run a random mix of every writer at once
    outcomes = run_together([Worker(index, world) for index in range(WORKERS)], timeout=240.0)

    # Then nothing failed but business refusals, and PostgreSQL saw no deadlock
    crashed = [outcome for outcome in outcomes if isinstance(outcome, BaseException)]
    assert not crashed, crashed
    workers: list[Worker] = list(outcomes)
    failures = [failure for worker in workers for failure in worker.failures]
    assert failures == [], "\n".join(failures[:20])
    assert not any("deadlock" in failure.lower() for failure in failures)
    assert deadlocks_so_far() == deadlocks_before
    done: Counter[str] = sum((worker.done for worker in workers), Counter())
    assert sum(done.values()) >= WORKERS * OPERATIONS_PER_WORKER // 3, done
    for kind in ("place", "api", "route", "ship", "reject", "cancel", "receive"):
        assert done[kind], f"no {kind} succeeded: {done}"

    # And every update is there: one order per successful placement (and per API key
    # that won), one shipment per shipping call, and every counter matches its ledger,
    # the open orders' demand and the open fulfillment orders
    api_keys = set().union(*(worker.api_keys for worker in workers))
    assert Order.objects.count() == 12 + done["place"] + len(api_keys)
    assert Shipment.objects.count() == done["ship"]
    assert_stock_consistent()
    assert_commitments_match_orders()
    assert_allocations_match_fulfillment_orders()
    shipped = OrderLine.objects.aggregate(units=Sum("quantity_shipped"))["units"]
    assert shipped == ShipmentLine.objects.aggregate(units=Sum("quantity"))["units"]
