"""Payment reminders go where the invoice went: the order's e-mail and the company's
contacts for invoices (accounts payable), each copy once."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend

from billing.documents import store_invoice_pdf
from billing.dunning import deliver_reminder, remind_invoice, send_dunning_reminders
from billing.dunning_models import ReminderStage, ReminderStatus
from billing.invoicing import invoice_shipment
from billing.models import DunningReminder, Invoice
from billing.notifications import email_invoice
from customers.models import CompanyContact
from orders.models import Notification, NotificationStatus
from tests.billing.conftest import company_buyer, make_products, place_routed, ship

pytestmark = pytest.mark.django_db

ISSUED = dt.date(2026, 5, 4)
DUE = ISSUED + dt.timedelta(days=30)
OVERDUE_7 = DUE + dt.timedelta(days=7)
AP = "ap@acme.example"
REFUSING_AP = f"{__name__}.RefusingAccountsPayable"


class RefusingAccountsPayable(EmailBackend):
    """The mail server refuses messages to accounts payable (the outside boundary)."""

    def send_messages(self, email_messages):
        if any(AP in message.to for message in email_messages):
            raise ConnectionRefusedError("mailbox ap@acme.example unavailable")
        return super().send_messages(email_messages)


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def invoice(shop) -> Invoice:
    [product] = make_products(shop, [Decimal("100.00")])
    buyer = company_buyer("net30")
    company = buyer.company
    contact = {"company": company, "by_email": True}
    CompanyContact.objects.create(
        name="Accounts payable", email=AP, events=["invoice_issued"], **contact
    )
    # Not for invoices, switched off, or the buyer again: no copy of their own.
    CompanyContact.objects.create(
        name="Dock", email="dock@acme.example", events=["shipped"], **contact
    )
    CompanyContact.objects.create(
        name="Old AP",
        email="old-ap@acme.example",
        events=["invoice_issued"],
        is_active=False,
        **contact,
    )
    CompanyContact.objects.create(
        name="Buyer again", email=buyer.email.upper(), events=["invoice_issued"], **contact
    )
    _, fo = place_routed([(product, 1)], customer=buyer)
    return invoice_shipment(ship(fo).pk, issue_date=ISSUED)


def recipients(messages) -> list[str]:
    return sorted(address for message in messages for address in message.to)


def test_reminders_go_to_the_same_recipients_as_the_invoice(invoice):
    store_invoice_pdf(invoice.pk)
    email_invoice(invoice.pk)
    invoice_went_to = recipients(mail.outbox)
    mail.outbox.clear()

    run = send_dunning_reminders(today=DUE)

    order_email = invoice.order.email
    assert invoice_went_to == sorted([order_email, AP])
    assert run.sent == 1
    assert recipients(mail.outbox) == invoice_went_to
    assert {m.subject for m in mail.outbox} == {f"Invoice {invoice.number} is due today"}
    for message in mail.outbox:
        [(filename, _content, _mimetype)] = message.attachments
        assert filename == f"{invoice.number}.pdf"
    row = DunningReminder.objects.get(invoice=invoice, stage=ReminderStage.AT_DUE)
    assert row.status == ReminderStatus.SENT
    assert row.recipient == f"{order_email}, {AP}"
    copies = Notification.objects.filter(event="payment_reminder")
    assert sorted(copies.values_list("dedupe_key", "recipient", "status")) == sorted(
        [
            (row.notification_key, order_email, NotificationStatus.SENT),
            (f"{row.notification_key}:{AP}", AP, NotificationStatus.SENT),
        ]
    )

    # Another run the same day sends nothing again.
    again = send_dunning_reminders(today=DUE)
    assert (again.decided, again.sent) == (0, 0)
    assert len(mail.outbox) == 2


def test_a_refused_copy_leaves_the_reminder_pending_and_only_it_goes_next_run(invoice, settings):
    settings.EMAIL_BACKEND = REFUSING_AP

    run = send_dunning_reminders(today=DUE)

    assert (run.decided, run.sent, run.failed) == (1, 0, 1)
    assert recipients(mail.outbox) == [invoice.order.email]  # the buyer's copy went
    row = DunningReminder.objects.get(invoice=invoice, stage=ReminderStage.AT_DUE)
    assert row.status == ReminderStatus.PENDING
    assert row.sent_at is None
    assert "unavailable" in row.last_error
    failed = Notification.objects.get(dedupe_key=f"{row.notification_key}:{AP}")
    assert failed.status == NotificationStatus.FAILED

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    mail.outbox.clear()
    run = send_dunning_reminders(today=DUE + dt.timedelta(days=1))

    assert (run.decided, run.sent, run.failed) == (0, 1, 0)
    assert recipients(mail.outbox) == [AP]  # the buyer is not reminded twice
    row.refresh_from_db()
    assert (row.status, row.last_error) == (ReminderStatus.SENT, "")
    assert row.recipient == f"{invoice.order.email}, {AP}"


def test_a_contact_added_after_the_invoice_is_reminded_and_a_removed_one_is_not(invoice):
    CompanyContact.objects.filter(email=AP).update(is_active=False)
    CompanyContact.objects.create(
        company=invoice.company,
        name="New AP",
        email="payables@acme.example",
        events=["invoice_issued"],
    )

    reminder = remind_invoice(invoice_id=invoice.pk, today=OVERDUE_7)
    deliver_reminder(reminder.pk)

    assert recipients(mail.outbox) == sorted([invoice.order.email, "payables@acme.example"])
