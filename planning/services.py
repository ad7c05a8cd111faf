"""The planning run: forecasts for every stock level with order history.

Demand is what orders asked of each location: the units of fulfillment order lines
(less what was cancelled or rejected there), dated by the day the order was placed, in
the server's time zone. Demand not yet routed to a location (open backorders) is not
counted until it is.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import F, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from fulfillment.models import FulfillmentOrderLine
from inventory.models import StockLevel

from .forecasting import forecast_series
from .models import DemandForecast, PlanningRun
from .replenishment import units_over

HORIZON_DAYS = 28


@dataclass(frozen=True)
class PlanningSettings:
    history_days: int
    holdout_days: int
    lead_time_days: int
    review_days: int

    @classmethod
    def from_settings(cls) -> PlanningSettings:
        return cls(
            history_days=settings.OMS_PLANNING_HISTORY_DAYS,
            holdout_days=settings.OMS_PLANNING_HOLDOUT_DAYS,
            lead_time_days=settings.OMS_PLANNING_LEAD_TIME_DAYS,
            review_days=settings.OMS_PLANNING_REVIEW_DAYS,
        )


def daily_demand_history(
    *, first_day: date, last_day: date
) -> dict[tuple[int, int], dict[date, int]]:
    """Units asked of each (location, product) per day, ``first_day`` to ``last_day``
    inclusive (one query)."""
    rows = (
        FulfillmentOrderLine.objects.filter(
            fulfillment_order__order__placed_at__date__gte=first_day,
            fulfillment_order__order__placed_at__date__lte=last_day,
        )
        .annotate(day=TruncDate("fulfillment_order__order__placed_at"))
        .values("fulfillment_order__location_id", "order_line__product_id", "day")
        .annotate(units=Sum(F("quantity") - F("quantity_cancelled") - F("quantity_rejected")))
    )
    history: dict[tuple[int, int], dict[date, int]] = defaultdict(dict)
    for row in rows:
        if row["units"]:
            key = (row["fulfillment_order__location_id"], row["order_line__product_id"])
            history[key][row["day"]] = int(row["units"])
    return history


def _series(days: dict[date, int], last_day: date) -> list[float]:
    first = min(days)
    length = (last_day - first).days + 1
    return [float(days.get(first + timedelta(days=i), 0)) for i in range(length)]


def run_planning(
    *, today: date | None = None, config: PlanningSettings | None = None
) -> PlanningRun:
    """Recompute every forecast from the order history up to yesterday; stock levels no
    longer with demand in the window lose theirs. The fitting runs outside any
    transaction; the new forecasts replace the old ones in one transaction."""
    config = config or PlanningSettings.from_settings()
    today = today or timezone.localdate()
    last_day = today - timedelta(days=1)
    first_day = today - timedelta(days=config.history_days)
    history = daily_demand_history(first_day=first_day, last_day=last_day)
    # Only where the SKU is stocked: demand a location served without ever holding the
    # SKU (imported history, a vendor's dropship) is nothing to replenish there.
    level_ids = {
        (loc, prod): pk
        for pk, loc, prod in StockLevel.objects.filter(
            location_id__in={k[0] for k in history}, product_id__in={k[1] for k in history}
        ).values_list("pk", "location_id", "product_id")
    }

    results = {}
    errors = Decimal(0)
    actual_total = Decimal(0)
    for key, days in history.items():
        if key not in level_ids:
            continue
        series = _series(days, last_day)
        result = forecast_series(series, horizon=HORIZON_DAYS, holdout=config.holdout_days)
        results[key] = (series, result)
        if result.wape is not None:
            held_out = Decimal(str(sum(series[-config.holdout_days :])))
            errors += Decimal(str(result.wape)) * held_out
            actual_total += held_out
    wape = errors / actual_total if actual_total else None
    return _store(config, results, level_ids, wape=wape)


@transaction.atomic
def _store(
    config: PlanningSettings,
    results: dict,
    level_ids: dict[tuple[int, int], int],
    *,
    wape: Decimal | None,
) -> PlanningRun:
    now = timezone.now()
    run = PlanningRun.objects.create(
        history_days=config.history_days,
        holdout_days=config.holdout_days,
        lead_time_days=config.lead_time_days,
        review_days=config.review_days,
        series=len(results),
        wape=None if wape is None else wape.quantize(Decimal("0.0001")),
    )
    forecasts = []
    for key, (series, result) in results.items():
        daily = Decimal(str(result.daily_demand)).quantize(Decimal("0.001"))
        forecasts.append(
            DemandForecast(
                stock_level_id=level_ids[key],
                run=run,
                method=result.method,
                daily_demand=daily,
                next_days=[round(v, 2) for v in result.next_days],
                history_days=len(series),
                history_units=int(sum(series)),
                wape=None
                if result.wape is None
                else Decimal(str(result.wape)).quantize(Decimal("0.0001")),
                lead_time_demand=units_over(config.lead_time_days, daily),
                review_demand=units_over(config.review_days, daily),
                computed_at=now,
            )
        )
    DemandForecast.objects.exclude(
        stock_level_id__in=[f.stock_level_id for f in forecasts]
    ).delete()
    DemandForecast.objects.bulk_create(
        forecasts,
        update_conflicts=True,
        unique_fields=["stock_level"],
        update_fields=[
            "run",
            "method",
            "daily_demand",
            "next_days",
            "history_days",
            "history_units",
            "wape",
            "lead_time_demand",
            "review_demand",
            "computed_at",
        ],
    )
    run.finished_at = timezone.now()
    run.save(update_fields=["finished_at"])
    return run
