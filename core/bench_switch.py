"""Benchmark-only switch, for the A/B of the order-intake hot path
(``bash bench/run.sh --ab STEP``): ``OMS_BENCH_WITHOUT``, a comma-separated list of
hot-path steps to run without, each replaced by its plain alternative:

* ``grouped_inserts``: the order's number is taken by its own ``SELECT nextval`` and
  the lines, holds, events and outbox row are inserted one table at a time
  (``core.rows.insert``), not by one ``WITH`` statement;
* ``exposure_returning``: the company's exposure is read by a ``SELECT`` of its own,
  not returned by the order's ``INSERT``;
* ``one_statement_commit``: network demand is committed by locking the rows, checking
  them in Python and updating them, two statements, not one.

Read from the environment once per process. Never set it outside a benchmark: both
variants behave the same, the alternatives only cost more round trips.
"""

import os
from functools import cache

from django.core.exceptions import ImproperlyConfigured

STEPS = frozenset({"grouped_inserts", "exposure_returning", "one_statement_commit"})


@cache
def _chosen() -> frozenset[str]:
    raw = os.environ.get("OMS_BENCH_WITHOUT", "")
    chosen = frozenset(step.strip() for step in raw.split(",") if step.strip())
    unknown = chosen - STEPS
    if unknown:
        raise ImproperlyConfigured(f"OMS_BENCH_WITHOUT names unknown steps: {sorted(unknown)}")
    return chosen


def without(step: str) -> bool:
    """Whether this process runs without the hot-path step ``step`` (one of STEPS)."""
    if step not in STEPS:
        raise ValueError(f"unknown hot-path step {step!r}")
    return step in _chosen()
