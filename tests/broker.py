"""The ``broker`` fixture: Celery publishes to an in-memory queue the test reads, as in
production, instead of running tasks inline. Used by the outbox suites (``tests/core``,
``tests/oms``)."""

import uuid
from dataclasses import dataclass
from typing import Any

import pytest

from oms.celery import app
from tests.api.support import celery_publishing_to


@dataclass(frozen=True)
class Published:
    task: str
    args: list[Any]
    headers: dict[str, Any]


@dataclass(frozen=True)
class Broker:
    """The queue this process's Celery producer publishes to."""

    url: str
    queue: str

    def take(self) -> list[Published]:
        """Remove and return the messages waiting in the queue, oldest first."""

        taken = []
        with app.connection_for_write() as connection:
            channel = connection.default_channel
            while (message := channel.basic_get(self.queue, no_ack=True)) is not None:
                args, _kwargs, _embed = message.decode()
                taken.append(Published(message.headers["task"], args, message.headers))
        return taken


@pytest.fixture
def broker(settings):
    """Celery publishes, as in production, instead of running tasks inline: to
    Celery's in-memory transport, on a private queue that the test reads.

    Inline tasks are turned off through pytest-django's ``settings`` so that a test
    changing other settings through it too has them all undone in reverse order: an
    ``override_settings`` entered here and left before the fixture's own undo would
    leave the next tests publishing to a broker instead of running tasks inline."""
    settings.CELERY_TASK_ALWAYS_EAGER = False
    found = Broker("memory://", f"test-{uuid.uuid4().hex[:12]}")
    with celery_publishing_to(found.url, queue=found.queue, override_django=False):
        yield found
        found.take()
