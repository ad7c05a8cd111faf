"""PostgreSQL restarted under a stream of API orders: requests during the outage get
503 problem+json with Retry-After (never a 500), readiness says "not ready", the API,
the relay and the worker recover by themselves once the server is back, and no order
is half written: each has its lines, events and outbox row, each idempotency key made
one order, every order is e-mailed and routed once, and ``check_integrity`` passes.

Real processes, on a PostgreSQL server of the test's own (a copy of the test
database): the API under gunicorn with the production settings, the outbox relay and a
Celery worker (on the shared Redis). The suite keeps the server down for 5 s; the
figures in docs/operations.md come from a longer run:

    FAULT_POSTGRES_DOWN_SECONDS=30 pytest -n 0 -s tests/faults/test_postgres_restart.py
"""

import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import dj_database_url
import pytest
import redis
import requests
from django.core.management import call_command
from django.db import connection

from core.models import OutboxEvent
from fulfillment.models import RoutingDecision
from orders.models import Order, OrderEvent, OrderLine
from tests.api.support import PROBLEM, order_body
from tests.oms.test_notification_worker_killed import REDIS_URL, celery_worker

from .processes import (
    api_server,
    copy_test_database,
    production_env,
    queue_drained,
    relay_process,
    run_check_integrity,
    throwaway_postgres,
    wait_until,
)
from .support import confirmed, delivery_figures, routed

POSTGRES_DOWN_SECONDS = float(os.environ.get("FAULT_POSTGRES_DOWN_SECONDS", "5"))
ORDER_EVERY = 0.2
BEFORE_SECONDS = 2.0
AFTER_SECONDS = 3.0
DELIVERY_SECONDS = 90
REQUEST_TIMEOUT = 15

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@contextmanager
def django_connected_to(url: str) -> Iterator[None]:
    """Point this process's default connection at another database for a while (to
    count with the ORM what the processes wrote there), then back."""
    saved = dict(connection.settings_dict)
    target = dj_database_url.parse(url)
    connection.close()
    connection.settings_dict.update(
        {key: target[key] for key in ("NAME", "USER", "PASSWORD", "HOST", "PORT")}
    )
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)


def test_a_postgres_restart_answers_503_and_loses_no_order(
    issued_key, stocked, address, standard, tmp_path
):
    mail_dir = tmp_path / "mail"
    mail_dir.mkdir()
    logs = {name: tmp_path / f"{name}.log" for name in ("api", "relay", "worker")}
    queue = f"fault-pg-{uuid.uuid4().hex[:12]}"
    headers = {"Authorization": f"Bearer {issued_key.raw_key}"}
    answers: dict[str, list[requests.Response]] = {}
    redis.Redis.from_url(REDIS_URL, socket_timeout=2).ping()

    def post(key: str, sku: str) -> requests.Response:
        response = requests.post(
            f"{base}/api/v1/orders/",
            json=order_body([(sku, 1)], address),
            headers={**headers, "Idempotency-Key": key},
            timeout=REQUEST_TIMEOUT,
        )
        answers.setdefault(key, []).append(response)
        return response

    def stream(seconds: float) -> list[requests.Response]:
        sent, deadline = [], time.monotonic() + seconds
        while time.monotonic() < deadline:
            index = len(answers)
            sent.append(post(f"pg-{index}", stocked[index % len(stocked)].sku))
            time.sleep(ORDER_EVERY)
        return sent

    def ready() -> requests.Response:
        return requests.get(f"{base}/readyz", timeout=REQUEST_TIMEOUT)

    with throwaway_postgres() as server:
        database = copy_test_database(server)
        broker = {"CELERY_BROKER_URL": REDIS_URL, "CELERY_QUEUE": queue}
        api_env = production_env(
            database, REDIS_URL=REDIS_URL, CELERY_QUEUE=queue, OMS_OUTBOX_RELAY="process"
        )
        try:
            with (
                api_server(logs["api"], api_env) as base,
                relay_process(
                    logs["relay"],
                    DATABASE_URL=database,
                    CELERY_TASK_ALWAYS_EAGER="false",
                    **broker,
                ),
                celery_worker(
                    queue,
                    logs["worker"],
                    DATABASE_URL=database,
                    EMAIL_FILE_PATH=str(mail_dir),
                    OMS_AUTO_ROUTE="true",
                    **broker,
                ),
            ):
                # Given orders flowing,
                before = stream(BEFORE_SECONDS)
                assert {r.status_code for r in before} == {201}, [r.text for r in before]
                assert ready().status_code == 200

                # when PostgreSQL stops and stays down while orders keep coming,
                server.stop("fast")
                stopped_at = time.monotonic()
                during = stream(POSTGRES_DOWN_SECONDS)
                not_ready = ready()
                server.start()
                outage = time.monotonic() - stopped_at

                # then each request meanwhile got a 503 problem with Retry-After,
                for response in during:
                    assert response.status_code == 503, response.text
                    assert response.headers["Content-Type"] == PROBLEM
                    assert response.headers["Retry-After"] == "5"
                    assert response.json()["code"] == "service_unavailable"
                # and readiness said "not ready" (while liveness stays up);
                assert not_ready.status_code == 503
                assert not_ready.headers["Retry-After"] == "5"
                assert not_ready.json()["checks"]["database"].startswith("error")

                # once it is back the same processes serve again, unrestarted,
                after = stream(AFTER_SECONDS)
                assert {r.status_code for r in after} == {201}, [r.text for r in after]
                assert ready().status_code == 200
                # and a client retrying what was refused, with its key, gets one order.
                for key, responses in list(answers.items()):
                    if responses[-1].status_code != 201:
                        retried = post(key, stocked[int(key.split("-")[1]) % len(stocked)].sku)
                        assert retried.status_code == 201, retried.text
                numbers = [responses[-1].json()["number"] for responses in answers.values()]
                assert len(set(numbers)) == len(answers)

                with django_connected_to(database):
                    wait_until(
                        lambda: (
                            confirmed(numbers) == len(numbers) and routed(numbers) == len(numbers)
                        ),
                        "every order's e-mail and routing",
                        seconds=DELIVERY_SECONDS,
                        log=logs["worker"],
                    )
                    client = redis.Redis.from_url(REDIS_URL, socket_timeout=2)
                    wait_until(
                        lambda: queue_drained(client, queue),
                        "the queue to drain",
                        seconds=DELIVERY_SECONDS,
                        log=logs["worker"],
                    )

                    # No order is half written: one per key, each with its lines, its
                    # timeline and its outbox row,
                    orders = Order.objects.all()
                    assert sorted(orders.values_list("number", flat=True)) == sorted(numbers)
                    for order in orders:
                        assert OrderLine.objects.filter(order=order).exists(), order.number
                        assert OrderEvent.objects.filter(order=order).exists(), order.number
                        assert OutboxEvent.objects.filter(
                            topic="order.placed", payload__order_id=order.pk
                        ).exists(), order.number
                    assert RoutingDecision.objects.count() >= len(numbers)
                    figures = delivery_figures(
                        fault=(
                            f"PostgreSQL stopped for {POSTGRES_DOWN_SECONDS:g} s, "
                            f"{len(during)} requests meanwhile"
                        ),
                        outage_seconds=outage,
                        numbers=numbers,
                        refused=len(during),
                        mail_dir=mail_dir,
                    )
                    call_command("check_integrity")
        except BaseException:
            for name, path in logs.items():
                if path.exists():
                    print(f"--- {name} log ---\n{path.read_text(errors='replace')[-4000:]}")  # noqa: T201
            raise

        # every invariant holds (the command, as an operator runs it: exit status 0),
        status, output = run_check_integrity(database)
        assert status == 0, output

    # and every effect was delivered once.
    print(figures.report())  # noqa: T201 (the figures of docs/operations.md)
    assert figures.emails_sent == figures.orders_routed == len(numbers)
    assert figures.duplicates == 0
    assert figures.lost == 0
