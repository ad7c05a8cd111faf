"""Delivered orders to return, a warehouse that takes returns, and the seeded reasons."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from core.actors import Actor
from fulfillment.models import FulfillmentOrder, Shipment
from inventory.models import LocationKind
from orders.models import FulfillmentStatus, OrderStatus
from returns.models import PolicyScope, ReturnPolicy, ReturnReason
from tests.factories import LocationFactory, ProductFactory, UserFactory
from tests.orders.factories import OrderFactory, OrderLineFactory

REASONS = {
    "damaged": Decimal("0"),
    "wrong_item": Decimal("0"),
    "not_as_described": Decimal("0"),
    "no_longer_needed": Decimal("15"),
    "size_fit": Decimal("10"),
}


@pytest.fixture
def reasons(db):
    """The seeded reasons (seeded again after a test that flushed the database)."""
    return {
        code: ReturnReason.objects.get_or_create(
            code=code,
            defaults={"label": code.replace("_", " ").capitalize(), "restocking_fee_percent": fee},
        )[0]
        for code, fee in REASONS.items()
    }


@pytest.fixture
def default_policy(reasons):
    policy = ReturnPolicy.objects.filter(scope=PolicyScope.DEFAULT, is_active=True).first()
    if policy is None:
        policy = ReturnPolicy.objects.create(name="Standard returns", scope=PolicyScope.DEFAULT)
    policy.window_days = 30
    policy.auto_approve_below = None
    policy.save()
    policy.auto_approve_reasons.set([reasons["damaged"], reasons["wrong_item"]])
    return policy


@pytest.fixture
def warehouse(db):
    return LocationFactory(code="RNO1", name="Reno warehouse", kind=LocationKind.WAREHOUSE)


def delivered_order(*, quantity: int = 2, days_ago: int = 3, products=None, company=None):
    """A completed order whose lines were all delivered ``days_ago`` days ago."""
    order = OrderFactory(
        status=OrderStatus.COMPLETED,
        fulfillment_status=FulfillmentStatus.DELIVERED,
        company=company,
        ship_latitude=Decimal("40.748400"),
        ship_longitude=Decimal("-73.985700"),
    )
    for number, product in enumerate(products or [ProductFactory()], start=1):
        OrderLineFactory(
            order=order,
            line_number=number,
            product=product,
            quantity_ordered=quantity,
            quantity_shipped=quantity,
            quantity_delivered=quantity,
        )
    location = LocationFactory(kind=LocationKind.THIRD_PARTY)
    fo = FulfillmentOrder.objects.create(
        order=order,
        location=location,
        number=f"{order.number}-1",
        status="closed",
        ship_by_date=timezone.localdate() - dt.timedelta(days=days_ago + 2),
    )
    Shipment.objects.create(
        fulfillment_order=fo,
        order=order,
        service_level="standard",
        shipped_at=timezone.now() - dt.timedelta(days=days_ago + 2),
        delivered_at=timezone.now() - dt.timedelta(days=days_ago),
        status="delivered",
    )
    return order


@pytest.fixture
def agent_actor(db):
    user = UserFactory(username="agent-super", is_superuser=True)
    return Actor.for_user(user)
