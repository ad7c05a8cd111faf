import threading
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from core import outbox
from core.models import OutboxEvent
from oms.celery import app
from tests.api.support import celery_publishing_to

pytestmark = pytest.mark.django_db(transaction=True)

DEAD_BROKER = "redis://127.0.0.1:6390/0"  # nothing listens there
NOTIFY, ROUTE, PARTNER, INVOICE, AUTHORISE = (
    "oms.notify_order_event",
    "fulfillment.route_order_event",
    "fulfillment.notify_partner",
    "billing.invoice_shipment_event",
    "billing.authorise_order_event",
)
WEBHOOKS = "webhooks.fan_out_event"
# BEGIN; unpublished events SELECT ... FOR UPDATE SKIP LOCKED; stamping UPDATE; COMMIT.
POLL_QUERIES = 4


def unpublished(topic: str, count: int) -> list[int]:
    """``count`` events as a request in relay-process mode leaves them: written, not
    yet published."""
    events = OutboxEvent.objects.bulk_create(
        OutboxEvent(topic=topic, payload={"order_id": n}) for n in range(count)
    )
    return [event.pk for event in events]


def by_task(messages) -> dict[str, list[int]]:
    found: dict[str, list[int]] = {}
    for message in messages:
        assert message.task not in found, f"{message.task} published twice"
        [found[message.task]] = message.args
    return found


def test_in_process_mode_requests_leave_publishing_to_the_relay(settings, broker):
    settings.OMS_OUTBOX_RELAY = "process"
    with transaction.atomic():
        placed = outbox.emit("order.placed", {"order_id": 1})
        outbox.emit("tracking.in_transit", {"order_id": 2, "shipment_id": 2})

    assert OutboxEvent.objects.filter(published_at__isnull=True).count() == 2
    assert broker.take() == []

    call_command("relay_outbox", "--once")

    assert OutboxEvent.objects.filter(published_at__isnull=True).count() == 0
    assert by_task(broker.take()) == {
        NOTIFY: [placed.pk],
        ROUTE: [placed.pk],
        AUTHORISE: [placed.pk],
        WEBHOOKS: [placed.pk],
    }
    assert outbox.sweep(older_than=timedelta(0)) == 0


def test_after_commit_mode_publishes_from_the_request(settings):
    settings.OMS_OUTBOX_RELAY = "after_commit"
    with transaction.atomic():
        outbox.emit("tracking.in_transit", {"order_id": 1, "shipment_id": 1})

    assert OutboxEvent.objects.get().published_at is not None


def test_after_commit_mode_sends_the_event_as_a_batch_of_one(settings, broker):
    settings.OMS_OUTBOX_RELAY = "after_commit"
    with transaction.atomic():
        event = outbox.emit("order.placed", {"order_id": 1})

    assert by_task(broker.take()) == {
        NOTIFY: [event.pk],
        ROUTE: [event.pk],
        AUTHORISE: [event.pk],
        WEBHOOKS: [event.pk],
    }
    event.refresh_from_db()
    assert (event.published_at is not None, event.attempts) == (True, 1)


def test_a_batch_is_published_as_one_message_per_consuming_task(broker):
    placed = unpublished("order.placed", 6)
    created = unpublished("fulfillment.created", 2)
    in_transit = unpublished("tracking.in_transit", 1)  # nobody consumes it

    assert outbox.sweep(older_than=timedelta(0)) == 9

    assert by_task(broker.take()) == {
        NOTIFY: placed,
        ROUTE: placed,
        AUTHORISE: placed,
        WEBHOOKS: placed,
        PARTNER: created,
    }
    events = OutboxEvent.objects.filter(pk__in=placed + created + in_transit)
    assert all(event.published_at is not None for event in events)
    assert {(event.attempts, event.last_error) for event in events} == {(1, "")}


@pytest.mark.parametrize("count", [1, 10, 100])
def test_a_poll_runs_the_same_statements_whatever_the_number_of_events(broker, count):
    placed = unpublished("order.placed", count)

    with CaptureQueriesContext(connection) as queries:
        assert outbox.sweep(older_than=timedelta(0)) == count

    sql = [query["sql"] for query in queries.captured_queries]
    assert len(sql) == POLL_QUERIES, sql
    assert "FOR UPDATE SKIP LOCKED" in sql[1]
    assert by_task(broker.take()) == {
        NOTIFY: placed,
        ROUTE: placed,
        AUTHORISE: placed,
        WEBHOOKS: placed,
    }


def run_relay_for(polls: int) -> None:
    calls = []

    def stop() -> bool:
        calls.append(1)
        return len(calls) > polls

    outbox.run_relay(poll_seconds=0, stop=stop)


@pytest.mark.parametrize("count", [1, 50])
def test_the_relay_process_costs_one_query_per_idle_poll(broker, count):
    with CaptureQueriesContext(connection) as idle:
        run_relay_for(polls=3)
    assert len(idle.captured_queries) == 3
    assert broker.take() == []

    placed = unpublished("order.placed", count)
    with CaptureQueriesContext(connection) as busy:
        run_relay_for(polls=1)

    # The idle probe, then one poll.
    assert len(busy.captured_queries) == 1 + POLL_QUERIES
    assert by_task(broker.take()) == {
        NOTIFY: placed,
        ROUTE: placed,
        AUTHORISE: placed,
        WEBHOOKS: placed,
    }
    assert not OutboxEvent.objects.filter(published_at__isnull=True).exists()


def test_the_relay_process_drains_a_backlog_batch_by_batch(broker):
    placed = unpublished("order.placed", 5)
    messages = []

    def stop() -> bool:
        messages.extend(broker.take())
        return len(messages) >= 12

    with CaptureQueriesContext(connection) as queries:
        outbox.run_relay(poll_seconds=0, batch=2, stop=stop)

    # The idle probe, then three polls: 2 + 2 + 1 events.
    assert len(queries.captured_queries) == 1 + 3 * POLL_QUERIES
    assert [(m.task, m.args) for m in messages] == [
        (NOTIFY, [placed[0:2]]),
        (ROUTE, [placed[0:2]]),
        (AUTHORISE, [placed[0:2]]),
        (WEBHOOKS, [placed[0:2]]),
        (NOTIFY, [placed[2:4]]),
        (ROUTE, [placed[2:4]]),
        (AUTHORISE, [placed[2:4]]),
        (WEBHOOKS, [placed[2:4]]),
        (NOTIFY, [placed[4:5]]),
        (ROUTE, [placed[4:5]]),
        (AUTHORISE, [placed[4:5]]),
        (WEBHOOKS, [placed[4:5]]),
    ]


def test_the_relay_loop_stops_when_asked():
    calls = []

    def stop() -> bool:
        calls.append(1)
        return len(calls) > 2

    outbox.run_relay(poll_seconds=0, stop=stop)

    assert len(calls) == 3


def test_a_dead_broker_leaves_events_for_a_later_sweep(broker):
    placed = unpublished("order.placed", 3)

    with celery_publishing_to(DEAD_BROKER):
        assert outbox.sweep(older_than=timedelta(0)) == 0

    events = OutboxEvent.objects.filter(pk__in=placed)
    assert [event.published_at for event in events] == [None] * 3
    assert [event.attempts for event in events] == [1] * 3
    assert all(event.last_error.startswith(NOTIFY) for event in events)

    with celery_publishing_to(broker.url, queue=broker.queue):
        assert outbox.sweep(older_than=timedelta(0)) == 3

    assert by_task(broker.take()) == {
        NOTIFY: placed,
        ROUTE: placed,
        AUTHORISE: placed,
        WEBHOOKS: placed,
    }
    events = OutboxEvent.objects.filter(pk__in=placed)
    assert all(event.published_at is not None for event in events)
    assert {(event.attempts, event.last_error) for event in events} == {(2, "")}


def test_a_refused_message_leaves_only_its_events_unpublished(broker, monkeypatch):
    placed = unpublished("order.placed", 2)
    shipped = unpublished("shipment.created", 2)
    send_task = app.send_task

    def refusing_routing(name, *args, **kwargs):
        if name == ROUTE:
            raise ConnectionError("queue full")
        return send_task(name, *args, **kwargs)

    monkeypatch.setattr(app, "send_task", refusing_routing)

    assert outbox.sweep(older_than=timedelta(0)) == 2

    assert by_task(broker.take()) == {
        NOTIFY: placed + shipped,
        AUTHORISE: placed,
        INVOICE: shipped,
        WEBHOOKS: placed + shipped,
    }
    refused = OutboxEvent.objects.filter(pk__in=placed)
    assert [(event.published_at, event.attempts) for event in refused] == [(None, 1)] * 2
    assert {event.last_error for event in refused} == {f"{ROUTE}: queue full"}
    assert not OutboxEvent.objects.filter(pk__in=shipped, published_at__isnull=True).exists()

    monkeypatch.setattr(app, "send_task", send_task)
    assert outbox.sweep(older_than=timedelta(0)) == 2
    # Their e-mails go out twice; the notification's dedupe claim sends one.
    assert by_task(broker.take()) == {
        NOTIFY: placed,
        ROUTE: placed,
        AUTHORISE: placed,
        WEBHOOKS: placed,
    }


def test_a_poll_skips_the_events_another_relay_is_publishing(broker, monkeypatch):
    placed = unpublished("order.placed", 4)
    send_task = app.send_task
    publishing, resume = threading.Event(), threading.Event()

    def slow_in_the_other_relay(name, *args, **kwargs):
        if threading.current_thread() is other:
            publishing.set()
            assert resume.wait(10)
        return send_task(name, *args, **kwargs)

    monkeypatch.setattr(app, "send_task", slow_in_the_other_relay)
    published = {}

    def other_relay() -> None:
        try:
            published["other"] = outbox.sweep(older_than=timedelta(0))
        finally:
            connection.close()

    other = threading.Thread(target=other_relay)
    other.start()
    try:
        assert publishing.wait(10)
        # While the other relay publishes, a poll here finds nothing it may claim,
        assert outbox.sweep(older_than=timedelta(0)) == 0
        # and a new event is not held up by it.
        [late] = unpublished("order.placed", 1)
        assert outbox.sweep(older_than=timedelta(0)) == 1
    finally:
        resume.set()
        other.join(10)

    assert published == {"other": 4}
    messages = broker.take()
    assert sorted((m.task, m.args) for m in messages) == sorted(
        [
            (NOTIFY, [[late]]),
            (ROUTE, [[late]]),
            (AUTHORISE, [[late]]),
            (WEBHOOKS, [[late]]),
            (NOTIFY, [placed]),
            (ROUTE, [placed]),
            (AUTHORISE, [placed]),
            (WEBHOOKS, [placed]),
        ]
    )
    assert outbox.sweep(older_than=timedelta(0)) == 0
    assert broker.take() == []


def test_the_sweep_leaves_recent_events_to_the_relay(broker):
    placed = unpublished("order.placed", 2)

    assert outbox.sweep(older_than=timedelta(minutes=1)) == 0
    assert broker.take() == []

    OutboxEvent.objects.filter(pk=placed[0]).update(
        created_at=OutboxEvent.objects.get(pk=placed[0]).created_at - timedelta(minutes=2)
    )
    assert outbox.sweep(older_than=timedelta(minutes=1)) == 1
    assert by_task(broker.take()) == {
        NOTIFY: placed[:1],
        ROUTE: placed[:1],
        AUTHORISE: placed[:1],
        WEBHOOKS: placed[:1],
    }
