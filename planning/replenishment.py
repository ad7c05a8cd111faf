"""Replenishment figures of a stock level, from its live stock and its forecast.

- net stock = on hand - allocated - reserved (units free to sell or ship there);
- position = net stock + incoming (open purchase orders and transfers);
- days of cover = net stock / forecast daily demand (none when nothing is forecast);
- reorder point = lead-time demand (lead time in days x daily demand, rounded up)
  + the stock level's safety stock;
- a stock level needs reordering when its position is at or below its reorder point;
- suggested quantity = reorder point + one review period's demand - position, so an
  order placed now lifts the position to cover the lead time, the safety stock and the
  days until the next review (an order-up-to rule), never below zero.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import F, QuerySet

from .models import DemandForecast, ReorderSuggestion


def units_over(days: int, daily_demand: Decimal | float) -> int:
    """Demand over ``days``, rounded up to whole units."""
    return math.ceil(Decimal(days) * Decimal(str(daily_demand)) - Decimal("0.000001"))


def days_of_cover(net_stock: int, daily_demand: Decimal | float) -> Decimal | None:
    demand = Decimal(str(daily_demand))
    if demand <= 0:
        return None
    return (Decimal(max(net_stock, 0)) / demand).quantize(Decimal("0.1"), ROUND_HALF_UP)


def reorder_point(*, lead_time_demand: int, safety_stock: int) -> int:
    return lead_time_demand + safety_stock


def suggested_quantity(*, position: int, reorder_point: int, review_demand: int) -> int:
    if position > reorder_point:
        return 0
    return max(reorder_point + review_demand - position, 0)


@dataclass(frozen=True)
class Replenishment:
    net_stock: int
    incoming: int
    daily_demand: Decimal
    days_of_cover: Decimal | None
    reorder_point: int
    suggested_quantity: int

    @property
    def position(self) -> int:
        return self.net_stock + self.incoming

    @property
    def below_reorder_point(self) -> bool:
        return self.position <= self.reorder_point


def replenishment_of(forecast: DemandForecast) -> Replenishment:
    """The figures of one forecast's stock level (its ``stock_level`` loaded)."""
    level = forecast.stock_level
    net = level.on_hand - level.allocated - level.reserved
    point = reorder_point(
        lead_time_demand=forecast.lead_time_demand, safety_stock=level.safety_stock
    )
    return Replenishment(
        net_stock=net,
        incoming=level.incoming,
        daily_demand=forecast.daily_demand,
        days_of_cover=days_of_cover(net, forecast.daily_demand),
        reorder_point=point,
        suggested_quantity=suggested_quantity(
            position=net + level.incoming,
            reorder_point=point,
            review_demand=forecast.review_demand,
        ),
    )


def with_positions(qs: QuerySet[Any]) -> QuerySet[Any]:
    """Annotate ``position``, ``reorder_point_units`` and ``suggested_units`` (the
    result is typed loosely: the type checker does not know annotations)."""
    return qs.select_related("stock_level__product", "stock_level__location").annotate(
        position=F("stock_level__on_hand")
        - F("stock_level__allocated")
        - F("stock_level__reserved")
        + F("stock_level__incoming"),
        reorder_point_units=F("lead_time_demand") + F("stock_level__safety_stock"),
        suggested_units=F("reorder_point_units") + F("review_demand") - F("position"),
    )


def list_reorder_suggestions() -> QuerySet[ReorderSuggestion]:
    """Stock levels with demand whose position is at or below the reorder point, the
    largest shortfall first (one query)."""
    qs: QuerySet[Any] = with_positions(ReorderSuggestion.objects.all())
    return qs.filter(daily_demand__gt=0, position__lte=F("reorder_point_units")).order_by(
        "-suggested_units", "stock_level_id"
    )
