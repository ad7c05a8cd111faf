"""Payment reminders (dunning) for invoices on terms: each stage once, by e-mail.

An invoice on terms (``payment_method`` "invoice", with a due date) that still owes
money (``billing.receivables.balance_due`` > 0) gets up to four reminders, one per
stage, each on its day relative to the due date: ``before_due`` (``OMS_DUNNING_BEFORE_
DUE_DAYS`` before, 3 by default), ``at_due`` (the due date), ``overdue_7`` and
``overdue_30`` (7 and 30 days after). A stage whose day is on or before the invoice's
issue date does not apply: the invoice's own e-mail gave the due date (an invoice due
on receipt gets its first reminder 7 days overdue).

**Catch-up.** A run sends only the latest stage that applies on its day; the earlier
stages that have no row yet are written as skipped. So after a week without runs an
invoice 8 days overdue gets one "7 days overdue" e-mail, not three.

**Exactly once.** A run decides under the invoice's row lock (``invoice_for_update``,
the same lock credit notes and payments take): it re-reads the balance and the stages
already logged and inserts the stage's ``DunningReminder`` row, UNIQUE (invoice, stage),
pending. Two runs at once queue on the lock; the second finds the row and decides
nothing. The e-mail is sent after that transaction commits, through the order's
notification log (``orders.notifications``: claim key ``invoice:<id>:dunning:<stage>:
email``), which sends it once however many runs deliver the same pending row; then the
row is marked sent.

**Recipients.** A reminder goes where the invoice goes (``billing.notifications.
email_invoice``): the order's e-mail, and a copy to each of the company's active
contacts who get invoices by e-mail (accounts payable), each address once, as they
stand on the day the reminder is decided (a contact added since the invoice is reminded
too; one removed is not). Each copy has its own claim, the order's e-mail on the key
above and a contact's on that key plus ``:<address>``, so a run that delivers a row
again sends only the copies that did not go; the row is marked sent once every copy
went. A send that fails (the mail server is down) leaves the row pending
with its error and the next run (the task retries, and the beat runs daily) sends it
again; a pending row whose invoice was paid meanwhile is cancelled instead, and one
that a later stage overtook is skipped.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Case, CharField, Exists, OuterRef, Q, QuerySet, Value, When
from django.utils import timezone
from django.utils.formats import date_format

from orders.models import Notification, NotificationStatus, Order
from orders.notifications import (
    Attachment,
    NotificationInProgress,
    claim_notification,
    list_recipients,
    send_order_email,
)

from .credit_notes import invoice_for_update
from .documents import store_invoice_pdf
from .dunning_models import DunningReminder, ReminderStage, ReminderStatus
from .models import Invoice, InvoiceStatus, PaymentMethod
from .notifications import INVOICE_ISSUED, invoice_recipient
from .receivables import balance_due, with_balance

logger = logging.getLogger(__name__)

PAYMENT_REMINDER = "payment_reminder"
ZERO = Decimal("0.00")

# The stages in the order they come; a later one overtakes the earlier ones.
STAGES: tuple[str, ...] = (
    ReminderStage.BEFORE_DUE,
    ReminderStage.AT_DUE,
    ReminderStage.OVERDUE_7,
    ReminderStage.OVERDUE_30,
)

SUBJECTS: dict[str, str] = {
    ReminderStage.BEFORE_DUE: "Reminder: invoice {number} is due on {due}",
    ReminderStage.AT_DUE: "Invoice {number} is due today",
    ReminderStage.OVERDUE_7: "Invoice {number} is overdue",
    ReminderStage.OVERDUE_30: "Invoice {number} is 30 days overdue",
}

# Makes the link to an order's status page for the e-mail (the project passes the
# self-service app's ``status_url``, which billing may not import).
StatusLink = Callable[[Order], str]


def stage_offsets() -> dict[str, int]:
    """Days from the due date to each stage's day (negative: before it)."""
    return {
        ReminderStage.BEFORE_DUE: -settings.OMS_DUNNING_BEFORE_DUE_DAYS,
        ReminderStage.AT_DUE: 0,
        ReminderStage.OVERDUE_7: 7,
        ReminderStage.OVERDUE_30: 30,
    }


def stage_dates(invoice: Invoice) -> list[tuple[str, dt.date]]:
    """The stages that apply to ``invoice`` and their days, in order: none for an
    invoice without a due date, and none on or before its issue date."""
    if invoice.due_date is None:
        return []
    offsets = stage_offsets()
    dates = [(stage, invoice.due_date + dt.timedelta(days=offsets[stage])) for stage in STAGES]
    return [(stage, day) for stage, day in dates if day > invoice.issue_date]


def latest_stage(invoice: Invoice, today: dt.date) -> tuple[str, dt.date] | None:
    """The last stage whose day has come by ``today``, with its day; None before the
    first."""
    applicable = [(stage, day) for stage, day in stage_dates(invoice) if day <= today]
    return applicable[-1] if applicable else None


def notification_key(invoice: Invoice, stage: str) -> str:
    return f"invoice:{invoice.pk}:dunning:{stage}:email"


def reminder_recipients(invoice: Invoice) -> list[str]:
    """The addresses a reminder of ``invoice`` goes to, as its invoice e-mail does: the
    order's e-mail first, then the company's contacts for invoices by e-mail, each
    address once (``orders.notifications.list_recipients``)."""
    primary = invoice_recipient(invoice)
    contacts = [
        r.address
        for r in list_recipients(invoice.order, kind=INVOICE_ISSUED)
        if r.channel == "email" and r.contact_id is not None
    ]
    return [primary, *contacts]


def copy_key(base: str, address: str, *, primary: bool) -> str:
    """The claim of one copy: the reminder's key for the order's e-mail (as it always
    was), the key and the address for a contact's."""
    return base if primary else f"{base}:{address.lower()}"


RECIPIENT_FIELD_LENGTH = DunningReminder._meta.get_field("recipient").max_length or 254


def recipients_text(addresses: list[str]) -> str:
    """The recipients as the log shows them, cut to what the column holds."""
    text = ", ".join(addresses)
    for shown in range(len(addresses), 0, -1):
        text = ", ".join(addresses[:shown])
        if shown < len(addresses):
            text += f" and {len(addresses) - shown} more"
        if len(text) <= RECIPIENT_FIELD_LENGTH:
            return text
    return text[:RECIPIENT_FIELD_LENGTH]


def _on_terms(invoice: Invoice) -> bool:
    return invoice.payment_method == PaymentMethod.INVOICE and invoice.due_date is not None


def list_invoices_due_a_reminder(today: dt.date) -> QuerySet[Invoice]:
    """Invoices on terms, not paid, still owing money, whose latest stage by ``today``
    has no reminder row yet (the issue-date rule is applied by ``remind_invoice``)."""
    offsets = stage_offsets()

    def due_by(stage: str) -> dt.date:
        # The stage has come when due_date + offset <= today.
        return today - dt.timedelta(days=offsets[stage])

    latest = Case(
        *(
            When(due_date__lte=due_by(stage), then=Value(stage))
            for stage in reversed(STAGES)  # the first that matches is the latest
        ),
        default=Value(""),
        output_field=CharField(),
    )
    on_terms = Invoice.objects.filter(
        payment_method=PaymentMethod.INVOICE,
        due_date__isnull=False,
        due_date__lte=due_by(ReminderStage.BEFORE_DUE),
    ).exclude(status=InvoiceStatus.PAID)
    logged = DunningReminder.objects.filter(invoice=OuterRef("pk"), stage=OuterRef("latest"))
    return (
        with_balance(on_terms, today=today)
        .filter(Q(balance_due__gt=0))  # an annotation (``with_balance``)
        .annotate(latest=latest)
        .exclude(Exists(logged))
        .order_by("due_date", "id")
    )


@transaction.atomic
def remind_invoice(*, invoice_id: int, today: dt.date) -> DunningReminder | None:
    """Decide the reminder ``invoice_id`` is due on ``today``: the latest stage that
    applies, written pending (the earlier stages without a row written as skipped, and
    an earlier pending one skipped). None when it needs none: paid, nothing owed, not
    on terms, no stage yet, or the stage (or a later one) already logged.

    Takes the invoice's row lock and decides under it, so concurrent runs decide once.
    Sends nothing: ``deliver_reminder`` does, after this commits.
    """
    invoice = invoice_for_update(invoice_id)
    if not _on_terms(invoice) or invoice.status == InvoiceStatus.PAID:
        return None
    owed = balance_due(invoice)
    if owed <= ZERO:
        return None
    latest = latest_stage(invoice, today)
    if latest is None:
        return None
    stage, stage_day = latest
    logged = {row.stage: row for row in DunningReminder.objects.filter(invoice=invoice)}
    if any(s in logged for s in STAGES[STAGES.index(stage) :]):
        return None
    earlier = [(s, day) for s, day in stage_dates(invoice) if STAGES.index(s) < STAGES.index(stage)]
    common = {"invoice": invoice, "company_id": invoice.company_id, "currency": invoice.currency}
    DunningReminder.objects.bulk_create(
        DunningReminder(stage=s, stage_date=day, status=ReminderStatus.SKIPPED, **common)
        for s, day in earlier
        if s not in logged
    )
    # One e-mail per invoice at a time: an earlier stage still waiting to go out (its
    # send failed) is overtaken by this one.
    DunningReminder.objects.filter(
        invoice=invoice, status=ReminderStatus.PENDING, stage__in=[s for s, _ in earlier]
    ).update(status=ReminderStatus.SKIPPED)
    return DunningReminder.objects.create(
        stage=stage,
        stage_date=stage_day,
        status=ReminderStatus.PENDING,
        amount_due=owed,
        recipient=recipients_text(reminder_recipients(invoice)),
        notification_key=notification_key(invoice, stage),
        **common,
    )


def _mark_sent(reminder: DunningReminder, copies: list[Notification], owed: Decimal) -> None:
    # Every copy went: that is what the log says, whatever a concurrent decision made
    # of the row meanwhile.
    sent_at = max((n.sent_at for n in copies if n.sent_at), default=None)
    DunningReminder.objects.filter(pk=reminder.pk).update(
        status=ReminderStatus.SENT,
        sent_at=sent_at or timezone.now(),
        amount_due=owed,
        recipient=recipients_text([n.recipient for n in copies]),
        last_error="",
    )


def _deliver_copy(
    reminder: DunningReminder,
    key: str,
    address: str,
    *,
    subject: str,
    context: dict[str, Any],
    attachment: Attachment,
) -> tuple[Notification | None, bool]:
    """Send one copy of the reminder, claimed on ``key``: its sent notification and
    whether this call sent it, or None while it is not settled (another attempt took
    it over). Raises ``NotificationInProgress`` or what the mail server raised (the
    row keeps the error)."""
    invoice = context["invoice"]
    claim = claim_notification(
        key,
        channel="email",
        event=PAYMENT_REMINDER,
        recipient=address,
        subject=subject,
        order=context["order"],
    )
    if claim is None:
        # Sent by an earlier attempt (perhaps one that stopped before it marked the row).
        earlier = Notification.objects.filter(dedupe_key=key, status=NotificationStatus.SENT)
        return earlier.first(), False
    try:
        notification = send_order_email(
            claim,
            order=context["order"],
            template="billing/email/payment_reminder",
            context=context,
            attachments=[attachment],
            payload={"invoice_id": invoice.pk, "reminder_stage": reminder.stage},
        )
    except Exception as exc:  # the send's own failure, marked on its claim too
        DunningReminder.objects.filter(pk=reminder.pk).update(last_error=str(exc)[:300])
        raise
    return notification, notification is not None


def deliver_reminder(
    reminder_id: int, *, today: dt.date | None = None, status_link: StatusLink | None = None
) -> DunningReminder | None:
    """E-mail the pending reminder ``reminder_id`` with the invoice's PDF to each of its
    recipients (``reminder_recipients``), once each, and mark it sent once every copy
    went; returns it, or None when this call sent no copy (not pending, already sent by
    another attempt, or cancelled because nothing is owed any more). ``today`` (the
    site's date by default) is the day the e-mail counts overdue days to.

    Every copy is tried; then it raises what the mail server raised (the row keeps the
    error and stays pending, the copies that went are not sent again), or
    ``NotificationInProgress`` while another attempt is sending a copy.
    """
    reminder = DunningReminder.objects.select_related(
        "invoice__order__customer", "invoice__company"
    ).get(pk=reminder_id)
    if reminder.status != ReminderStatus.PENDING:
        return None
    invoice = reminder.invoice
    owed = balance_due(invoice)
    if invoice.status == InvoiceStatus.PAID or owed <= ZERO:
        DunningReminder.objects.filter(pk=reminder.pk, status=ReminderStatus.PENDING).update(
            status=ReminderStatus.CANCELLED
        )
        return None
    order = invoice.order
    # Rendered before the claims: a PDF that cannot be made leaves no claim "sending".
    invoice = store_invoice_pdf(invoice.pk)
    due = invoice.due_date or reminder.stage_date  # on terms: always a due date
    subject = SUBJECTS[reminder.stage].format(number=invoice.number, due=date_format(due, "F j, Y"))
    with invoice.pdf.open("rb") as pdf:
        attachment = Attachment(f"{invoice.number}.pdf", pdf.read(), "application/pdf")
    context = {
        "invoice": invoice,
        "order": order,
        "stage": reminder.stage,
        "amount_due": owed,
        "days_overdue": max(((today or timezone.localdate()) - invoice.due_date).days, 0)
        if invoice.due_date
        else 0,
        "seller": invoice.seller,
        "status_url": status_link(order) if status_link else "",
    }
    base = reminder.notification_key or notification_key(invoice, reminder.stage)
    went: list[Notification] = []  # every copy that went, by this call or an earlier one
    sent_now = 0
    unsettled = False
    failure: Exception | None = None
    for index, address in enumerate(reminder_recipients(invoice)):
        try:
            copy, by_this_call = _deliver_copy(
                reminder,
                copy_key(base, address, primary=index == 0),
                address,
                subject=subject,
                context=context,
                attachment=attachment,
            )
        except Exception as exc:  # the other copies still go; raised below
            unsettled, failure = True, failure or exc
            continue
        if copy is None:
            unsettled = True  # another attempt holds it, and settles it
            continue
        went.append(copy)
        sent_now += by_this_call
    if failure is not None:
        raise failure
    if unsettled:
        return None
    _mark_sent(reminder, went, owed if sent_now else reminder.amount_due)
    if not sent_now:
        return None
    reminder.refresh_from_db()
    return reminder


@dataclass
class DunningRun:
    """What one run did: reminders decided, sent, left failed (sent by a later run),
    left to another attempt, and cancelled."""

    decided: int = 0
    sent: int = 0
    failed: int = 0
    in_progress: int = 0
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, int]:
        return {
            "decided": self.decided,
            "sent": self.sent,
            "failed": self.failed,
            "in_progress": self.in_progress,
        }


def send_dunning_reminders(
    *, today: dt.date | None = None, status_link: StatusLink | None = None
) -> DunningRun:
    """The daily run: decide each invoice's due reminder (``remind_invoice``, one short
    transaction each), then send every pending reminder (``deliver_reminder``). Safe to
    run again, and at the same time as another run: nothing is decided or sent twice.

    A send that the mail server refuses is counted in ``failed`` and left pending for
    the next run; the others go on.
    """
    today = today or timezone.localdate()
    run = DunningRun()
    for invoice_id in list(list_invoices_due_a_reminder(today).values_list("pk", flat=True)):
        if remind_invoice(invoice_id=invoice_id, today=today) is not None:
            run.decided += 1
    pending = DunningReminder.objects.filter(status=ReminderStatus.PENDING).order_by("id")
    for reminder_id in list(pending.values_list("pk", flat=True)):
        try:
            if deliver_reminder(reminder_id, today=today, status_link=status_link) is not None:
                run.sent += 1
        except NotificationInProgress:
            run.in_progress += 1
        except OSError as exc:  # the mail server is unreachable or refused the message
            logger.warning("payment reminder %s not sent: %s", reminder_id, exc)
            run.failed += 1
            run.errors.append(str(exc))
    logger.info("dunning run for %s: %s", today, run.as_dict())
    return run
