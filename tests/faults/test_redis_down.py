"""Redis (the broker) killed under a stream of API orders, and restarted after
``REDIS_DOWN_SECONDS``: every order is accepted (201), and once Redis is back every
order gets its confirmation e-mail and its routing, none of them twice.

Real processes: a Redis server of the test's own, the outbox relay
(``manage.py relay_outbox``) and a Celery worker; the orders go through the WSGI
app in this process, as production requests do (``OMS_OUTBOX_RELAY=process``: a
request only writes its outbox row). The suite keeps Redis down for 12 s; the figures
in docs/operations.md come from a 30 s run:

    FAULT_REDIS_DOWN_SECONDS=30 pytest -n 0 -s tests/faults/test_redis_down.py
"""

import os
import time
import uuid

import pytest
from django.core.management import call_command

from tests.api.support import order_body, post_order
from tests.oms.test_notification_worker_killed import celery_worker

from .processes import database_url, queue_drained, relay_process, throwaway_redis, wait_until
from .support import confirmed, delivery_figures, routed

REDIS_DOWN_SECONDS = float(os.environ.get("FAULT_REDIS_DOWN_SECONDS", "12"))
# Seconds between two orders of the stream, and the stream before and after the outage.
ORDER_EVERY = 0.25
BEFORE_SECONDS = 2.0
AFTER_SECONDS = 3.0
DELIVERY_SECONDS = 90

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_orders_placed_while_redis_is_down_are_accepted_and_delivered_once(
    api, stocked, address, standard, tmp_path, settings
):
    # Requests only write their outbox rows; the relay process publishes them.
    settings.OMS_OUTBOX_RELAY = "process"
    settings.CELERY_TASK_ALWAYS_EAGER = False
    mail_dir, worker_log = tmp_path / "mail", tmp_path / "worker.log"
    relay_log = tmp_path / "relay.log"
    mail_dir.mkdir()
    queue = f"fault-redis-{uuid.uuid4().hex[:12]}"
    numbers: list[str] = []
    statuses: list[int] = []

    def place(index: int) -> None:
        sku = stocked[index % len(stocked)].sku
        response = post_order(api, order_body([(sku, 1)], address), f"redis-down-{index}")
        statuses.append(response.status_code)
        if response.status_code == 201:
            numbers.append(response.json()["number"])

    def stream(seconds: float, start: int) -> int:
        placed, deadline = start, time.monotonic() + seconds
        while time.monotonic() < deadline:
            place(placed)
            placed += 1
            time.sleep(ORDER_EVERY)
        return placed

    with throwaway_redis() as broker:
        broker_env = {"CELERY_BROKER_URL": broker.url, "CELERY_QUEUE": queue}
        with (
            celery_worker(
                queue,
                worker_log,
                EMAIL_FILE_PATH=str(mail_dir),
                OMS_AUTO_ROUTE="true",
                **broker_env,
            ),
            relay_process(
                relay_log,
                DATABASE_URL=database_url(),
                CELERY_TASK_ALWAYS_EAGER="false",
                **broker_env,
            ),
        ):
            # Given orders flowing and delivered,
            placed = stream(BEFORE_SECONDS, 0)
            wait_until(
                lambda: confirmed(numbers) == len(numbers) and routed(numbers) == len(numbers),
                "the first orders' effects",
                seconds=DELIVERY_SECONDS,
                log=worker_log,
            )

            # when Redis dies and stays down while orders keep coming,
            broker.kill()
            down_at = time.monotonic()
            placed = stream(REDIS_DOWN_SECONDS, placed)
            during = len(numbers)
            # (nothing can have been delivered for them)
            broker.start()
            outage = time.monotonic() - down_at
            placed = stream(AFTER_SECONDS, placed)

            # then every order was accepted,
            assert set(statuses) == {201}, statuses
            assert len(numbers) == placed
            # and once Redis is back every order is e-mailed and routed,
            wait_until(
                lambda: confirmed(numbers) == len(numbers) and routed(numbers) == len(numbers),
                "every order's e-mail and routing",
                seconds=DELIVERY_SECONDS,
                log=worker_log,
            )
            # (the queue drained: any redelivered message has been handled)
            client = broker.client()
            wait_until(
                lambda: queue_drained(client, queue),
                "the queue to drain",
                seconds=DELIVERY_SECONDS,
                log=worker_log,
            )

    # once each, with nothing lost and every invariant holding.
    figures = delivery_figures(
        fault=f"Redis killed (SIGKILL) for {REDIS_DOWN_SECONDS:g} s, {during} orders meanwhile",
        outage_seconds=outage,
        numbers=numbers,
        refused=len(statuses) - len(numbers),
        mail_dir=mail_dir,
    )
    print(figures.report())  # noqa: T201 (the figures of docs/operations.md)
    assert figures.emails_sent == figures.orders_routed == len(numbers)
    assert figures.duplicates == 0
    assert figures.lost == 0
    call_command("check_integrity")
