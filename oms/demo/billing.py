"""The demo's billing history: an invoice for each completed historical order of the
last ``HISTORY_INVOICE_DAYS`` days, a credit note for its returned units, and what was
paid.

Historical orders (``orders.services.import_historical_order``) were shipped before this
system kept fulfillment records, so each gets the one shipment it had
(``oms.demo.history.history_shipments``): a closed fulfillment order of the main
warehouse that shipped every live unit by its ship-by date or a few days late,
delivered when the order completed. It moves no stock, as the import moved none. The
invoice is then issued by billing's own service (``invoice_shipment``, its amounts
allocated, numbered and written as for any shipment), dated the day it shipped;
returned units are credited by ``issue_credit_note`` on the day the order completed.

These are records of the past, so issuing them sends nothing: their ``invoice.issued``
and ``credit_note.issued`` outbox events are removed in the same transaction, so no PDF
is rendered ahead (the console and the API render one on demand), no e-mail goes to a
customer and no payment is captured. A company on net terms paid its orders by invoice,
as placement decides for its orders now, so their invoices are on terms with a due
date. A card invoice is marked paid on the day it was issued (its capture is not
replayed). A company paid an invoice on terms on its due date, what its credit notes
left owing: a bank transfer recorded through receivables (``record_payment``, applied to
the invoice), so an invoice on terms is paid exactly by the payments applied to it
(their ``invoice.paid`` events are dropped likewise).

The demo's overdue receivables stay open: the invoices on terms due in the last
``OMS_OVERDUE_GRACE_DAYS`` days (longer-overdue ones would put the company's new orders,
the live ones of the demo included, on a credit hold); one in ``PART_PAID_EVERY`` of
them got part of what it owed. Every open invoice on terms has the payment reminders it
would have had (``billing.dunning``'s stages whose day has come), logged as sent on
their days with no e-mail behind them, so the daily run sends only what falls due from
now on.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from billing.credit_notes import CreditLine, issue_credit_note
from billing.dunning import stage_dates
from billing.dunning_models import ReminderStatus
from billing.invoicing import invoice_shipment
from billing.models import (
    CreditNote,
    CreditReason,
    DunningReminder,
    Invoice,
    InvoiceStatus,
    PaymentMethod,
)
from billing.receivables import Allocation, balance_due, record_payment
from core.models import OutboxEvent
from core.money import to_cents
from customers.models import PaymentTerms
from inventory.models import Location
from orders.models import Order, OrderEventType, OrderStatus, PaymentStatus

from .common import SEED_ACTOR, StepResult, batched
from .history import history_promotions, history_shipments

# Only the history of the last two months is invoiced: issuing runs billing's whole
# service per order (about 25 ms), and 3000 orders would triple the seed's time.
# Older historical orders get their shipments without invoices (``oms.demo.history``).
HISTORY_INVOICE_DAYS = 60
# Invoices on terms due within OMS_OVERDUE_GRACE_DAYS before today are left unpaid
# (overdue); one in PART_PAID_EVERY of them, the first one included, got part of what
# it owed.
PART_PAID_EVERY = 3
NET_TERMS: tuple[str, ...] = (PaymentTerms.NET_15, PaymentTerms.NET_30, PaymentTerms.NET_60)
# The time of day the daily reminders' run sends (the beat's "send-dunning-reminders").
REMINDERS_SENT_AT = dt.time(8, 5)
INVOICE_BATCH = 250
ZERO = Decimal("0.00")


def history_to_invoice(since: dt.datetime) -> list[int]:
    """Completed orders placed since ``since`` with shipped units and no shipment: the
    historical ones not invoiced yet, oldest first."""
    return list(
        Order.objects.filter(
            status=OrderStatus.COMPLETED,
            placed_at__gte=since,
            shipments__isnull=True,
            lines__quantity_shipped__gt=0,
        )
        .distinct()
        .order_by("placed_at", "id")
        .values_list("pk", flat=True)
    )


def invoice_history(result: StepResult, *, warehouse: Location, now: dt.datetime) -> None:
    result.existing = Invoice.objects.filter(
        shipment__fulfillment_order__number__endswith="-H1"
    ).count()
    since = now - dt.timedelta(days=HISTORY_INVOICE_DAYS)
    waiting = history_to_invoice(since)
    promotions = history_promotions() if waiting else set()
    for chunk in batched(waiting, INVOICE_BATCH):
        with transaction.atomic():
            result.created += _invoice_orders(chunk, warehouse, promotions)
    settle_history_payment_status()


def settle_history_payment_status() -> int:
    """Historical card orders were paid before billing kept payments, so none of them is
    waiting for an authorisation: those that completed read as captured, those
    cancelled as voided. (Orders the demo places live keep the status their payments
    give them.) Records of the past, so they are written as such, without the timeline
    entry ``orders.services.record_payment_status`` adds to a live change. Returns how
    many orders changed."""
    history = Order.objects.filter(
        payment_method=PaymentMethod.CARD,
        payment_status=PaymentStatus.PENDING,
        events__type=OrderEventType.IMPORTED,
    )
    settled = {
        OrderStatus.COMPLETED: PaymentStatus.CAPTURED,
        OrderStatus.CANCELLED: PaymentStatus.VOIDED,
    }
    return sum(
        Order.objects.filter(pk__in=history.filter(status=status).values("pk")).update(
            payment_status=payment_status
        )
        for status, payment_status in settled.items()
    )


def _invoice_orders(order_ids: list[int], warehouse: Location, promotions: set[dt.date]) -> int:
    orders = list(
        Order.objects.filter(pk__in=order_ids)
        .select_related("shipping_method", "company")
        .prefetch_related("lines")
        .order_by("placed_at", "id")
    )
    by_order = {order.pk: order for order in orders}
    # A company on net terms paid its orders by invoice, as placement decides for its
    # orders now: invoiced on terms, with a due date.
    on_terms = [
        order.pk
        for order in orders
        if order.company is not None and order.company.payment_terms in NET_TERMS
    ]
    Order.objects.filter(pk__in=on_terms).update(
        payment_method=PaymentMethod.INVOICE, payment_status=PaymentStatus.NONE
    )
    invoices: list[Invoice] = []
    notes: list[CreditNote] = []
    for shipment in history_shipments(orders, warehouse, promotions):
        order = by_order[shipment.order_id]
        invoice = invoice_shipment(shipment.pk, issue_date=timezone.localdate(shipment.shipped_at))
        invoices.append(invoice)
        returned = {line.order_line_id: line for line in invoice.lines.all()}
        credits = [
            CreditLine(invoice_line_id=returned[line.pk].pk, quantity=line.quantity_returned)
            for line in order.lines.all()
            if line.quantity_returned and line.pk in returned
        ]
        if credits:
            notes.append(
                issue_credit_note(
                    invoice_id=invoice.pk,
                    lines=credits,
                    reason=CreditReason.RETURN,
                    actor=SEED_ACTOR,
                    issue_date=timezone.localdate(order.completed_at or shipment.shipped_at),
                )
            )
    _forget_documents_issued(invoices, notes)
    _record_payments([invoice.pk for invoice in invoices])
    return len(invoices)


def _forget_documents_issued(invoices: list[Invoice], notes: list[CreditNote]) -> None:
    """Drop the issuing events of these past documents before they commit: no PDF
    rendered ahead, no e-mail, no capture. (A relay that still publishes their ids finds
    no event and does nothing.)"""
    OutboxEvent.objects.filter(
        topic__in=["invoice.issued", "invoice.paid"],
        payload__invoice_id__in=[i.pk for i in invoices],
    ).delete()
    OutboxEvent.objects.filter(
        topic="credit_note.issued", payload__credit_note_id__in=[n.pk for n in notes]
    ).delete()


def _left_open(invoice: Invoice, today: dt.date) -> bool:
    """Whether an invoice on terms is one of the demo's overdue receivables."""
    if invoice.due_date is None:
        return False
    return 0 < (today - invoice.due_date).days <= int(settings.OMS_OVERDUE_GRACE_DAYS)


def _receive(invoice: Invoice, amount: Decimal, on: dt.date) -> None:
    """The company's bank transfer of ``amount`` for ``invoice``, received ``on``."""
    record_payment(
        company_id=invoice.company_id,
        amount=amount,
        received_date=on,
        actor=SEED_ACTOR,
        bank_reference=f"DEMO-{invoice.number}",
        allocations=[Allocation(invoice_id=invoice.pk, amount=amount)],
    )


def _record_payments(invoice_ids: list[int]) -> None:
    """Mark the invoices paid as their customers paid them, and log the reminders of
    those left open (see the module's docstring)."""
    today = timezone.localdate()
    credited = dict(
        CreditNote.objects.filter(invoice_id__in=invoice_ids)
        .values("invoice_id")
        .annotate(total=Sum("grand_total"))
        .values_list("invoice_id", "total")
    )
    paid_by_card: list[Invoice] = []
    left_open = 0
    for invoice in Invoice.objects.filter(pk__in=invoice_ids).order_by("pk"):
        owed = max(invoice.grand_total - credited.get(invoice.pk, Decimal("0.00")), ZERO)
        if invoice.payment_method != PaymentMethod.INVOICE:
            if invoice.issue_date <= today:
                invoice.status = InvoiceStatus.PAID
                invoice.amount_paid = owed
                invoice.paid_at = timezone.make_aware(
                    dt.datetime.combine(invoice.issue_date, dt.time(12))
                )
                paid_by_card.append(invoice)
            continue
        due = invoice.due_date or invoice.issue_date
        part_paid_on = None
        if _left_open(invoice, today):
            left_open += 1
            if owed > 0 and left_open % PART_PAID_EVERY == 1:
                part_paid_on = min(due + dt.timedelta(days=2), today)
                _receive(invoice, to_cents(owed / 2), part_paid_on)
        elif due <= today:
            if owed > 0:
                _receive(invoice, owed, due)
            continue
        # Open: overdue, or not due yet.
        _log_reminders(invoice, today, owed_before=owed, part_paid_on=part_paid_on)
    Invoice.objects.bulk_update(paid_by_card, ["status", "amount_paid", "paid_at"])


def _log_reminders(
    invoice: Invoice, today: dt.date, *, owed_before: Decimal, part_paid_on: dt.date | None
) -> None:
    """The reminders an open invoice on terms had by ``today``: each stage whose day has
    come, sent at the daily run's time to the order's e-mail with what was then owed
    (``owed_before`` until a part payment received ``part_paid_on``)."""
    invoice.refresh_from_db()
    owed = balance_due(invoice)
    if owed <= 0:
        return
    tz = timezone.get_current_timezone()
    DunningReminder.objects.bulk_create(
        [
            DunningReminder(
                invoice=invoice,
                company_id=invoice.company_id,
                stage=stage,
                stage_date=day,
                status=ReminderStatus.SENT,
                currency=invoice.currency,
                amount_due=owed if part_paid_on and part_paid_on <= day else owed_before,
                recipient=invoice.order.email,
                sent_at=dt.datetime.combine(day, REMINDERS_SENT_AT, tzinfo=tz),
            )
            for stage, day in stage_dates(invoice)
            if day <= today
        ],
        ignore_conflicts=True,
    )
