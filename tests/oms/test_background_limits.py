"""Background work cannot stall: tasks run under time limits, e-mail under a timeout,
and a consuming task that runs out of time hands its unfinished events back."""

import json
import os
import subprocess
import sys

import pytest
from celery.exceptions import Retry, SoftTimeLimitExceeded
from django.conf import settings as django_settings
from django.core.mail import get_connection
from django.core.mail.backends.base import BaseEmailBackend

from oms.celery import app
from oms.tasks import notify_order_event
from orders.models import NotificationStatus
from tests.oms.test_outbox_handlers import notification_statuses, placed, run_as_worker

SLOW_MAIL_SERVER = f"{__name__}.SlowMailServer"


def test_time_limits_are_applied_to_the_celery_app():
    assert app.conf.task_soft_time_limit == django_settings.CELERY_TASK_SOFT_TIME_LIMIT == 300
    assert app.conf.task_time_limit == django_settings.CELERY_TASK_TIME_LIMIT == 360
    # The partner hand-off renders a PDF per fulfillment order: it gets twice as long.
    app.loader.import_default_modules()
    partner = app.tasks["fulfillment.notify_partner"]
    assert (partner.soft_time_limit, partner.time_limit) == (600, 720)
    notify = app.tasks["oms.notify_order_event"]
    assert (notify.soft_time_limit, notify.time_limit) == (300, 360)


def test_notification_claims_outlive_every_task_that_sends():
    # A claim must not go stale while the worker holding it may still be sending.
    longest = max(
        app.conf.task_time_limit,
        *(spec.get("time_limit", 0) for spec in django_settings.CELERY_TASK_ANNOTATIONS.values()),
    )
    assert longest < django_settings.OMS_NOTIFICATION_CLAIM_TIMEOUT


def test_smtp_connections_time_out():
    smtp = get_connection("django.core.mail.backends.smtp.EmailBackend")
    assert smtp.timeout == django_settings.EMAIL_TIMEOUT == 10


def test_limits_and_timeouts_come_from_the_environment():
    script = (
        "import django, json; django.setup();"
        "from django.core.mail import get_connection;"
        "from oms.celery import app;"
        "smtp = get_connection('django.core.mail.backends.smtp.EmailBackend');"
        "print(json.dumps([app.conf.task_soft_time_limit, app.conf.task_time_limit,"
        " smtp.timeout]))"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "oms.settings.test",
        "CELERY_TASK_SOFT_TIME_LIMIT": "50",
        "CELERY_TASK_TIME_LIMIT": "70",
        "EMAIL_TIMEOUT": "3.5",
    }
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    )
    assert json.loads(out.stdout.strip().splitlines()[-1]) == [50, 70, 3.5]


class SlowMailServer(BaseEmailBackend):
    """The SMTP boundary; the run reaches its soft time limit while sending to the
    addresses in ``out_of_time``."""

    out_of_time: set[str] = set()
    delivered: list[str] = []

    def send_messages(self, email_messages):
        for message in email_messages:
            [recipient] = message.to
            if recipient in self.out_of_time:
                raise SoftTimeLimitExceeded
            self.delivered.append(recipient)
        return len(email_messages)


@pytest.fixture
def slow_mail_server(settings):
    settings.EMAIL_BACKEND = SLOW_MAIL_SERVER
    SlowMailServer.out_of_time, SlowMailServer.delivered = set(), []
    return SlowMailServer


@pytest.mark.django_db
def test_a_run_out_of_time_hands_its_unfinished_events_back(slow_mail_server, broker):
    # given three confirmations to send, the run running out of time on the second
    (first, second, third), events = placed(3)
    slow_mail_server.out_of_time = {second.email}

    # when the batch is handled
    with pytest.raises(Retry):
        run_as_worker(notify_order_event, [events], queue=broker.queue)

    # then the first went out, the interrupted one is released for a retry, the third
    # was not started,
    assert slow_mail_server.delivered == [first.email]
    assert notification_statuses([first, second, third]) == [
        NotificationStatus.SENT,
        NotificationStatus.FAILED,
        None,
    ]
    # and both unfinished events go back to the broker, as one retry.
    [retry] = broker.take()
    assert (retry.task, retry.args, retry.headers["retries"]) == (
        "oms.notify_order_event",
        [events[1:]],
        1,
    )

    # When the retry runs in time, the two e-mails go out, and the first is not resent.
    slow_mail_server.out_of_time = set()
    run_as_worker(notify_order_event, retry.args, queue=broker.queue, retries=1)
    assert slow_mail_server.delivered == [first.email, second.email, third.email]
    assert notification_statuses([first, second, third]) == [NotificationStatus.SENT] * 3
    assert broker.take() == []
