"""Structured logs: every line of a request and of the tasks it causes carries the
request's id (the caller's X-Request-ID or a new one), its order and its API client;
task lines carry the task's id; the production format is one JSON object per line."""

import io
import json
import logging
import subprocess
import sys
from collections.abc import Iterator

import pytest
import sentry_sdk
from django.conf import settings
from django.core.cache import caches

from core import logging_context, refcache
from core.models import OutboxEvent
from customers.api_keys import create_api_key
from oms.logging import ContextFilter, JsonFormatter, TextFormatter
from oms.tasks import notify_order_event
from orders.models import Order
from tests.api.conftest import api_client
from tests.api.support import order_body, post_order
from tests.factories import CompanyFactory

pytestmark = pytest.mark.django_db


class Lines:
    """What the production handler wrote, one JSON object per line."""

    def __init__(self, stream: io.StringIO) -> None:
        self.stream = stream

    def all(self) -> list[dict]:
        return [json.loads(line) for line in self.stream.getvalue().splitlines()]

    def clear(self) -> None:
        self.stream.seek(0)
        self.stream.truncate()


@pytest.fixture
def lines() -> Iterator[Lines]:
    """The root logger writes JSON lines (the production handler) into a buffer."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield Lines(stream)
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


@pytest.fixture(autouse=True)
def _fresh_caches():
    """API keys and reference rows are cached per process: none from another test."""
    refcache.clear()
    for cache in caches.all():
        cache.clear()
    yield
    refcache.clear()


@pytest.fixture
def company(db):
    return CompanyFactory(credit_limit=10**6)


@pytest.fixture
def api(buyer, company):
    return api_client(create_api_key(company=company, name="erp").raw_key)


def test_a_request_and_the_tasks_it_causes_share_its_request_id(
    lines, api, company, stocked, address, standard, django_capture_on_commit_callbacks, settings
):
    settings.OMS_AUTO_ROUTE = True
    # The request relays its events once it commits; their tasks run inline.
    with django_capture_on_commit_callbacks(execute=True):
        response = post_order(
            api,
            order_body([(stocked[0].sku, 1)], address),
            "log-1",
            HTTP_X_REQUEST_ID="req-7f3a",
        )

    assert response.status_code == 201, response.content
    assert response["X-Request-ID"] == "req-7f3a"
    order = Order.objects.get()
    written = lines.all()
    [request_line] = [line for line in written if line["logger"] == "oms.request"]
    assert request_line["request_id"] == "req-7f3a"
    assert request_line["status"] == 201
    assert request_line["api_client"] == f"{company.account_number}/erp"
    # The tasks the order caused ran (inline here) with the request's id and their own.
    task_lines = [line for line in written if line["logger"] == "oms.task"]
    assert {line["task"] for line in task_lines} >= {
        "oms.notify_order_event",
        "fulfillment.route_order_event",
    }
    for line in task_lines:
        assert line["request_id"] == "req-7f3a"
        assert line["api_client"] == f"{company.account_number}/erp"
        assert line["task_id"] not in ("", "-", None)
        assert line["state"] == "SUCCESS"

    # The event carries the request's fields, so a worker in another process that
    # handles it later (a relay process published it) logs them too.
    event = OutboxEvent.objects.get(topic="order.placed", payload__order_id=order.pk)
    assert event.payload["log"] == {
        "request_id": "req-7f3a",
        "api_client": f"{company.account_number}/erp",
    }
    lines.clear()
    assert logging_context.current() == {}
    notify_order_event.apply(args=[[event.pk]])
    [task_line] = [line for line in lines.all() if line["logger"] == "oms.task"]
    assert task_line["request_id"] == "req-7f3a"
    assert task_line["order_id"] == str(order.pk)
    assert task_line["task"] == "oms.notify_order_event"
    # Nothing stays bound once the task is done.
    assert logging_context.current() == {}


def test_an_order_url_logs_its_order_number(lines, api, company, stocked, address, standard):
    post_order(api, order_body([(stocked[0].sku, 1)], address), "log-2")
    order = Order.objects.get()
    lines.clear()

    response = api.get(f"/api/v1/orders/{order.number}/")

    assert response.status_code == 200
    [request_line] = [line for line in lines.all() if line["logger"] == "oms.request"]
    assert request_line["order"] == order.number
    assert request_line["path"] == f"/api/v1/orders/{order.number}/"
    assert response["X-Request-ID"] == request_line["request_id"]


def test_without_a_usable_request_id_a_new_one_is_made(lines, client):
    plain = client.get("/healthz")
    unusable = client.get("/healthz", HTTP_X_REQUEST_ID="x" * 300)
    injected = client.get("/healthz", HTTP_X_REQUEST_ID='a"b\nc')

    ids = [response["X-Request-ID"] for response in (plain, unusable, injected)]
    assert len(set(ids)) == 3
    assert all(len(request_id) == 32 and request_id.isalnum() for request_id in ids)
    assert [line["request_id"] for line in lines.all()] == ids


def test_json_lines_parse_and_carry_extra_fields_and_tracebacks(lines):
    logger = logging.getLogger("oms.test")
    with logging_context.bound(request_id="r-1", order="SO-100", api_client="ACME/erp"):
        try:
            int('broken "quote" and\nnewline')
        except ValueError:
            logger.exception("it failed for %s", "SO-100", extra={"attempt": 3})
    logger.warning("outside")

    first, second = lines.all()
    assert first["level"] == "ERROR"
    assert first["message"] == "it failed for SO-100"
    assert first["attempt"] == 3
    assert (first["request_id"], first["order"], first["api_client"]) == (
        "r-1",
        "SO-100",
        "ACME/erp",
    )
    assert "ValueError: invalid literal" in first["exception"]
    assert first["time"].endswith("+00:00")
    assert second["message"] == "outside"
    assert "request_id" not in second


def test_the_demo_writes_readable_lines():
    record = logging.LogRecord("oms.request", logging.INFO, __file__, 1, "GET / 200", None, None)
    formatter = TextFormatter("%(levelname)s %(name)s | %(message)s")
    with logging_context.bound(request_id="r-2", order="SO-7"):
        ContextFilter().filter(record)
    assert formatter.format(record) == "INFO oms.request [request_id=r-2 order=SO-7] GET / 200"


def test_production_logs_json_and_the_demo_text():
    script = (
        "import django, logging; django.setup(); from django.conf import settings; "
        "print(settings.LOGGING['handlers']['console']['formatter'])"
    )
    formats = {}
    for module in ("oms.settings.base", "oms.settings.local"):
        formats[module] = subprocess.run(
            [sys.executable, "-c", script],
            env={"DJANGO_SETTINGS_MODULE": module, "SECRET_KEY": "x", "PATH": "/usr/bin"},
            capture_output=True,
            text=True,
            check=True,
            cwd=settings.BASE_DIR,
        ).stdout.strip()
    assert formats == {"oms.settings.base": "json", "oms.settings.local": "text"}


def test_the_error_tracker_is_off_without_a_dsn():
    assert settings.SENTRY_DSN == ""
    assert not sentry_sdk.get_client().is_active()


def test_the_error_tracker_starts_with_a_dsn():
    script = (
        "import django; django.setup(); import sentry_sdk; "
        "client = sentry_sdk.get_client(); "
        "print(client.is_active(), client.dsn, client.options['send_default_pii'])"
    )
    dsn = "https://public@errors.example.invalid/42"
    result = subprocess.run(
        [sys.executable, "-c", script],
        env={
            "DJANGO_SETTINGS_MODULE": "oms.settings.base",
            "SECRET_KEY": "x",
            "SENTRY_DSN": dsn,
            "PATH": "/usr/bin",
        },
        capture_output=True,
        text=True,
        check=True,
        cwd=settings.BASE_DIR,
    )
    assert result.stdout.split() == ["True", dsn, "False"]
