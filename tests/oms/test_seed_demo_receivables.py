"""The demo's receivables: every paid invoice on terms is paid by the payments applied
to it, the overdue ones stay open with the reminders they would have had, and the daily
reminders' run after the seed catches up nothing."""

import datetime as dt

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import transaction
from django.db.models import Sum
from django.test import override_settings
from django.utils import timezone

from billing.dunning import latest_stage, send_dunning_reminders, stage_dates
from billing.dunning_models import ReminderStatus
from billing.integrity import invoice_paid_mismatches, payment_mismatches
from billing.models import DunningReminder, Invoice, InvoiceStatus, PaymentMethod
from billing.receivables import balance_due
from core import refcache

SIZE = {"orders": 400, "customers": 40, "live_orders": 0, "quiet": True}


@pytest.fixture(scope="module")
def seeded_module(django_db_setup, django_db_blocker, tmp_path_factory):
    refcache.clear()
    keys = tmp_path_factory.mktemp("demo") / "demo-api-keys.txt"
    with (
        override_settings(OMS_DEMO_KEYS_FILE=keys, DEBUG=True),
        django_db_blocker.unblock(),
        transaction.atomic(),
    ):
        call_command("seed_demo", **SIZE)
        yield
        transaction.set_rollback(True)
    refcache.clear()


@pytest.fixture
def seeded(seeded_module, db):
    """The demo's history, seeded once per module; changes roll back per test."""


def on_terms():
    return Invoice.objects.filter(payment_method=PaymentMethod.INVOICE)


def test_paid_invoices_on_terms_are_paid_by_their_payments(seeded):
    paid = on_terms().filter(status=InvoiceStatus.PAID)
    assert paid.exists()
    assert invoice_paid_mismatches() == []
    assert payment_mismatches() == []
    for invoice in paid:
        applied = invoice.payment_applications.filter(reversed_at__isnull=True)
        assert applied.aggregate(t=Sum("amount"))["t"] == invoice.amount_paid
        assert balance_due(invoice) == 0


def test_overdue_invoices_stay_open_some_partly_paid_with_their_reminders(seeded):
    today = timezone.localdate()
    overdue = [i for i in on_terms().exclude(status=InvoiceStatus.PAID) if i.due_date < today]
    assert overdue
    assert any(i.status == InvoiceStatus.PARTIALLY_PAID for i in overdue)
    for invoice in overdue:
        logged = dict(
            DunningReminder.objects.filter(invoice=invoice).values_list("stage", "status")
        )
        due_by_now = [stage for stage, day in stage_dates(invoice) if day <= today]
        assert logged == dict.fromkeys(due_by_now, ReminderStatus.SENT), invoice.number
    # Paid invoices had no reminder logged.
    assert not DunningReminder.objects.filter(invoice__status=InvoiceStatus.PAID).exists()


def test_the_first_run_after_the_seed_catches_up_nothing(seeded, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    today = timezone.localdate()
    # Every open invoice on terms has a row for each stage whose day has come.
    for invoice in on_terms().exclude(status=InvoiceStatus.PAID):
        if balance_due(invoice) > 0 and latest_stage(invoice, today) is not None:
            assert DunningReminder.objects.filter(invoice=invoice).exists(), invoice.number
    mail.outbox.clear()

    run = send_dunning_reminders(today=today)

    assert (run.decided, run.sent) == (0, 0)
    assert not mail.outbox
    # The next day's run sends what falls due then, and skips nothing.
    run = send_dunning_reminders(today=today + dt.timedelta(days=1))
    assert run.sent == run.decided
    assert not DunningReminder.objects.filter(status=ReminderStatus.SKIPPED).exists()
