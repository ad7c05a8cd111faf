"""Payment reminders of invoices on terms: each stage once, only what is owed, the
catch-up rule after days without a run, and the e-mail's content."""

import datetime as dt
from decimal import Decimal

import pytest
from django.conf import settings as django_settings
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend

from billing.credit_notes import issue_credit_note
from billing.dunning import deliver_reminder, remind_invoice, send_dunning_reminders
from billing.dunning_models import ReminderStage, ReminderStatus
from billing.invoicing import invoice_shipment
from billing.models import CreditReason, DunningReminder, Invoice, InvoiceStatus
from orders.models import Notification, NotificationStatus, OrderEvent, OrderEventType
from selfservice.links import read_token, status_url
from tests.billing.conftest import SYSTEM, company_buyer, make_products, place_routed, ship

pytestmark = pytest.mark.django_db

ISSUED = dt.date(2026, 5, 4)
DUE = ISSUED + dt.timedelta(days=30)  # net 30: June 3
BEFORE_DUE = DUE - dt.timedelta(days=3)
OVERDUE_7 = DUE + dt.timedelta(days=7)
OVERDUE_30 = DUE + dt.timedelta(days=30)
FAILING_MAIL_SERVER = f"{__name__}.FailingMailServer"


class FailingMailServer(EmailBackend):
    """The mail server refuses every message (the outside boundary)."""

    def send_messages(self, email_messages):
        raise ConnectionRefusedError("connection refused by the mail server")


def invoice_on_terms(shop, *, terms: str = "net30", price: str = "100.00") -> Invoice:
    [product] = make_products(shop, [Decimal(price)])
    _, fo = place_routed([(product, 1)], customer=company_buyer(terms))
    return invoice_shipment(ship(fo).pk, issue_date=ISSUED)


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def invoice(shop) -> Invoice:
    return invoice_on_terms(shop)


def stages(invoice: Invoice) -> dict[str, str]:
    return dict(DunningReminder.objects.filter(invoice=invoice).values_list("stage", "status"))


def reminder_mails() -> list:
    return [m for m in mail.outbox if "nvoice" in m.subject]


def test_each_stage_is_sent_once_on_its_day(invoice):
    days = [
        (ISSUED + dt.timedelta(days=10), None),
        (BEFORE_DUE - dt.timedelta(days=1), None),
        (BEFORE_DUE, ReminderStage.BEFORE_DUE),
        (BEFORE_DUE, None),  # a second run the same day
        (BEFORE_DUE + dt.timedelta(days=1), None),
        (DUE, ReminderStage.AT_DUE),
        (DUE + dt.timedelta(days=6), None),
        (OVERDUE_7, ReminderStage.OVERDUE_7),
        (OVERDUE_7 + dt.timedelta(days=1), None),
        (OVERDUE_30, ReminderStage.OVERDUE_30),
        (OVERDUE_30 + dt.timedelta(days=1), None),
        (OVERDUE_30 + dt.timedelta(days=90), None),  # the last stage is the last
    ]
    sent: list[str] = []
    for day, expected in days:
        before = len(mail.outbox)
        run = send_dunning_reminders(today=day)
        assert len(mail.outbox) - before == (1 if expected else 0), day
        assert run.sent == (1 if expected else 0)
        if expected:
            sent.append(expected)

    assert sent == [
        ReminderStage.BEFORE_DUE,
        ReminderStage.AT_DUE,
        ReminderStage.OVERDUE_7,
        ReminderStage.OVERDUE_30,
    ]
    assert stages(invoice) == dict.fromkeys(sent, ReminderStatus.SENT)
    assert [m.subject for m in mail.outbox] == [
        f"Reminder: invoice {invoice.number} is due on June 3, 2026",
        f"Invoice {invoice.number} is due today",
        f"Invoice {invoice.number} is overdue",
        f"Invoice {invoice.number} is 30 days overdue",
    ]
    rows = DunningReminder.objects.filter(invoice=invoice).order_by("stage_date")
    assert [r.stage_date for r in rows] == [BEFORE_DUE, DUE, OVERDUE_7, OVERDUE_30]
    # Logged on the company, with the e-mail's claim on the notification log.
    assert {r.company_id for r in rows} == {invoice.company_id}
    for row in rows:
        notification = Notification.objects.get(dedupe_key=row.notification_key)
        assert notification.status == NotificationStatus.SENT
        assert notification.recipient == row.recipient == invoice.order.email
        assert row.sent_at == notification.sent_at
    # The order's timeline tells each e-mail.
    assert (
        OrderEvent.objects.filter(
            order=invoice.order,
            type=OrderEventType.NOTIFICATION_SENT,
            payload__event="payment_reminder",
        ).count()
        == 4
    )


def test_the_days_before_the_due_date_are_a_setting(invoice, settings):
    settings.OMS_DUNNING_BEFORE_DUE_DAYS = 5

    send_dunning_reminders(today=DUE - dt.timedelta(days=6))
    assert not mail.outbox
    send_dunning_reminders(today=DUE - dt.timedelta(days=5))

    [row] = DunningReminder.objects.filter(invoice=invoice)
    assert (row.stage, row.stage_date, row.status) == (
        ReminderStage.BEFORE_DUE,
        DUE - dt.timedelta(days=5),
        ReminderStatus.SENT,
    )
    assert len(mail.outbox) == 1


def test_catch_up_sends_only_the_latest_stage_and_records_the_others_skipped(invoice):
    # The beat was down from before the first reminder until 8 days after the due date.
    run = send_dunning_reminders(today=OVERDUE_7 + dt.timedelta(days=1))

    assert run.decided == run.sent == 1
    [message] = mail.outbox
    assert message.subject == f"Invoice {invoice.number} is overdue"
    assert stages(invoice) == {
        ReminderStage.BEFORE_DUE: ReminderStatus.SKIPPED,
        ReminderStage.AT_DUE: ReminderStatus.SKIPPED,
        ReminderStage.OVERDUE_7: ReminderStatus.SENT,
    }
    skipped = DunningReminder.objects.filter(invoice=invoice, status=ReminderStatus.SKIPPED)
    assert {(r.stage_date, r.sent_at, r.notification_key) for r in skipped} == {
        (BEFORE_DUE, None, ""),
        (DUE, None, ""),
    }
    # Only the e-mail that went is on the notification log.
    assert Notification.objects.filter(event="payment_reminder").count() == 1

    # Back on schedule: the next stage comes on its day, once.
    send_dunning_reminders(today=OVERDUE_30)
    send_dunning_reminders(today=OVERDUE_30)
    assert len(mail.outbox) == 2
    assert stages(invoice)[ReminderStage.OVERDUE_30] == ReminderStatus.SENT


def test_a_long_outage_sends_the_last_stage_alone(invoice):
    send_dunning_reminders(today=OVERDUE_30 + dt.timedelta(days=45))

    assert len(mail.outbox) == 1
    assert stages(invoice) == {
        ReminderStage.BEFORE_DUE: ReminderStatus.SKIPPED,
        ReminderStage.AT_DUE: ReminderStatus.SKIPPED,
        ReminderStage.OVERDUE_7: ReminderStatus.SKIPPED,
        ReminderStage.OVERDUE_30: ReminderStatus.SENT,
    }


def test_a_paid_invoice_gets_no_reminder(invoice):
    Invoice.objects.filter(pk=invoice.pk).update(
        status=InvoiceStatus.PAID, amount_paid=invoice.grand_total
    )

    for day in (BEFORE_DUE, DUE, OVERDUE_7, OVERDUE_30):
        run = send_dunning_reminders(today=day)
        assert run.decided == run.sent == 0

    assert not mail.outbox
    assert not DunningReminder.objects.exists()
    assert not Notification.objects.filter(event="payment_reminder").exists()


def test_an_invoice_credited_in_full_owes_nothing_and_gets_no_reminder(invoice):
    issue_credit_note(
        invoice_id=invoice.pk,
        amount=invoice.grand_total,
        reason=CreditReason.GOODWILL,
        actor=SYSTEM,
        issue_date=ISSUED,
    )

    send_dunning_reminders(today=OVERDUE_7)

    assert not mail.outbox
    assert not DunningReminder.objects.exists()


def test_a_partly_paid_invoice_is_reminded_of_what_it_still_owes(invoice):
    # $100.00 + tax + $5.00 shipping; $40.00 credited and $50.00 paid.
    issue_credit_note(
        invoice_id=invoice.pk,
        amount=Decimal("40.00"),
        reason=CreditReason.PRICE_ADJUSTMENT,
        actor=SYSTEM,
        issue_date=ISSUED,
    )
    Invoice.objects.filter(pk=invoice.pk).update(
        status=InvoiceStatus.PARTIALLY_PAID, amount_paid=Decimal("50.00")
    )
    owed = invoice.grand_total - Decimal("90.00")

    send_dunning_reminders(today=DUE)

    row = DunningReminder.objects.get(invoice=invoice, status=ReminderStatus.SENT)
    assert row.amount_due == owed
    [message] = mail.outbox
    assert f"Amount still due: ${owed}" in message.body


def test_a_card_invoice_gets_no_reminder(shop):
    [product] = make_products(shop, [Decimal("30.00")])
    _, fo = place_routed([(product, 1)])
    card = invoice_shipment(ship(fo).pk, issue_date=ISSUED)
    assert card.due_date is None

    for day in (ISSUED, ISSUED + dt.timedelta(days=7), ISSUED + dt.timedelta(days=60)):
        send_dunning_reminders(today=day)
    assert remind_invoice(invoice_id=card.pk, today=ISSUED + dt.timedelta(days=60)) is None

    assert not mail.outbox
    assert not DunningReminder.objects.exists()


def test_a_stage_on_or_before_the_issue_date_does_not_apply(shop, settings):
    # Net 15 with a first reminder 20 days ahead: that day is before the invoice.
    settings.OMS_DUNNING_BEFORE_DUE_DAYS = 20
    invoice = invoice_on_terms(shop, terms="net15")
    due = ISSUED + dt.timedelta(days=15)

    for day in range(16):
        send_dunning_reminders(today=ISSUED + dt.timedelta(days=day))

    assert stages(invoice) == {ReminderStage.AT_DUE: ReminderStatus.SENT}
    assert DunningReminder.objects.get(invoice=invoice).stage_date == due


def test_the_e_mail_carries_the_amount_due_the_due_date_how_to_pay_the_status_link_and_pdf(
    invoice,
):
    send_dunning_reminders(today=OVERDUE_7, status_link=status_url)

    [message] = mail.outbox
    order = invoice.order
    assert message.to == [order.email]
    assert message.subject == f"Invoice {invoice.number} is overdue"
    html = message.alternatives[0][0]
    amount = f"${invoice.grand_total:,}"
    for body in (message.body, html):
        assert amount in body
        assert "June 3, 2026" in body
        assert "7 days overdue" in body
        assert invoice.number in body
        assert order.number in body
        assert django_settings.OMS_BANK_IBAN in body  # how to pay
        assert django_settings.OMS_LEGAL_NAME in body
        assert "/orders/status/" in body
    # The status link opens this order's page.
    link = next(word for word in message.body.split() if "/orders/status/" in word)
    token = link.rstrip("/").rsplit("/", 1)[-1]
    assert read_token(token).order_id == order.pk
    assert html.startswith("<!doctype html>")
    [(filename, content, mimetype)] = message.attachments
    assert (filename, mimetype) == (f"{invoice.number}.pdf", "application/pdf")
    assert content.startswith(b"%PDF")


def test_the_before_due_and_due_day_e_mails_say_so(invoice):
    send_dunning_reminders(today=BEFORE_DUE)
    send_dunning_reminders(today=DUE)

    before, at_due = mail.outbox
    assert "is due on June 3, 2026" in before.body
    assert "is due today, June 3, 2026" in at_due.body
    assert "overdue" not in before.body + at_due.body


def test_a_refused_send_stays_pending_and_goes_out_with_the_next_run(invoice, settings):
    settings.EMAIL_BACKEND = FAILING_MAIL_SERVER
    run = send_dunning_reminders(today=DUE)

    assert (run.decided, run.sent, run.failed) == (1, 0, 1)
    row = DunningReminder.objects.get(invoice=invoice, stage=ReminderStage.AT_DUE)
    assert row.status == ReminderStatus.PENDING
    assert "refused" in row.last_error
    assert Notification.objects.get(dedupe_key=row.notification_key).status == "failed"

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    run = send_dunning_reminders(today=DUE + dt.timedelta(days=1))

    assert (run.decided, run.sent, run.failed) == (0, 1, 0)
    [message] = mail.outbox
    assert message.subject == f"Invoice {invoice.number} is due today"
    row.refresh_from_db()
    assert (row.status, row.last_error) == (ReminderStatus.SENT, "")


def test_a_later_stage_overtakes_a_reminder_that_could_not_be_sent(invoice, settings):
    settings.EMAIL_BACKEND = FAILING_MAIL_SERVER
    send_dunning_reminders(today=DUE)
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

    send_dunning_reminders(today=OVERDUE_7)

    [message] = mail.outbox
    assert message.subject == f"Invoice {invoice.number} is overdue"
    assert stages(invoice) == {
        ReminderStage.BEFORE_DUE: ReminderStatus.SKIPPED,
        ReminderStage.AT_DUE: ReminderStatus.SKIPPED,
        ReminderStage.OVERDUE_7: ReminderStatus.SENT,
    }


def test_a_pending_reminder_of_an_invoice_paid_meanwhile_is_cancelled(invoice):
    reminder = remind_invoice(invoice_id=invoice.pk, today=DUE)
    assert reminder is not None
    assert reminder.status == ReminderStatus.PENDING
    Invoice.objects.filter(pk=invoice.pk).update(
        status=InvoiceStatus.PAID, amount_paid=invoice.grand_total
    )

    assert deliver_reminder(reminder.pk) is None

    reminder.refresh_from_db()
    assert reminder.status == ReminderStatus.CANCELLED
    assert not mail.outbox
    assert not Notification.objects.filter(event="payment_reminder").exists()


def test_deciding_twice_decides_once(invoice):
    first = remind_invoice(invoice_id=invoice.pk, today=DUE)
    second = remind_invoice(invoice_id=invoice.pk, today=DUE)

    assert first is not None
    assert second is None
    assert stages(invoice) == {
        ReminderStage.BEFORE_DUE: ReminderStatus.SKIPPED,
        ReminderStage.AT_DUE: ReminderStatus.PENDING,
    }
    assert deliver_reminder(first.pk) is not None
    assert deliver_reminder(first.pk) is None  # already sent
    assert len(mail.outbox) == 1


def test_a_reminder_whose_e_mail_went_but_was_not_marked_is_marked_by_the_next_run(invoice):
    # A run sent the e-mail and stopped before it marked the row.
    reminder = remind_invoice(invoice_id=invoice.pk, today=DUE)
    deliver_reminder(reminder.pk)
    DunningReminder.objects.filter(pk=reminder.pk).update(
        status=ReminderStatus.PENDING, sent_at=None
    )

    send_dunning_reminders(today=DUE)

    reminder.refresh_from_db()
    assert reminder.status == ReminderStatus.SENT
    assert len(mail.outbox) == 1
