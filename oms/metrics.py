"""Metrics for Prometheus at ``/metrics`` (docs/operations.md, "Observability").

Two kinds of figures:

- what happens in a process, counted as it happens: HTTP requests by route and status
  with their latency (``RequestMetricsMiddleware``), Celery task durations and failures
  (Celery's task hooks, connected by ``connect_celery_hooks`` from ``oms.apps``);
- what the database holds, read when Prometheus scrapes (``DatabaseCollector``): orders
  placed by channel, the routing backlog and its oldest order, the outbox backlog and
  its lag, holds open by kind, stock-outs. Being read at scrape time, these are right
  whatever the number of processes.

Several processes (gunicorn's workers, Celery's) each count their own: with
``PROMETHEUS_MULTIPROC_DIR`` set (an empty directory, the same for every process of a
host, emptied when the host's services start) each process writes its counts there and
a scrape adds them up; without it (the demo, one process) a scrape reads this process.

Access: with ``OMS_METRICS_TOKEN`` set a scrape must send ``Authorization: Bearer
<token>``; without it only clients in ``OMS_METRICS_NETWORKS`` (loopback by default)
may scrape.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from django.conf import settings
from django.db.models import Count, Exists, Min, OuterRef
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from core.models import OutboxEvent
from core.security import client_ip
from fulfillment.models import RoutingDecision
from inventory.models import NetworkStock
from orders.models import HoldKind, Order, OrderHold, OrderStatus

# Counted in this process (or in the multiprocess directory).
PROCESS_REGISTRY = CollectorRegistry(auto_describe=True)

# Seconds; from a cached API read to a large order file import.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
TASK_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)

HTTP_REQUESTS = Counter(
    "oms_http_requests",
    "HTTP requests answered, by route pattern, method and status code.",
    ["route", "method", "status"],
    registry=PROCESS_REGISTRY,
)
HTTP_LATENCY = Histogram(
    "oms_http_request_duration_seconds",
    "Time to answer an HTTP request, by route pattern and method.",
    ["route", "method"],
    buckets=LATENCY_BUCKETS,
    registry=PROCESS_REGISTRY,
)
TASK_DURATION = Histogram(
    "oms_celery_task_duration_seconds",
    "Time a Celery task ran, by task name and final state (SUCCESS, RETRY, FAILURE).",
    ["task", "state"],
    buckets=TASK_BUCKETS,
    registry=PROCESS_REGISTRY,
)
TASK_FAILURES = Counter(
    "oms_celery_task_failures",
    "Celery task runs that raised, by task name and exception class.",
    ["task", "exception"],
    registry=PROCESS_REGISTRY,
)

# A request whose URL matches no route: one label for all of them, so a scan of
# random URLs cannot grow the number of series.
UNMATCHED_ROUTE = "<unmatched>"


def route_of(request: HttpRequest) -> str:
    """The URL pattern that answered (``api/v1/orders/<str:number>/``), never the URL
    itself, so that the number of series stays bounded."""
    match = getattr(request, "resolver_match", None)
    if match is None or not match.route:
        return UNMATCHED_ROUTE
    return str(match.route)


class RequestMetricsMiddleware:
    """Counts every request by route, method and status, and times it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        elapsed = time.perf_counter() - started
        route = route_of(request)
        method = request.method if request.method in KNOWN_METHODS else "other"
        HTTP_REQUESTS.labels(route, method, str(response.status_code)).inc()
        HTTP_LATENCY.labels(route, method).observe(elapsed)
        return response


KNOWN_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}


# --- Celery task hooks -------------------------------------------------------------
# Start times by task id: a worker process runs one task at a time (prefork or solo),
# and an inline (eager) task may run inside another, hence the id.
_task_started: dict[str, float] = {}


def task_started(task_id: str | None, **_: Any) -> None:
    if task_id:
        _task_started[task_id] = time.perf_counter()


def task_finished(
    task_id: str | None, task: Any = None, state: str | None = None, **_: Any
) -> None:
    started = _task_started.pop(task_id or "", None)
    if started is None or task is None:
        return
    TASK_DURATION.labels(task.name, state or "UNKNOWN").observe(time.perf_counter() - started)


def task_failed(sender: Any = None, exception: BaseException | None = None, **_: Any) -> None:
    name = getattr(sender, "name", None) or "unknown"
    TASK_FAILURES.labels(name, type(exception).__name__ if exception else "unknown").inc()


def connect_celery_hooks() -> None:
    """Time every task and count its failures, in whichever process runs it."""
    from celery import signals  # noqa: PLC0415 - Celery's own hooks, wired at start-up

    signals.task_prerun.connect(task_started, weak=False, dispatch_uid="oms-metrics-prerun")
    signals.task_postrun.connect(task_finished, weak=False, dispatch_uid="oms-metrics-postrun")
    signals.task_failure.connect(task_failed, weak=False, dispatch_uid="oms-metrics-failure")


# --- Read from the database at scrape time -------------------------------------------
class DatabaseCollector(Collector):
    """Figures the database holds, read when scraped: a handful of indexed queries."""

    def collect(self) -> Iterator[Any]:
        now = timezone.now()

        placed = CounterMetricFamily(
            "oms_orders_placed",
            "Orders placed since the start, by channel (drafts not counted until placed).",
            labels=["channel"],
        )
        rows = (
            Order.objects.filter(placed_at__isnull=False)
            .order_by()
            .values_list("channel")
            .annotate(count=Count("id"))
        )
        for channel, count in rows:
            placed.add_metric([channel], count)
        yield placed

        # Placed, not on hold, and not routed once yet: what routing still has to do.
        open_holds = OrderHold.objects.filter(order=OuterRef("pk"), released_at__isnull=True)
        unrouted = (
            Order.objects.filter(status=OrderStatus.PLACED)
            .exclude(Exists(open_holds))
            .exclude(Exists(RoutingDecision.objects.filter(order=OuterRef("pk"))))
            .order_by()
            .aggregate(count=Count("id"), oldest=Min("placed_at"))
        )
        yield GaugeMetricFamily(
            "oms_routing_backlog",
            "Placed orders not on hold that routing has not decided on yet.",
            value=unrouted["count"],
        )
        yield GaugeMetricFamily(
            "oms_routing_oldest_unrouted_age_seconds",
            "Age of the oldest order of the routing backlog (0 when it is empty).",
            value=_age(now, unrouted["oldest"]),
        )

        outbox = (
            OutboxEvent.objects.filter(published_at__isnull=True)
            .order_by()
            .aggregate(count=Count("id"), oldest=Min("created_at"))
        )
        yield GaugeMetricFamily(
            "oms_outbox_backlog",
            "Outbox events written but not published to the task queue yet.",
            value=outbox["count"],
        )
        yield GaugeMetricFamily(
            "oms_outbox_lag_seconds",
            "Age of the oldest unpublished outbox event (0 when all are published).",
            value=_age(now, outbox["oldest"]),
        )

        holds = GaugeMetricFamily(
            "oms_holds_open", "Holds not released yet, by kind.", labels=["kind"]
        )
        counts = dict(
            OrderHold.objects.filter(released_at__isnull=True)
            .order_by()
            .values_list("kind")
            .annotate(count=Count("id"))
        )
        for kind in HoldKind.values:
            holds.add_metric([kind], counts.get(kind, 0))
        yield holds

        yield GaugeMetricFamily(
            "oms_stockouts",
            "SKUs with no unit available to promise across the network.",
            value=NetworkStock.objects.filter(available__lte=0).count(),
        )


def _age(now: Any, oldest: Any) -> float:
    return max((now - oldest).total_seconds(), 0.0) if oldest else 0.0


class _ProcessCollector(Collector):
    """This process's counts, for a scrape registry of its own."""

    def collect(self) -> Iterable[Any]:
        return PROCESS_REGISTRY.collect()


def scrape() -> bytes:
    """Every metric in the text format: the processes' counts and the database's."""
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_ProcessCollector())
    registry.register(DatabaseCollector())
    return generate_latest(registry)


def may_scrape(request: HttpRequest) -> bool:
    token = settings.OMS_METRICS_TOKEN
    if token:
        sent = request.headers.get("Authorization", "")
        scheme, _, value = sent.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(
            value.strip().encode(), token.encode()
        )
    try:
        address = ipaddress.ip_address(client_ip(request))
    except ValueError:
        return False
    return any(
        address in ipaddress.ip_network(network, strict=False)
        for network in settings.OMS_METRICS_NETWORKS
    )


def metrics_view(request: HttpRequest) -> HttpResponse:
    """``GET /metrics``: for Prometheus, with the token or from an allowed network."""
    if not may_scrape(request):
        response = HttpResponse(
            "Metrics need the bearer token (OMS_METRICS_TOKEN) or a client in "
            "OMS_METRICS_NETWORKS.\n",
            status=401,
            content_type="text/plain; charset=utf-8",
        )
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    if request.method not in ("GET", "HEAD"):
        return HttpResponse(status=405, headers={"Allow": "GET, HEAD"})
    return HttpResponse(scrape(), content_type=CONTENT_TYPE_LATEST)
