"""Tasks go to queues by kind, so that a slow PDF or a hanging webhook endpoint never
holds up routing; a worker started without --queues consumes them all, and
CELERY_QUEUE puts every task on the one queue it names."""

import json
import subprocess
import sys

from django.conf import settings

from oms.celery import app

QUEUES = {"oms", "routing", "notifications", "documents", "webhooks"}


def queue_of(task_name: str) -> str:
    return app.amqp.router.route({}, task_name)["queue"].name


def test_each_kind_of_task_has_its_queue():
    assert {
        name: queue_of(name)
        for name in (
            "fulfillment.route_order_event",
            "fulfillment.route_order",
            "fulfillment.route_orders",
            "fulfillment.route_backorders",
            "oms.notify_order_event",
            "oms.resend_notification",
            "oms.send_dunning_reminders",
            "billing.render_invoice_pdf",
            "billing.render_credit_note_pdf",
            "fulfillment.notify_partner",
            "orders.email_quote_event",
            "webhooks.fan_out_event",
            "webhooks.deliver",
            "billing.authorise_order_event",
            "oms.sweep_outbox",
        )
    } == {
        "fulfillment.route_order_event": "routing",
        "fulfillment.route_order": "routing",
        "fulfillment.route_orders": "routing",
        "fulfillment.route_backorders": "routing",
        "oms.notify_order_event": "notifications",
        "oms.resend_notification": "notifications",
        "oms.send_dunning_reminders": "notifications",
        "billing.render_invoice_pdf": "documents",
        "billing.render_credit_note_pdf": "documents",
        "fulfillment.notify_partner": "documents",
        "orders.email_quote_event": "documents",
        "webhooks.fan_out_event": "webhooks",
        "webhooks.deliver": "webhooks",
        "billing.authorise_order_event": "oms",
        "oms.sweep_outbox": "oms",
    }


def test_every_task_goes_to_a_queue_a_plain_worker_consumes():
    app.loader.import_default_modules()
    ours = [name for name in app.tasks if not name.startswith("celery.")]

    assert len(ours) > 20
    assert {queue_of(name) for name in ours} == QUEUES
    # `celery -A oms worker` without --queues (make worker) consumes every queue declared.
    assert {queue.name for queue in app.conf.task_queues} == QUEUES
    # Every scheduled task too.
    assert {queue_of(entry["task"]) for entry in settings.CELERY_BEAT_SCHEDULE.values()} <= QUEUES


def test_celery_queue_puts_every_task_on_its_one_queue():
    script = (
        "import json, django; django.setup(); from oms.celery import app; "
        "app.loader.import_default_modules(); "
        "print(json.dumps(sorted({app.amqp.router.route({}, name)['queue'].name "
        "for name in app.tasks})))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        env={
            "DJANGO_SETTINGS_MODULE": "oms.settings.base",
            "SECRET_KEY": "x",
            "CELERY_QUEUE": "private-queue",
            "PATH": "/usr/bin",
        },
        capture_output=True,
        text=True,
        check=True,
        cwd=settings.BASE_DIR,
    )

    assert json.loads(result.stdout.strip().splitlines()[-1]) == ["private-queue"]
