"""Threaded races on the stock services, against real PostgreSQL transactions.

Each worker runs in its own thread with its own database connection (closed when it
ends). A barrier starts them together; every join is bounded, and a thread still alive
afterwards (a deadlock or a lost wake-up) fails the test.
"""

import datetime as dt
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, transaction
from django.utils import timezone

from core.actors import Actor
from core.errors import Conflict
from inventory import services
from inventory.commitments import reserve_network
from inventory.errors import InsufficientStock
from inventory.models import (
    Location,
    MovementReason,
    NetworkReservation,
    NetworkStock,
    ReservationStatus,
    StockLevel,
    StockMovement,
)
from tests.factories import LocationFactory, ProductFactory
from tests.inventory.ledger import assert_stock_consistent

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.concurrency]

JOIN_TIMEOUT = 60.0


def run_together(workers: list[Callable[[], Any]]) -> list[tuple[str, Any]]:
    """Start every worker at once; return ("ok", result) or ("error", exception) each."""
    barrier = threading.Barrier(len(workers))
    outcomes: list[tuple[str, Any]] = [("not run", None)] * len(workers)

    def run(index: int, work: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=JOIN_TIMEOUT)
            outcomes[index] = ("ok", work())
        except Exception as exc:
            outcomes[index] = ("error", exc)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=run, args=(i, work), daemon=True) for i, work in enumerate(workers)
    ]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + JOIN_TIMEOUT
    for thread in threads:
        thread.join(timeout=max(deadline - time.monotonic(), 0))
    assert not any(thread.is_alive() for thread in threads), "a worker is stuck"
    return outcomes


def start_thread(work: Callable[[], Any]) -> tuple[threading.Thread, list[Any]]:
    """Run ``work`` in a thread of its own; the list receives its result or exception."""
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append(work())
        except Exception as exc:
            outcome.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


def wait_until_a_backend_waits_on_a_lock() -> None:
    """Block until another session of the test database is waiting for a row lock."""
    deadline = time.monotonic() + JOIN_TIMEOUT
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0]:
                return
        time.sleep(0.02)
    pytest.fail("no session ever waited on a lock")


def errors_of(outcomes: list[tuple[str, Any]]) -> list[BaseException]:
    return [value for kind, value in outcomes if kind == "error"]


def test_concurrent_adjustments_and_receipts_on_one_row_add_up_exactly():
    # given one stock row with 100 on hand and 50 expected
    actor = Actor.system("race")
    location, product = LocationFactory(), ProductFactory()
    services.receive_stock(location=location, product=product, quantity=100, actor=actor)
    services.expect_stock(location=location, product=product, quantity=50, actor=actor)
    threads, rounds = 20, 3

    def work() -> None:
        for _ in range(rounds):
            services.adjust_stock(
                location=location, product=product, delta=1, reason="found", actor=actor
            )
            services.receive_stock(location=location, product=product, quantity=2, actor=actor)
            services.adjust_stock(
                location=location, product=product, delta=-1, reason="lost", actor=actor
            )

    # when 20 threads each adjust +1, receive 2 and adjust -1, three times over
    outcomes = run_together([work] * threads)

    # then no write was lost: +2 per round on hand, and the receipts settled incoming
    assert errors_of(outcomes) == []
    level = StockLevel.objects.get(location=location, product=product)
    assert level.on_hand == 100 + threads * rounds * 2
    assert level.incoming == 0
    assert NetworkStock.objects.get(product=product).available == level.on_hand
    receipts = StockMovement.objects.filter(reason=MovementReason.RECEIPT, bucket="on_hand")
    adjustments = StockMovement.objects.filter(reason=MovementReason.ADJUSTMENT)
    assert receipts.count() == 1 + threads * rounds
    assert adjustments.count() == threads * rounds * 2
    assert_stock_consistent([product.pk])


def test_many_buyers_of_the_last_units_exactly_that_many_win():
    # given 12 on hand of which 2 are safety stock: 10 can be promised
    actor = Actor.system("race")
    location, product = LocationFactory(), ProductFactory()
    services.receive_stock(location=location, product=product, quantity=12, actor=actor)
    services.set_safety_stock(location=location, product=product, quantity=2, actor=actor)
    expires_at = timezone.now() + dt.timedelta(hours=1)
    buyers = 30

    def reserve(number: int) -> list[NetworkReservation]:
        with transaction.atomic():
            return reserve_network(
                {product.pk: 1}, reference=f"QUOTE-{number}", expires_at=expires_at, actor=actor
            )

    # when 30 buyers reserve one unit each at the same moment
    outcomes = run_together([lambda n=n: reserve(n) for n in range(buyers)])

    # then exactly 10 win, the others are told the stock is insufficient
    kinds = Counter(kind for kind, _ in outcomes)
    assert kinds == {"ok": 10, "error": buyers - 10}
    assert all(isinstance(exc, InsufficientStock) for exc in errors_of(outcomes))
    network = NetworkStock.objects.get(product=product)
    assert (network.available, network.committed) == (10, 10)
    active = NetworkReservation.objects.filter(product=product, status=ReservationStatus.ACTIVE)
    assert active.count() == 10
    assert_stock_consistent([product.pk])


def test_opposite_transfers_of_one_sku_never_deadlock_and_conserve_units():
    # given two locations with 40 units each
    actor = Actor.system("race")
    west, east = LocationFactory(), LocationFactory()
    product = ProductFactory()
    for location in (west, east):
        services.receive_stock(location=location, product=product, quantity=40, actor=actor)

    def shuttle(source: Location, destination: Location) -> None:
        for _ in range(4):
            services.transfer_stock(
                source=source,
                destination=destination,
                product=product,
                quantity=3,
                reason="rebalance",
                actor=actor,
            )

    # when 10 threads move stock west to east while 10 move it east to west
    outcomes = run_together([lambda: shuttle(west, east)] * 10 + [lambda: shuttle(east, west)] * 10)

    # then all 80 transfers went through and no unit was created or lost
    assert errors_of(outcomes) == []
    on_hand = dict(StockLevel.objects.values_list("location_id", "on_hand"))
    assert on_hand == {west.pk: 40, east.pk: 40}
    assert StockMovement.objects.filter(reason=MovementReason.TRANSFER_OUT).count() == 80
    assert StockMovement.objects.filter(reason=MovementReason.TRANSFER_IN).count() == 80
    assert NetworkStock.objects.get(product=product).available == 80
    assert_stock_consistent([product.pk])


def test_network_stays_exact_while_a_location_opens_and_closes_under_traffic():
    # given two locations stocked with two SKUs
    actor = Actor.system("race")
    store, depot = LocationFactory(), LocationFactory()
    products = [ProductFactory(), ProductFactory()]
    for location in (store, depot):
        for product in products:
            services.receive_stock(location=location, product=product, quantity=30, actor=actor)

    def toggle() -> None:
        for active in (False, True, False, True, False):
            services.set_location_active(location=store, active=active, actor=actor)

    def traffic(product_index: int) -> None:
        product = products[product_index]
        for _ in range(3):
            services.receive_stock(location=store, product=product, quantity=1, actor=actor)
            services.transfer_stock(
                source=depot,
                destination=store,
                product=product,
                quantity=1,
                reason="replenish",
                actor=actor,
            )

    # when one thread opens and closes the store while others move its stock
    outcomes = run_together([toggle] + [lambda i=i % 2: traffic(i) for i in range(8)])

    # then the network counts exactly the stock of the locations that ended up open
    assert errors_of(outcomes) == []
    assert Location.objects.get(pk=store.pk).is_active is False
    for product in products:
        depot_level = StockLevel.objects.get(location=depot, product=product)
        assert NetworkStock.objects.get(product=product).available == depot_level.on_hand
    assert_stock_consistent([p.pk for p in products])


def test_a_receipt_waiting_on_a_closing_location_sees_it_closed():
    # given an open location, and a SKU never stocked there
    actor = Actor.system("race")
    location, product = LocationFactory(), ProductFactory()
    closing = threading.Event()
    may_commit = threading.Event()

    def close_location_slowly() -> None:
        with transaction.atomic():
            services.set_location_active(location=location, active=False, actor=actor)
            closing.set()
            assert may_commit.wait(JOIN_TIMEOUT)

    # when the location is closed in a transaction that has not committed yet
    closer, closed = start_thread(close_location_slowly)
    assert closing.wait(JOIN_TIMEOUT)
    # ... and a receipt arrives, holding an instance loaded while it was still open
    receiver, received = start_thread(
        lambda: services.receive_stock(location=location, product=product, quantity=7, actor=actor)
    )
    wait_until_a_backend_waits_on_a_lock()
    may_commit.set()
    closer.join(JOIN_TIMEOUT)
    receiver.join(JOIN_TIMEOUT)

    # then the receipt waited for the close and left the network out of it
    assert not closer.is_alive()
    assert not receiver.is_alive()
    assert closed == [None]
    assert isinstance(received[0], StockLevel)
    assert StockLevel.objects.get(location=location, product=product).on_hand == 7
    assert NetworkStock.objects.get(product=product).available == 0
    assert_stock_consistent([product.pk])


def test_closing_a_location_while_a_new_sku_is_first_stocked_there_is_refused_cleanly():
    # given an open location stocking one SKU, and a second SKU about to arrive there
    actor = Actor.system("race")
    location = LocationFactory()
    stocked, newcomer = ProductFactory(), ProductFactory()
    services.receive_stock(location=location, product=stocked, quantity=5, actor=actor)
    receiving = threading.Event()
    may_commit = threading.Event()

    def first_receipt_slowly() -> None:
        with transaction.atomic():
            services.receive_stock(location=location, product=newcomer, quantity=7, actor=actor)
            receiving.set()
            assert may_commit.wait(JOIN_TIMEOUT)

    # when the first receipt of the new SKU is in flight while the location is closed
    receiver, received = start_thread(first_receipt_slowly)
    assert receiving.wait(JOIN_TIMEOUT)
    closer, closed = start_thread(
        lambda: services.set_location_active(location=location, active=False, actor=actor)
    )
    wait_until_a_backend_waits_on_a_lock()
    may_commit.set()
    receiver.join(JOIN_TIMEOUT)
    closer.join(JOIN_TIMEOUT)

    # then the close is refused as a conflict (not a crash) and nothing of it was written
    assert not closer.is_alive()
    assert not receiver.is_alive()
    assert received == [None]
    assert isinstance(closed[0], Conflict)
    assert Location.objects.get(pk=location.pk).is_active is True
    assert NetworkStock.objects.get(product=stocked).available == 5
    assert NetworkStock.objects.get(product=newcomer).available == 7
    assert_stock_consistent([stocked.pk, newcomer.pk])

    # and a retry closes it, taking both SKUs out of the network
    services.set_location_active(location=location, active=False, actor=actor)
    assert NetworkStock.objects.get(product=stocked).available == 0
    assert NetworkStock.objects.get(product=newcomer).available == 0
