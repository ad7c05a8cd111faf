"""The forecast method: additive Holt-Winters exponential smoothing with a weekly season.

Plain Python on purpose: a series is at most a few hundred days, the nightly run fits
a few thousand of them, and the demo runs without a numerical library.

For a daily series ``y``, with a season of ``m = 7`` days:

    level_t    = alpha * (y_t - season_{t-m}) + (1 - alpha) * (level_{t-1} + trend_{t-1})
    trend_t    = beta  * (level_t - level_{t-1}) + (1 - beta) * phi * trend_{t-1}
    season_t   = gamma * (y_t - level_t) + (1 - gamma) * season_{t-m}
    forecast_{t+h} = level_t + (phi + ... + phi^h) * trend_t + season_{t+h-m(k+1)}

The trend is damped (``phi`` = 0.9) so that a few good weeks do not extrapolate into
a runaway. Smoothing weights are chosen per series from a small grid by the sum of
squared one-day-ahead errors on the series itself. Forecasts are floored at zero.

The error reported beside each forecast is measured out of sample: the model is fitted
on all but the last ``holdout`` days and forecasts those days; the WAPE (sum of absolute
errors over the sum of actual units) is taken on weekly totals, the grain purchasing
orders by (on days, a SKU selling a unit now and then would look wrong every day
whatever the method). The plain average of the same training days is back-tested the
same way, and the method with the lower error is kept and refitted on the whole history
for the forecast that is stored. A series shorter than three seasons plus the hold-out
gets the plain daily average, and no error.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

SEASON = 7
DAMPING = 0.9
ALPHAS = (0.05, 0.1, 0.2, 0.3, 0.5)
BETAS = (0.0, 0.02, 0.05)
GAMMAS = (0.05, 0.1, 0.2, 0.3)
MIN_SEASONS = 3


@dataclass(frozen=True)
class Fitted:
    alpha: float
    beta: float
    gamma: float
    level: float
    trend: float
    season: tuple[float, ...]  # the last SEASON seasonal terms, oldest first
    sse: float

    def forecast(self, horizon: int) -> list[float]:
        out = []
        damp_sum = 0.0
        for h in range(1, horizon + 1):
            damp_sum += DAMPING**h
            value = self.level + damp_sum * self.trend + self.season[(h - 1) % SEASON]
            out.append(max(value, 0.0))
        return out


def _fit(y: Sequence[float], alpha: float, beta: float, gamma: float) -> Fitted:
    first = y[:SEASON]
    second = y[SEASON : 2 * SEASON]
    level = sum(first) / SEASON
    trend = (sum(second) / SEASON - level) / SEASON if len(second) == SEASON else 0.0
    season = [v - level for v in first]
    sse = 0.0
    for t in range(SEASON, len(y)):
        s_old = season[t % SEASON]
        predicted = level + DAMPING * trend + s_old
        error = y[t] - predicted
        sse += error * error
        new_level = alpha * (y[t] - s_old) + (1 - alpha) * (level + DAMPING * trend)
        trend = beta * (new_level - level) + (1 - beta) * DAMPING * trend
        level = new_level
        season[t % SEASON] = gamma * (y[t] - level) + (1 - gamma) * s_old
    n = len(y)
    # Reorder so that season[0] is the term of day n (the first forecast day).
    ordered = tuple(season[(n + i) % SEASON] for i in range(SEASON))
    return Fitted(alpha, beta, gamma, level, trend, ordered, sse)


def fit(y: Sequence[float]) -> Fitted:
    """The best smoothing weights of the grid for ``y`` (at least two seasons long)."""
    if len(y) < 2 * SEASON:
        raise ValueError("Holt-Winters needs at least two weeks of history.")
    return min(
        (_fit(y, a, b, g) for a, b, g in itertools.product(ALPHAS, BETAS, GAMMAS)),
        key=lambda f: f.sse,
    )


def wape(actual: Sequence[float], predicted: Sequence[float]) -> float | None:
    """Sum of |actual - predicted| over sum of actual; None when nothing sold."""
    total = sum(actual)
    if total <= 0:
        return None
    return sum(abs(a - p) for a, p in zip(actual, predicted, strict=True)) / total


@dataclass(frozen=True)
class Forecast:
    method: str  # a planning.models.ForecastMethod value
    next_days: list[float]
    wape: float | None

    @property
    def daily_demand(self) -> float:
        return sum(self.next_days) / len(self.next_days) if self.next_days else 0.0


def weekly_totals(values: Sequence[float]) -> list[float]:
    """Sums of consecutive 7-day blocks (a last partial block included)."""
    return [sum(values[i : i + SEASON]) for i in range(0, len(values), SEASON)]


def forecast_series(y: Sequence[float], *, horizon: int, holdout: int) -> Forecast:
    """Forecast the next ``horizon`` days of the daily series ``y`` (oldest first), with
    its error back-tested on the last ``holdout`` days."""
    if len(y) >= MIN_SEASONS * SEASON + holdout and holdout > 0:
        train, test = y[:-holdout], y[-holdout:]
        actual = weekly_totals(test)
        smoothed = wape(actual, weekly_totals(fit(train).forecast(holdout)))
        mean = sum(train) / len(train)
        flat = wape(actual, weekly_totals([mean] * holdout))
        if smoothed is not None and flat is not None and flat < smoothed:
            # Sparse demand (a unit now and then) has no season to learn: the plain
            # average forecasts it better, and is kept.
            whole = sum(y) / len(y)
            return Forecast("mean", [whole] * horizon, flat)
        return Forecast("holt_winters", fit(y).forecast(horizon), smoothed)
    mean = sum(y) / len(y) if y else 0.0
    return Forecast("mean", [mean] * horizon, None)
