"""Helpers shared by the API acceptance tests: request bodies, "nothing was written"
snapshots and the stock invariants every test may check."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import connection, connections
from django.test import override_settings
from kombu import pools as kombu_pools

from core.integrity import Violation
from core.models import OutboxEvent
from inventory import integrity as inventory_integrity
from inventory.models import NetworkStock, StockBucket, StockLevel, StockMovement
from oms.celery import app
from orders import integrity as orders_integrity
from orders.models import (
    IdempotencyKey,
    Notification,
    Order,
    OrderEvent,
    OrderHold,
    OrderLine,
)
from orders.pricing import money

ORDERS_URL = "/api/v1/orders/"
PROBLEM = "application/problem+json"


def order_body(lines: list[tuple[str, int]], address: dict[str, Any], **extra: Any) -> dict:
    """A valid POST /orders/ body for ``(sku, quantity)`` lines."""
    return {
        "po_number": "PO-1",
        "shipping_address": address,
        "shipping_method": "STANDARD",
        "lines": [{"sku": sku, "quantity": quantity} for sku, quantity in lines],
        **extra,
    }


def post_order(client: Any, body: Any, key: str | None, **kwargs: Any) -> Any:
    headers = {} if key is None else {"HTTP_IDEMPOTENCY_KEY": key}
    return client.post(ORDERS_URL, body, format="json", **headers, **kwargs)


def assert_problem(response: Any, status: int, code: str) -> dict:
    """``response`` is an RFC 9457 problem with this status and stable code."""
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert body["status"] == status
    assert body["code"] == code
    assert body["type"] == f"/problems/{code}"
    return body


@dataclass(frozen=True)
class Written:
    """Everything an order command may write, to compare before and after a refusal."""

    orders: tuple
    lines: tuple
    events: int
    holds: int
    outbox: int
    idempotency_keys: int
    notifications: int
    networks: tuple
    levels: tuple
    movements: int


def written() -> Written:
    return Written(
        orders=tuple(
            Order.objects.order_by("pk").values_list(
                "pk", "status", "grand_total", "shipping_total", "tax_total", "ship_postal_code"
            )
        ),
        lines=tuple(
            OrderLine.objects.order_by("pk").values_list(
                "pk",
                "quantity_ordered",
                "quantity_cancelled",
                "quantity_allocated",
                "quantity_backordered",
                "unit_price",
            )
        ),
        events=OrderEvent.objects.count(),
        holds=OrderHold.objects.count(),
        outbox=OutboxEvent.objects.count(),
        idempotency_keys=IdempotencyKey.objects.count(),
        notifications=Notification.objects.count(),
        networks=tuple(
            NetworkStock.objects.order_by("pk").values_list("pk", "available", "committed")
        ),
        levels=tuple(StockLevel.objects.order_by("pk").values_list("pk", *StockBucket.values)),
        movements=StockMovement.objects.count(),
    )


def open_demand_by_product() -> dict[int, int]:
    """What ``NetworkStock.committed`` must be (without reservations): per product, the
    units of open orders' lines neither cancelled, allocated, shipped nor backordered."""
    return orders_integrity.open_demand_by_product()


def assert_no_violations(violations: list[Violation]) -> None:
    assert violations == [], "\n".join(str(violation) for violation in violations)


def assert_commitments_match_orders() -> None:
    """Each SKU's network commitment equals its open orders' unallocated units (plus
    what drafts reserve): the check ``check_integrity`` runs."""
    assert_no_violations(orders_integrity.commitment_mismatches())


def assert_ledger_reconciles() -> None:
    """Each bucket of each stock row equals the sum of its ledger rows."""
    assert_no_violations(inventory_integrity.ledger_mismatches())


def assert_totals_add_up(order: Order) -> None:
    lines = list(order.lines.all())
    assert order.subtotal == sum(
        (money(li.unit_price * (li.quantity_ordered - li.quantity_cancelled)) for li in lines),
        start=Decimal("0.00"),
    )
    assert order.grand_total == (
        order.subtotal + order.shipping_total + order.tax_total - order.discount_total
    )


@contextmanager
def celery_publishing_to(
    broker_url: str, *, queue: str | None = None, override_django: bool = True
) -> Iterator[None]:
    """Make this process's Celery producer publish to ``broker_url`` (on ``queue``)
    instead of running tasks inline, as in production; restore everything afterwards.
    ``override_django=False``: the caller turns ``CELERY_TASK_ALWAYS_EAGER`` off itself
    (a fixture, through pytest-django's ``settings``, so that the test's own changes to
    settings are undone in the right order).

    The Celery app copies the Django settings once, and caches its broker connection
    and producer pools, so overriding ``CELERY_*`` settings alone changes nothing: the
    outbox reads ``settings.CELERY_TASK_ALWAYS_EAGER``, Celery reads its own ``conf``.
    """

    conf = app.conf
    saved = {name: conf[name] for name in ("broker_url", "task_default_queue", "task_always_eager")}

    def drop_pools() -> None:
        # The pools live in kombu's process-wide registry, keyed by broker URL: one
        # closed but left there would be handed out the next time the URL is used.
        kombu_pools.reset()
        # Celery's own caches of them, which it offers no public way to drop.
        app._pool = None
        app.amqp._producer_pool = None

    drop_pools()
    conf.broker_url = broker_url
    conf.task_always_eager = False
    router = app.amqp.router
    saved_routes = router.routes
    if queue is not None:
        # Every task on this one queue, whatever its kind's queue (CELERY_TASK_ROUTES).
        conf.task_default_queue = queue
        router.routes = []
    # CELERY_BROKER_URL in the environment would win over conf.
    assert conf.broker_write_url == broker_url
    try:
        if override_django:
            with override_settings(CELERY_TASK_ALWAYS_EAGER=False):
                yield
        else:
            yield
    finally:
        drop_pools()
        conf.update(saved)
        router.routes = saved_routes


def connection_slots(wanted: int) -> int:
    """How many threads may hold a database connection at once.

    The PostgreSQL server caps connections (100 by default) for everyone using it, so
    a test cannot open one per buyer; it takes at most half of what is free now.
    """
    with connection.cursor() as cursor:
        cursor.execute("SHOW max_connections")
        limit = int(cursor.fetchone()[0])
        cursor.execute("SELECT count(*) FROM pg_stat_activity")
        in_use = int(cursor.fetchone()[0])
    return max(4, min(wanted, (limit - in_use) // 2))


def run_together(calls: list[Callable[[], Any]], *, timeout: float = 60.0) -> list[Any]:
    """Run each call in its own thread, all released at once by a barrier.

    Each thread uses its own database connection (Django's are per thread) and closes
    it when done; at most ``connection_slots`` threads hold one at the same time. The
    result of a call that raised is the exception. Fails if any thread is still
    running after ``timeout`` seconds (a deadlock or a lost wake-up).
    """
    slots = threading.BoundedSemaphore(connection_slots(len(calls)))
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(index: int, call: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=timeout)
            with slots:
                try:
                    results[index] = call()
                finally:
                    connections.close_all()
        except BaseException as exc:
            results[index] = exc

    threads = [
        threading.Thread(target=run, args=(index, call), daemon=True)
        for index, call in enumerate(calls)
    ]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    stuck = sum(thread.is_alive() for thread in threads)
    assert stuck == 0, f"{stuck} of {len(threads)} threads still running after {timeout} s"
    return results
