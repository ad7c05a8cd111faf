"""A worker killed (SIGKILL) in the middle of routing: its transaction dies with it, the
broker hands the unacknowledged message to the next worker, and every order is routed
exactly once, even when the same events are published again: one routing decision
that allocated per order, its units allocated once, ``check_integrity`` clean.

The worker is caught mid-routing by a lock the test holds on the SKU's network row,
which routing takes after it has locked the order and planned. (The e-mail sent once
under the same fault: ``tests/oms/test_notification_worker_killed.py``.)
"""

import signal
import uuid
from collections import Counter

import psycopg
import pytest
import redis
from celery import Celery
from django.core.management import call_command
from django.db.models import Sum

from core.models import OutboxEvent
from fulfillment.models import FulfillmentOrder, RoutingDecision
from inventory.models import StockLevel
from orders.models import Order, OrderStatus
from tests.api.support import order_body, post_order
from tests.oms.test_notification_worker_killed import REDIS_URL, celery_worker

from .processes import database_url, queue_drained, wait_until
from .support import allocations_per_order

ORDERS = 4
WAIT_SECONDS = 60

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def waiting_for_a_lock(probe: psycopg.Connection) -> bool:
    """Whether a session of the test database waits for a row lock."""
    row = probe.execute(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND wait_event_type = 'Lock'"
    ).fetchone()
    return bool(row and row[0])


def test_an_order_whose_worker_was_killed_mid_routing_is_routed_once(
    api, stocked, address, standard, tmp_path
):
    broker = redis.Redis.from_url(REDIS_URL, socket_timeout=2)
    broker.ping()
    queue = f"fault-route-{uuid.uuid4().hex[:12]}"
    log_path, mail_dir = tmp_path / "worker.log", tmp_path / "mail"
    mail_dir.mkdir()
    product = stocked[0]
    for index in range(ORDERS):
        response = post_order(api, order_body([(product.sku, index + 1)], address), f"k-{index}")
        assert response.status_code == 201, response.content
    orders = list(Order.objects.order_by("pk"))
    events = list(OutboxEvent.objects.filter(topic="order.placed").values_list("pk", flat=True))
    assert len(events) == ORDERS
    producer = Celery(broker=REDIS_URL)
    route = {"args": [events], "queue": queue}
    worker_env = {"EMAIL_FILE_PATH": str(mail_dir), "OMS_AUTO_ROUTE": "true"}

    try:
        with (
            psycopg.connect(database_url(), autocommit=False) as holder,
            psycopg.connect(database_url(), autocommit=True) as probe,
        ):
            # Given the SKU's network row locked, a worker routing the orders' events
            # (one message, as the relay sends them) stops inside its transaction,
            holder.execute(
                "SELECT 1 FROM inventory_networkstock WHERE product_id = %s FOR UPDATE",
                [product.pk],
            )
            with celery_worker(queue, log_path, **worker_env) as doomed:
                producer.send_task("fulfillment.route_order_event", **route)
                wait_until(
                    lambda: waiting_for_a_lock(probe),
                    "the worker to be mid-routing",
                    seconds=WAIT_SECONDS,
                    log=log_path,
                )
                # when it is killed there,
                doomed.send_signal(signal.SIGKILL)
                doomed.wait(timeout=10)
            holder.rollback()
        # its transaction is gone with it: nothing was routed,
        assert not RoutingDecision.objects.exists()
        assert not FulfillmentOrder.objects.exists()
        assert StockLevel.objects.get(product=product).allocated == 0

        # and the same events are published once more (a relay retrying a batch).
        producer.send_task("fulfillment.route_order_event", **route)

        # When another worker comes, the broker hands it the unacknowledged message
        with celery_worker(queue, log_path, **worker_env):
            wait_until(
                lambda: RoutingDecision.objects.filter(outcome="routed").count() == ORDERS,
                "the routing of every order",
                seconds=WAIT_SECONDS,
                log=log_path,
            )
            wait_until(
                lambda: queue_drained(broker, queue),
                "the queue to drain (both messages handled)",
                seconds=WAIT_SECONDS,
                log=log_path,
            )
    finally:
        broker.delete(queue)

    # then each order was routed exactly once: one decision, its units allocated once,
    decisions = Counter(RoutingDecision.objects.values_list("order_id", flat=True))
    assert decisions == Counter({order.pk: 1 for order in orders})
    assert set(RoutingDecision.objects.values_list("outcome", flat=True)) == {"routed"}
    units = allocations_per_order([order.number for order in orders])
    assert units == {order.number: index + 1 for index, order in enumerate(orders)}
    allocated = StockLevel.objects.filter(product=product).aggregate(total=Sum("allocated"))
    assert allocated["total"] == sum(range(1, ORDERS + 1))
    assert set(Order.objects.values_list("status", flat=True)) == {OrderStatus.PROCESSING}
    # and every invariant holds.
    call_command("check_integrity")
