"""The forecast method on synthetic series whose answer is known."""

import random

from planning.forecasting import fit, forecast_series, wape

WEEK = (10, 12, 14, 16, 30, 40, 20)  # a busy end of week


def weekly_series(weeks: int, *, noise: float, growth: float = 0.002, seed: int = 7):
    rng = random.Random(seed)
    return [
        max(0.0, WEEK[i % 7] * (1 + growth * i) + rng.gauss(0, noise)) for i in range(weeks * 7)
    ]


def test_weekly_seasonality_is_learned_and_its_back_test_error_is_small():
    series = weekly_series(20, noise=2.0)
    result = forecast_series(series, horizon=28, holdout=28)
    train, held_out = series[:-28], series[-28:]
    daily = wape(held_out, fit(train).forecast(28))
    flat = wape(held_out, [sum(train) / len(train)] * 28)
    print(  # noqa: T201 - the back-test error, reported
        f"back-test WAPE: weekly {result.wape:.3f}, daily {daily:.3f}, "
        f"daily for a flat average {flat:.3f}"
    )
    assert result.method == "holt_winters"
    assert result.wape is not None
    assert result.wape < 0.08
    assert daily is not None
    assert daily < 0.12
    assert flat is not None
    assert flat > 3 * daily  # day by day, the season matters
    # The next week keeps the shape: the peak day (the 40 of the week) is the largest.
    first_week = result.next_days[:7]
    peak = next(h for h in range(7) if (len(series) + h) % 7 == WEEK.index(40))
    assert first_week.index(max(first_week)) == peak
    assert 20 < result.daily_demand < 30


def test_a_noiseless_season_is_forecast_almost_exactly():
    series = weekly_series(16, noise=0.0, growth=0.0)
    result = forecast_series(series, horizon=14, holdout=28)
    assert result.wape is not None
    assert result.wape < 0.02
    expected = [WEEK[(len(series) + h) % 7] for h in range(14)]
    assert all(abs(f - e) < 1.0 for f, e in zip(result.next_days, expected, strict=True))


def test_a_short_history_gets_its_average_and_no_error():
    result = forecast_series([2.0, 0.0, 4.0, 2.0], horizon=7, holdout=28)
    assert result.method == "mean"
    assert result.wape is None
    assert result.next_days == [2.0] * 7


def test_wape_is_the_absolute_error_over_the_actual_units():
    assert wape([10, 0, 10], [8, 1, 13]) == (2 + 1 + 3) / 20
    assert wape([0, 0], [1, 1]) is None


def test_sparse_demand_keeps_the_plain_average_when_it_back_tests_better():
    # A unit on about one day in six, at random: no season to learn.
    rng = random.Random(3)
    series = [1.0 if rng.random() < 0.17 else 0.0 for _ in range(140)]
    result = forecast_series(series, horizon=7, holdout=28)
    assert result.method == "mean"
    assert result.wape is not None
    assert result.next_days == [sum(series) / len(series)] * 7
