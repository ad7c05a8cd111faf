"""The credit limit holds under concurrency: orders of one company decided at the same
time cannot pass its limit together (``orders.holds``, credit slots)."""

from __future__ import annotations

import threading
import time
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test import override_settings

from core import refcache, rows
from core.actors import Actor
from fulfillment.changes import change_line_quantity
from inventory import services as stock
from orders import holds as hold_rules
from orders.models import CompanyExposure, HoldKind, Order, OrderHold
from orders.placement import LineRequest, OrderRequest, place_order
from tests.api.support import run_together
from tests.factories import (
    CompanyFactory,
    CustomerFactory,
    LocationFactory,
    ProductFactory,
    ShippingMethodFactory,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.concurrency]

ACTOR = Actor.system("credit test")
ADDRESS = {
    "name": "Pat Buyer",
    "line1": "350 Fifth Avenue",
    "city": "New York",
    "region": "NY",
    "postal_code": "10118",
    "country": "US",
}
ORDERS = 20
# 9 units at 10.00 and 5.00 shipping (no sales tax here): 95.00 an order.
QUANTITY = 9
ORDER_TOTAL = Decimal("95.00")


@pytest.fixture
def catalogue(db):
    refcache.clear()
    ShippingMethodFactory()
    product = ProductFactory(list_price=Decimal("10.00"))
    stock.receive_stock(location=LocationFactory(), product=product, quantity=10_000, actor=ACTOR)
    yield product
    refcache.clear()


def buyer_of(credit_limit: str):
    company = CompanyFactory(credit_limit=Decimal(credit_limit))
    return CustomerFactory(company=company, company_role="buyer")


def place(buyer, product, quantity=QUANTITY):
    return place_order(
        request=OrderRequest(
            customer=buyer,
            channel="b2b_api",
            shipping_method_code="STANDARD",
            shipping_address=ADDRESS,
            lines=[LineRequest(sku=product.sku, quantity=quantity)],
        ),
        actor=ACTOR,
    ).order


def credit_held(company) -> set[int]:
    return set(
        OrderHold.objects.filter(
            order__company=company, kind=HoldKind.CREDIT_LIMIT, released_at__isnull=True
        ).values_list("order_id", flat=True)
    )


def kept_exposure(company) -> Decimal:
    return sum(
        CompanyExposure.objects.filter(company=company).values_list("open_orders_total", flat=True),
        Decimal("0"),
    )


def test_concurrent_orders_past_the_limit_are_held_exactly(catalogue):
    # Given a company with room for exactly ten of twenty identical orders
    buyer = buyer_of("1000.00")
    company = buyer.company

    # When the twenty are placed at once
    results = run_together([lambda: place(buyer, catalogue)] * ORDERS)

    # Then every one was placed, the first ten within the limit and the other ten on
    # credit hold: the un-held ones total no more than the limit, and each held one
    # would have taken them past it
    assert [r for r in results if isinstance(r, BaseException)] == []
    orders = list(Order.objects.filter(company=company))
    assert len(orders) == ORDERS
    assert {order.grand_total for order in orders} == {ORDER_TOTAL}
    held = credit_held(company)
    unheld_total = sum((o.grand_total for o in orders if o.pk not in held), Decimal("0"))
    assert unheld_total <= company.credit_limit
    assert all(unheld_total + o.grand_total > company.credit_limit for o in orders if o.pk in held)
    assert len(held) == ORDERS - 10
    assert kept_exposure(company) == ORDER_TOTAL * ORDERS


def test_concurrent_small_orders_of_a_roomy_company_are_not_held(catalogue):
    """Far from its limit, the company's orders are decided side by side, none held."""
    buyer = buyer_of("1000000.00")

    results = run_together([lambda: place(buyer, catalogue)] * ORDERS)

    assert [r for r in results if isinstance(r, BaseException)] == []
    assert Order.objects.filter(company=buyer.company).count() == ORDERS
    assert credit_held(buyer.company) == set()


@override_settings(OMS_CREDIT_PARALLEL_ORDERS=4, OMS_CREDIT_HEADROOM="0.5")
def test_orders_of_every_size_near_the_limit_never_pass_it_together(catalogue):
    """Small orders go the fast way while there is headroom and large ones wait for
    the company's other orders: whatever the mix, the un-held ones stay within the
    limit. (Which ones are held depends on the order they are decided in: a held order
    still counts in its company's exposure, so a large one held can hold small ones
    after it.)"""
    # Given a limit of 3,000 and orders of 45 to 815 (1,000 headroom, 333 per order)
    buyer = buyer_of("3000.00")
    company = buyer.company
    quantities = [4, 80, 9, 30, 4, 60, 12, 4, 25, 9, 70, 4, 15, 9, 4, 45, 20, 4, 9, 35]

    # When they are placed at once
    results = run_together([lambda q=q: place(buyer, catalogue, q) for q in quantities])

    # Then
    assert [r for r in results if isinstance(r, BaseException)] == []
    orders = list(Order.objects.filter(company=company))
    assert len(orders) == len(quantities)
    held = credit_held(company)
    unheld_total = sum((o.grand_total for o in orders if o.pk not in held), Decimal("0"))
    assert sum(o.grand_total for o in orders) > company.credit_limit
    assert unheld_total <= company.credit_limit
    assert held
    assert kept_exposure(company) == sum(o.grand_total for o in orders)


def test_concurrent_edits_past_the_limit_are_held_exactly(catalogue):
    """An edit decides the credit hold again, under the same locks as placement."""
    # Given ten orders of 95.00 (950.00) within a limit of 1,400.00, each of its own
    # SKU (so that nothing but the credit decision orders the edits)
    buyer = buyer_of("1400.00")
    company = buyer.company
    location = LocationFactory()
    orders = []
    for _ in range(10):
        product = ProductFactory(list_price=Decimal("10.00"))
        stock.receive_stock(location=location, product=product, quantity=100, actor=ACTOR)
        orders.append(place(buyer, product))
    assert credit_held(company) == set()

    # When each is raised by 90.00 at the same time (only five fit)
    results = run_together(
        [
            lambda order=order: change_line_quantity(
                order_id=order.pk, line_number=1, quantity=QUANTITY * 2, actor=ACTOR
            )
            for order in orders
        ]
    )

    # Then exactly the edits past the limit put their orders on credit hold
    assert [r for r in results if isinstance(r, BaseException)] == []
    assert len(credit_held(company)) == 5
    assert kept_exposure(company) == 10 * (ORDER_TOTAL + Decimal("90.00"))


def _waiting_advisory_locks() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
        return int(cursor.fetchone()[0])


def _wait_until(condition, *, what: str, limit: float = 30.0) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.02)


def _in_thread(work):
    outcome: list[object] = []

    def run():
        try:
            outcome.append(work())
        except Exception as exc:
            outcome.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


def test_small_orders_do_not_wait_for_orders_in_flight_and_large_ones_do(catalogue):
    # Given an order of a roomy company being decided in another transaction (it holds
    # one of the company's credit slots until it ends)
    buyer = buyer_of("1000000.00")
    in_flight, release = threading.Event(), threading.Event()

    def decide_slowly():
        with transaction.atomic():
            rows.fetch(
                f"SELECT {hold_rules.credit_slot_sql()}",
                hold_rules.credit_slot_params(buyer.company.pk),
            )
            in_flight.set()
            release.wait(60)

    holder, _ = _in_thread(decide_slowly)
    assert in_flight.wait(30)
    try:
        # When a small order of the company is placed, it is decided at once
        small, small_outcome = _in_thread(lambda: place(buyer, catalogue))
        small.join(30)
        assert not small.is_alive(), "a small order waited for the one in flight"
        assert isinstance(small_outcome[0], Order)

        # And one large against the limit (20,005.00 > 250,000.00 headroom / 15)
        # waits for the one in flight
        large, large_outcome = _in_thread(lambda: place(buyer, catalogue, 2000))
        _wait_until(lambda: _waiting_advisory_locks() == 1, what="the large order waits")
        assert large_outcome == []
    finally:
        release.set()
        holder.join(30)

    # Then, once the other transaction ends, it is decided: within the limit
    large.join(30)
    assert not large.is_alive()
    assert isinstance(large_outcome[0], Order)
    assert large_outcome[0].grand_total == Decimal("20005.00")
    assert credit_held(buyer.company) == set()
