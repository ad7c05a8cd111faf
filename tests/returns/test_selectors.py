"""Return rates and reasons per SKU, for the analytics to come."""

import datetime as dt

import pytest
from django.utils import timezone

from core.actors import Actor
from orders.models import Order
from returns import services
from returns.selectors import SkuReturnRate, return_rates_by_sku
from returns.services import ReceivedUnits, ReturnLineInput
from tests.factories import ProductFactory

from .conftest import delivered_order

pytestmark = pytest.mark.django_db

SYSTEM = Actor.system("test")


def ask(order, product, quantity, reason):
    line = order.lines.get(product=product)
    return services.request_return(
        order=order,
        lines=[ReturnLineInput(order_line_id=line.pk, quantity=quantity, reason_code=reason)],
        method="mail",
        actor=SYSTEM,
    )


@pytest.fixture
def history(default_policy, warehouse):
    """SKU A: 4 delivered on a recent order (2 back, damaged) and 2 on an older one (1
    asked back for size); SKU B: 1 delivered, asked back and withdrawn."""
    a, b = ProductFactory(sku="A-1"), ProductFactory(sku="B-1")
    recent = delivered_order(quantity=4, products=[a])
    older = delivered_order(quantity=2, products=[a])
    other = delivered_order(quantity=1, products=[b])
    damaged = ask(recent, a, 2, "damaged")  # approved by the policy
    services.receive_return(
        request_id=damaged.pk,
        token="tok-a",
        location=warehouse,
        units=[
            ReceivedUnits(
                line_id=damaged.lines.get().pk,
                quantity=2,
                condition="damaged",
                disposition="damaged",
            )
        ],
        actor=SYSTEM,
    )
    ask(older, a, 1, "size_fit")
    withdrawn = ask(other, b, 1, "no_longer_needed")
    services.cancel_return(request_id=withdrawn.pk, actor=SYSTEM)
    Order.objects.filter(pk=older.pk).update(placed_at=timezone.now() - dt.timedelta(days=60))


def test_rates_and_reasons_per_sku(history, django_assert_num_queries):
    with django_assert_num_queries(2):
        rates = return_rates_by_sku()

    assert rates == [
        SkuReturnRate(
            sku="A-1",
            units_delivered=6,
            units_returned=2,
            rate=2 / 6,
            reasons={"damaged": 2, "size_fit": 1},
        ),
        # a withdrawn request gives no reason
        SkuReturnRate(sku="B-1", units_delivered=1, units_returned=0, rate=0.0, reasons={}),
    ]


def test_since_counts_the_orders_placed_since(history):
    rates = return_rates_by_sku(since=timezone.now() - dt.timedelta(days=30))

    a = next(rate for rate in rates if rate.sku == "A-1")
    assert (a.units_delivered, a.units_returned, a.rate) == (4, 2, 0.5)
    assert a.reasons == {"damaged": 2}


def test_nothing_delivered_nothing_to_rate(db):
    assert return_rates_by_sku() == []
