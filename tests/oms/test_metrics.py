"""/metrics: Prometheus text for a scraper with the token (or on an allowed network),
requests counted by route and status, task runs timed, and the database's figures
(backlogs, holds, stock-outs) read at scrape time."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from core.models import OutboxEvent
from inventory.models import NetworkStock
from oms.tasks import notify_order_event, sweep_outbox
from orders.models import Channel, HoldKind, OrderHold, OrderStatus
from tests.factories import ProductFactory
from tests.orders.factories import OrderFactory

pytestmark = pytest.mark.django_db

TOKEN = "scrape-token-for-tests"
FAMILIES = {
    "oms_http_requests",
    "oms_http_request_duration_seconds",
    "oms_orders_placed",
    "oms_routing_backlog",
    "oms_routing_oldest_unrouted_age_seconds",
    "oms_outbox_backlog",
    "oms_outbox_lag_seconds",
    "oms_celery_task_duration_seconds",
    "oms_celery_task_failures",
    "oms_holds_open",
    "oms_stockouts",
}


@pytest.fixture
def token(settings):
    settings.OMS_METRICS_TOKEN = TOKEN
    return TOKEN


def scrape(client: Client | None = None) -> dict[str, dict[tuple, float]]:
    """The metrics, as {family: {(sample name, sorted labels): value}}."""
    response = (client or Client()).get(
        "/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}", REMOTE_ADDR="127.0.0.1"
    )
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=")
    families: dict[str, dict[tuple, float]] = {}
    for family in text_string_to_metric_families(response.content.decode()):
        samples = families.setdefault(family.name, {})
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return families


def value(families, family: str, sample: str, **labels: str) -> float:
    return families[family].get((sample, tuple(sorted(labels.items()))), 0.0)


def test_without_the_token_a_scrape_is_refused(token):
    client = Client()

    missing = client.get("/metrics", REMOTE_ADDR="127.0.0.1")
    wrong = client.get("/metrics", HTTP_AUTHORIZATION="Bearer not-it", REMOTE_ADDR="127.0.0.1")
    basic = client.get("/metrics", HTTP_AUTHORIZATION=f"Basic {TOKEN}", REMOTE_ADDR="127.0.0.1")

    for response in (missing, wrong, basic):
        assert response.status_code == 401
        assert response["WWW-Authenticate"] == 'Bearer realm="metrics"'
        assert b"oms_" not in response.content


def test_with_the_token_every_family_is_there(token):
    families = scrape()

    assert set(families) >= FAMILIES


def test_without_a_token_only_the_allowed_networks_may_scrape(settings):
    settings.OMS_METRICS_TOKEN = ""
    settings.OMS_METRICS_NETWORKS = ["10.1.0.0/16"]
    client = Client()

    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="10.2.0.1").status_code == 401
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 401


def test_a_request_is_counted_under_its_route_and_status(token):
    before = scrape()

    Client().get("/healthz")
    Client().get("/no/such/page/12345")

    after = scrape()
    total = "oms_http_requests_total"
    assert value(
        after, "oms_http_requests", total, route="healthz", method="GET", status="200"
    ) == (
        value(before, "oms_http_requests", total, route="healthz", method="GET", status="200") + 1
    )
    unmatched = {"route": "<unmatched>", "method": "GET", "status": "404"}
    assert value(after, "oms_http_requests", total, **unmatched) == (
        value(before, "oms_http_requests", total, **unmatched) + 1
    )
    # The URL itself never becomes a label: one series for every unknown URL.
    assert not any("12345" in str(key) for key in after["oms_http_requests"])
    count = "oms_http_request_duration_seconds_count"
    assert (
        value(after, "oms_http_request_duration_seconds", count, route="healthz", method="GET")
        == value(before, "oms_http_request_duration_seconds", count, route="healthz", method="GET")
        + 1
    )


def test_the_database_figures_reflect_the_rows(token, django_assert_num_queries):
    now = timezone.now()
    # Two web orders and a B2B one placed; one web order on hold; a draft not counted.
    waiting = OrderFactory(channel=Channel.WEB, placed_at=now - timedelta(minutes=10))
    held = OrderFactory(channel=Channel.WEB)
    OrderFactory(channel=Channel.B2B_API, placed_at=now - timedelta(minutes=2))
    OrderFactory(channel=Channel.WEB, status=OrderStatus.DRAFT, placed_at=None)
    OrderHold.objects.create(order=held, kind=HoldKind.FRAUD_REVIEW, reason="review")
    # Two events not published, the older one five minutes old; one published.
    old = OutboxEvent.objects.create(topic="order.placed", payload={"order_id": waiting.pk})
    OutboxEvent.objects.filter(pk=old.pk).update(created_at=now - timedelta(minutes=5))
    OutboxEvent.objects.create(topic="order.placed", payload={"order_id": held.pk})
    OutboxEvent.objects.create(topic="order.placed", payload={}, published_at=now)
    # Of three SKUs, one has units to promise.
    in_stock, *_ = (ProductFactory() for _ in range(3))
    NetworkStock.objects.filter(product=in_stock).update(available=5)

    with django_assert_num_queries(5):
        families = scrape()

    assert value(families, "oms_orders_placed", "oms_orders_placed_total", channel="web") == 2
    assert value(families, "oms_orders_placed", "oms_orders_placed_total", channel="b2b_api") == 1
    assert value(families, "oms_routing_backlog", "oms_routing_backlog") == 2
    oldest = value(
        families,
        "oms_routing_oldest_unrouted_age_seconds",
        "oms_routing_oldest_unrouted_age_seconds",
    )
    assert 600 <= oldest < 660
    assert value(families, "oms_outbox_backlog", "oms_outbox_backlog") == 2
    assert 300 <= value(families, "oms_outbox_lag_seconds", "oms_outbox_lag_seconds") < 360
    assert value(families, "oms_holds_open", "oms_holds_open", kind="fraud_review") == 1
    assert value(families, "oms_holds_open", "oms_holds_open", kind="payment") == 0
    assert (
        value(families, "oms_stockouts", "oms_stockouts")
        == NetworkStock.objects.filter(available=0).count()
    )
    assert NetworkStock.objects.filter(available=0).count() >= 2


def test_an_empty_backlog_is_zero_old(token):
    families = scrape()

    assert value(families, "oms_routing_backlog", "oms_routing_backlog") == 0
    assert (
        value(
            families,
            "oms_routing_oldest_unrouted_age_seconds",
            "oms_routing_oldest_unrouted_age_seconds",
        )
        == 0
    )
    assert value(families, "oms_outbox_lag_seconds", "oms_outbox_lag_seconds") == 0


def test_task_runs_are_timed_and_failures_counted(token):
    # An event whose order does not exist: its handling fails, the run fails.
    broken = OutboxEvent.objects.create(topic="order.placed", payload={"order_id": 0})
    before = scrape()

    sweep_outbox.apply()
    notify_order_event.apply(args=[[broken.pk]], throw=False)

    after = scrape()
    durations = "oms_celery_task_duration_seconds"
    count = f"{durations}_count"
    assert value(after, durations, count, task="oms.sweep_outbox", state="SUCCESS") == (
        value(before, durations, count, task="oms.sweep_outbox", state="SUCCESS") + 1
    )
    assert value(after, durations, count, task="oms.notify_order_event", state="FAILURE") == (
        value(before, durations, count, task="oms.notify_order_event", state="FAILURE") + 1
    )
    failures = "oms_celery_task_failures_total"
    labels = {"task": "oms.notify_order_event", "exception": "DoesNotExist"}
    assert value(after, "oms_celery_task_failures", failures, **labels) == (
        value(before, "oms_celery_task_failures", failures, **labels) + 1
    )
