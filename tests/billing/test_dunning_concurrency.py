"""Two reminder runs at once on PostgreSQL send one e-mail per stage; the beat runs the
reminders' task daily, and the task runs the service with the status link."""

import datetime as dt
from decimal import Decimal

import pytest
from celery.schedules import crontab
from django.conf import settings as django_settings
from django.core import mail
from django.utils import timezone

from billing.dunning import send_dunning_reminders
from billing.dunning_models import ReminderStage, ReminderStatus
from billing.invoicing import invoice_shipment
from billing.models import DunningReminder, Invoice
from core import outbox
from core.celery import app
from oms.tasks import send_dunning_reminders as dunning_task
from orders.models import Notification, OrderEvent, OrderEventType
from tests.api.support import run_together
from tests.billing.conftest import company_buyer, make_products, place_routed, ship

ISSUED = dt.date(2026, 5, 4)
DUE = ISSUED + dt.timedelta(days=30)


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def invoices_on_terms(shop, count: int, *, issued: dt.date = ISSUED) -> list[Invoice]:
    [product] = make_products(shop, [Decimal("80.00")])
    invoices = []
    for _ in range(count):
        _, fo = place_routed([(product, 1)], customer=company_buyer("net30"))
        invoices.append(invoice_shipment(ship(fo).pk, issue_date=issued))
    return invoices


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_send_each_reminder_once(shop, monkeypatch):
    # Invoiced here, not by the outbox as they ship; and no invoice e-mail in the way.
    monkeypatch.setitem(outbox.HANDLERS, "shipment.created", [])
    monkeypatch.setitem(outbox.HANDLERS, "invoice.issued", [])
    invoices = invoices_on_terms(shop, 3)
    mail.outbox.clear()

    for day in (DUE, DUE + dt.timedelta(days=7)):
        results = run_together([lambda day=day: send_dunning_reminders(today=day)] * 4)
        assert not [r for r in results if isinstance(r, BaseException)]
        assert sum(r.decided for r in results) == 3
        assert sum(r.sent for r in results) == 3

    assert len(mail.outbox) == 6
    assert sorted(m.subject for m in mail.outbox) == sorted(
        f"Invoice {invoice.number} is {when}"
        for invoice in invoices
        for when in ("due today", "overdue")
    )
    for invoice in invoices:
        rows = DunningReminder.objects.filter(invoice=invoice)
        assert dict(rows.values_list("stage", "status")) == {
            ReminderStage.BEFORE_DUE: ReminderStatus.SKIPPED,
            ReminderStage.AT_DUE: ReminderStatus.SENT,
            ReminderStage.OVERDUE_7: ReminderStatus.SENT,
        }
        assert (
            OrderEvent.objects.filter(
                order_id=invoice.order_id,
                type=OrderEventType.NOTIFICATION_SENT,
                payload__event="payment_reminder",
            ).count()
            == 2
        )
    assert Notification.objects.filter(event="payment_reminder").count() == 6


def test_the_beat_runs_the_reminders_task_every_day():
    entry = next(
        e
        for e in django_settings.CELERY_BEAT_SCHEDULE.values()
        if e["task"] == "oms.send_dunning_reminders"
    )
    schedule = entry["schedule"]
    assert isinstance(schedule, crontab)
    # Once a day, every day: one hour and one minute, any day of any month.
    assert len(schedule.hour) == 1
    assert len(schedule.minute) == 1
    assert schedule.day_of_week == set(range(7))
    assert schedule.day_of_month == set(range(1, 32))
    assert "oms.send_dunning_reminders" in app.tasks


@pytest.mark.django_db
def test_the_task_runs_the_service_with_the_status_link(shop):
    # Net 30, issued 30 days ago: due today, the day the task runs.
    [invoice] = invoices_on_terms(shop, 1, issued=timezone.localdate() - dt.timedelta(days=30))

    result = dunning_task.apply().get()

    assert result == {"decided": 1, "sent": 1, "failed": 0, "in_progress": 0}
    [message] = mail.outbox
    assert message.subject == f"Invoice {invoice.number} is due today"
    assert "/orders/status/" in message.body
    assert DunningReminder.objects.get(stage=ReminderStage.AT_DUE).status == ReminderStatus.SENT
