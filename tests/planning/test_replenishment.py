"""Replenishment figures, the reorder queue, the low-stock alert and the planning run,
on hand-built stock with known answers."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.utils import timezone

from fulfillment.routing import route_order
from inventory import services as stock
from inventory.purchase_orders import create_purchase_order
from orders.models import Order
from planning.alerts import check_low_stock, refresh_low_stock_crossings
from planning.models import DemandForecast, LowStockCrossing, PlanningRun
from planning.replenishment import (
    days_of_cover,
    list_reorder_suggestions,
    reorder_point,
    replenishment_of,
    suggested_quantity,
    units_over,
)
from planning.services import PlanningSettings, run_planning
from tests.factories import LocationFactory, ProductFactory
from tests.fulfillment.conftest import place

pytestmark = pytest.mark.django_db

CONFIG = PlanningSettings(history_days=182, holdout_days=28, lead_time_days=14, review_days=7)


def test_the_formulas_on_known_numbers():
    assert units_over(14, Decimal("4.5")) == 63
    assert units_over(7, Decimal("4.5")) == 32  # 31.5 rounded up
    assert units_over(7, Decimal("2")) == 14
    assert days_of_cover(30, Decimal("4.5")) == Decimal("6.7")
    assert days_of_cover(-3, Decimal("4.5")) == Decimal("0.0")
    assert days_of_cover(30, Decimal("0")) is None
    assert reorder_point(lead_time_demand=63, safety_stock=5) == 68
    assert suggested_quantity(position=40, reorder_point=68, review_demand=32) == 60
    assert suggested_quantity(position=68, reorder_point=68, review_demand=32) == 32
    assert suggested_quantity(position=69, reorder_point=68, review_demand=32) == 0


def forecast_for(location, product, daily: str) -> DemandForecast:
    run = PlanningRun.objects.create(
        history_days=182, holdout_days=28, lead_time_days=14, review_days=7, series=1
    )
    level = stock.StockLevel.objects.get(location=location, product=product)
    demand = Decimal(daily)
    return DemandForecast.objects.create(
        stock_level=level,
        run=run,
        method="holt_winters",
        daily_demand=demand,
        next_days=[float(demand)] * 28,
        history_days=120,
        history_units=540,
        wape=Decimal("0.1800"),
        lead_time_demand=units_over(14, demand),
        review_demand=units_over(7, demand),
        computed_at=timezone.now(),
    )


@pytest.fixture
def low(system_actor):
    """30 on hand, 10 incoming, safety stock 5, 4.5 a day: reorder point 68,
    position 40, 60 to order."""
    dc = LocationFactory(code="DC1")
    kettle = ProductFactory(sku="KETTLE")
    stock.receive_stock(location=dc, product=kettle, quantity=30, actor=system_actor)
    stock.set_safety_stock(location=dc, product=kettle, quantity=5, actor=system_actor)
    create_purchase_order(
        location=dc,
        supplier="Acme",
        lines={"KETTLE": 10},
        expected_date=timezone.localdate() + timedelta(days=9),
        actor=system_actor,
    )
    return dc, kettle, forecast_for(dc, kettle, "4.5")


@pytest.mark.usefixtures("low")
def test_replenishment_of_a_stock_level():
    figures = replenishment_of(DemandForecast.objects.select_related("stock_level").get())
    assert figures.net_stock == 30
    assert figures.incoming == 10
    assert figures.days_of_cover == Decimal("6.7")
    assert figures.reorder_point == 68
    assert figures.suggested_quantity == 60
    assert figures.below_reorder_point


def test_the_reorder_queue_lists_only_stock_at_or_below_its_reorder_point(
    low, system_actor, django_assert_num_queries
):
    dc, _, _ = low
    plenty = ProductFactory(sku="PLENTY")
    stock.receive_stock(location=dc, product=plenty, quantity=500, actor=system_actor)
    forecast_for(dc, plenty, "2")
    with django_assert_num_queries(1):
        rows = list(list_reorder_suggestions())
    assert [
        (r.stock_level.product.sku, r.reorder_point_units, r.suggested_units) for r in rows
    ] == [("KETTLE", 68, 60)]


def test_the_low_stock_alert_is_sent_once_per_crossing(low, system_actor, settings):
    dc, kettle, _ = low
    settings.OMS_PURCHASING_EMAIL = "buyer@example.com, planner@example.com"
    assert check_low_stock() == 1
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["buyer@example.com", "planner@example.com"]
    assert "KETTLE" in mail.outbox[0].body
    assert "reorder point 68" in mail.outbox[0].body

    # Still low: the same crossing, no second e-mail, however often it is checked.
    assert check_low_stock() == 0
    assert refresh_low_stock_crossings() == (0, 0)
    assert len(mail.outbox) == 1
    assert LowStockCrossing.objects.count() == 1

    # Back above the reorder point: the crossing closes, quietly.
    stock.receive_stock(location=dc, product=kettle, quantity=100, actor=system_actor)
    assert check_low_stock() == 0
    assert LowStockCrossing.objects.get().closed_at is not None

    # Down again: a new crossing, a new e-mail.
    stock.adjust_stock(
        location=dc, product=kettle, delta=-100, reason="write-off", actor=system_actor
    )
    assert check_low_stock() == 1
    assert len(mail.outbox) == 2
    assert LowStockCrossing.objects.filter(closed_at__isnull=True).count() == 1


def test_without_a_purchasing_contact_the_crossing_waits_for_one(low, settings):
    settings.OMS_PURCHASING_EMAIL = ""
    assert check_low_stock() == 0
    assert mail.outbox == []
    crossing = LowStockCrossing.objects.get()
    assert crossing.alerted_at is None
    settings.OMS_PURCHASING_EMAIL = "buyer@example.com"
    assert check_low_stock() == 1
    assert len(mail.outbox) == 1


def test_a_failed_send_gives_the_claim_back(low, settings, monkeypatch):
    settings.OMS_PURCHASING_EMAIL = "buyer@example.com"

    def refuse(*args, **kwargs):
        raise OSError("mail server down")

    monkeypatch.setattr("planning.alerts.send_mail", refuse)  # the SMTP boundary
    with pytest.raises(OSError, match="mail server down"):
        check_low_stock()
    assert LowStockCrossing.objects.get().alerted_at is None
    monkeypatch.undo()
    assert check_low_stock() == 1


def test_the_planning_run_forecasts_from_routed_order_history(
    warehouse, stocked, standard, system_actor
):
    first, second, _ = stocked
    today = timezone.localdate()
    # Ten days of history: 2 units of the first SKU a day, 1 of the second every other day.
    for day in range(1, 11):
        lines = [(first, 2)] + ([(second, 1)] if day % 2 == 0 else [])
        order = place(lines)
        route_order(order_id=order.pk)
        Order.objects.filter(pk=order.pk).update(placed_at=timezone.now() - timedelta(days=day))
    run = run_planning(today=today, config=CONFIG)
    forecasts = {
        f.stock_level.product_id: f
        for f in DemandForecast.objects.select_related("stock_level").filter(run=run)
    }
    assert run.series == 2
    assert set(forecasts) == {first.pk, second.pk}
    first_forecast = forecasts[first.pk]
    assert first_forecast.stock_level.location_id == warehouse.pk
    assert first_forecast.method == "mean"  # ten days: too short to hold weeks out
    assert first_forecast.daily_demand == Decimal("2.000")
    assert first_forecast.history_units == 20
    assert first_forecast.wape is None
    assert first_forecast.lead_time_demand == 28
    assert first_forecast.review_demand == 14
    # The second SKU sold 1 unit every other day from ten days ago: 5 units in 10 days.
    assert forecasts[second.pk].daily_demand == Decimal("0.500")

    # A second run replaces the forecasts rather than adding to them.
    run_planning(today=today, config=CONFIG)
    assert DemandForecast.objects.count() == 2
