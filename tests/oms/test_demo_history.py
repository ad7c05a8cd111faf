"""The demo's history (``oms.demo.history``): its calendar, its shipments against the
promise, and the dates and reasons its records carry."""

import datetime as dt
from collections import Counter
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import F, Q
from django.test import override_settings
from django.utils import timezone

from core import refcache
from fulfillment.models import FulfillmentOrder, Shipment
from oms.demo import history
from oms.demo.common import SEED_ACTOR
from oms.integrity import check_integrity
from orders.models import Order, OrderEvent, OrderEventType, OrderStatus

NEWEST = dt.date(2026, 12, 1)
DAYS = [NEWEST - dt.timedelta(days=n) for n in range(180, -1, -1)]


def test_the_calendar_has_a_weekly_rhythm_growth_and_promotions():
    weights = dict(zip(DAYS, history.day_weights(DAYS), strict=True))
    promotions = history.promotion_days(DAYS[0], DAYS[-1])

    # Three three-day promotions, and Black Friday to Cyber Monday 2026 (Nov 27-30).
    assert len(promotions) == 3 * 3 + 4
    assert {dt.date(2026, 11, 27), dt.date(2026, 11, 30)} <= promotions
    start = NEWEST - dt.timedelta(days=41)
    assert start in promotions
    before = start - dt.timedelta(days=7)  # same weekday, a week earlier
    assert weights[start] / weights[before] == pytest.approx(history.PROMOTION_LIFT, rel=0.05)
    # Mondays sell more than Sundays of the same week.
    ordinary = [d for d in DAYS[7:60] if d not in promotions]
    monday = next(d for d in ordinary if d.weekday() == 0)
    assert weights[monday] > weights[monday - dt.timedelta(days=1)] * 1.5
    # Growth: the same weekday sells more at the end than at the start.
    assert weights[DAYS[-8]] > weights[DAYS[6]] * 1.3 or DAYS[-8] in promotions


def test_shipments_leave_by_the_promise_mostly_late_more_in_promotions_always_before_completion():
    placed = [
        dt.datetime(2026, 6, 1, 9, tzinfo=history.ORDER_TIME_ZONE) + dt.timedelta(hours=7 * n)
        for n in range(2000)
    ]

    def late_share(promotion: bool) -> float:
        late = 0
        for n, at in enumerate(placed):
            shipped = history.shipped_at(f"SO-{n}", at, promotion=promotion)
            assert at < shipped < at + dt.timedelta(days=5)  # completed five days after
            if shipped.astimezone(history.ORDER_TIME_ZONE).date() > history.ship_by_date(at):
                late += 1
        return late / len(placed)

    assert late_share(False) == pytest.approx(history.LATE_SHARE, abs=0.015)
    assert late_share(True) == pytest.approx(history.LATE_SHARE_IN_PROMOTION, abs=0.03)
    # The same order ships at the same time on every run.
    assert history.shipped_at("SO-9", placed[0], promotion=False) == history.shipped_at(
        "SO-9", placed[0], promotion=False
    )


SMALL = {"orders": 120, "customers": 30, "live_orders": 0, "quiet": True}


@pytest.fixture
def seeded(db, tmp_path):
    refcache.clear()
    with override_settings(OMS_DEMO_KEYS_FILE=tmp_path / "keys.txt", DEBUG=True):
        call_command("seed_demo", **SMALL)
        yield
    refcache.clear()


def imported():
    return Order.objects.filter(
        events__type=OrderEventType.IMPORTED, events__actor_label=SEED_ACTOR.label
    )


@pytest.mark.django_db
def test_the_seeded_history_is_dated_shipped_and_explained(seeded, tmp_path):
    orders = imported()
    assert orders.count() == 120
    # Created when placed, last changed when closed; the import entry at placement.
    assert not orders.exclude(created_at=F("placed_at")).exists()
    for order in orders.order_by("pk")[:20]:
        assert order.updated_at == (order.completed_at or order.cancelled_at)
    imports = OrderEvent.objects.filter(type=OrderEventType.IMPORTED)
    assert not imports.exclude(created_at=F("order__placed_at")).exists()
    # Orders span the months, not today.
    days = {order.placed_at.date() for order in orders}
    assert max(days) - min(days) > dt.timedelta(days=150)
    # Up to yesterday, every order closed before now (the newest ones sooner).
    assert max(days) >= timezone.localdate() - dt.timedelta(days=2)
    now = timezone.now()
    assert not orders.filter(Q(completed_at__gt=now) | Q(cancelled_at__gt=now)).exists()

    # Every completed order shipped once, by its promise or late, dated at placement.
    completed = orders.filter(status=OrderStatus.COMPLETED)
    fos = FulfillmentOrder.objects.filter(order__in=completed)
    assert fos.count() == completed.count()
    assert not fos.exclude(created_at=F("order__placed_at")).exists()
    shipments = Shipment.objects.filter(order__in=completed).select_related(
        "fulfillment_order", "order"
    )
    outcomes = Counter(
        s.shipped_at.astimezone(history.ORDER_TIME_ZONE).date() <= s.fulfillment_order.ship_by_date
        for s in shipments
    )
    assert outcomes[True] > outcomes[False] > 0 or outcomes[False] == 0
    for shipment in shipments:
        assert shipment.order.placed_at < shipment.shipped_at <= shipment.delivered_at

    # Each cancelled order has its cancellation, with a reason, when it happened.
    cancelled = orders.filter(status=OrderStatus.CANCELLED)
    assert cancelled.exists()
    reasons = dict(history.CANCELLATION_REASONS)
    for order in cancelled:
        event = order.events.get(type=OrderEventType.CANCELLED)
        assert event.payload["reason"] in reasons
        assert event.created_at == order.cancelled_at

    assert check_integrity() == []

    # A second run changes nothing.
    before = list(Order.objects.values_list("pk", "created_at", "updated_at").order_by("pk"))
    events = OrderEvent.objects.count()
    shipped = Shipment.objects.count()
    out = StringIO()
    with override_settings(OMS_DEMO_KEYS_FILE=tmp_path / "keys.txt", DEBUG=True):
        call_command("seed_demo", **{**SMALL, "quiet": False}, stdout=out)
    for step in ("Historical orders", "Shipped history", "Cancelled history", "History dates"):
        [line] = [line for line in out.getvalue().splitlines() if line.strip().startswith(step)]
        assert " 0 created" in line, line
    assert list(Order.objects.values_list("pk", "created_at", "updated_at").order_by("pk")) == (
        before
    )
    assert OrderEvent.objects.count() == events
    assert Shipment.objects.count() == shipped
