"""Thin billing tasks: ids in, one service call, safe to repeat."""

from typing import Any

from celery import shared_task

from core import outbox
from core.models import OutboxEvent

from . import documents, invoicing, notifications, payments, refunds, settlement


def _invoice(event: OutboxEvent) -> None:
    invoice = invoicing.invoice_shipment(event.payload["shipment_id"])
    # An order on terms whose invoices now hold more than its total is credited.
    settlement.settle_order(invoice.order_id)


@shared_task(name="billing.invoice_shipment_event", bind=True, acks_late=True, max_retries=8)
def invoice_shipment_event(self: Any, event_ids: int | list[int]) -> None:
    outbox.handle_events(self, event_ids, _invoice)


def _render_and_send(event: OutboxEvent) -> None:
    invoice_id = event.payload["invoice_id"]
    documents.store_invoice_pdf(invoice_id)
    notifications.email_invoice(invoice_id)


@shared_task(name="billing.render_invoice_pdf", bind=True, acks_late=True, max_retries=8)
def render_invoice_pdf(self: Any, event_ids: int | list[int]) -> None:
    # OSError: the mail server is unreachable or refused us; retried with backoff (the
    # stored PDF is not rendered again).
    outbox.handle_events(self, event_ids, _render_and_send, retry_on=(OSError,))


def _render_credit_note(event: OutboxEvent) -> None:
    documents.store_credit_note_pdf(event.payload["credit_note_id"])


@shared_task(name="billing.render_credit_note_pdf", bind=True, acks_late=True, max_retries=8)
def render_credit_note_pdf(self: Any, event_ids: int | list[int]) -> None:
    outbox.handle_events(self, event_ids, _render_credit_note)


# Card payments (billing.payments): each handler finds or writes its ledger rows first,
# so a run after a killed worker or a retry calls the provider with the same keys. An
# unreachable provider raises RetryLater: retried with backoff.


def _authorise(event: OutboxEvent) -> None:
    payments.authorise_order(event.payload["order_id"])


@shared_task(name="billing.authorise_order_event", bind=True, acks_late=True, max_retries=8)
def authorise_order_event(self: Any, event_ids: int | list[int]) -> None:
    outbox.handle_events(self, event_ids, _authorise)


def _capture(event: OutboxEvent) -> None:
    payments.capture_invoice(event.payload["invoice_id"])
    # Captured: what a card order's invoices billed beyond its total can be refunded.
    settlement.settle_order(event.payload["order_id"])


@shared_task(name="billing.capture_invoice_event", bind=True, acks_late=True, max_retries=8)
def capture_invoice_event(self: Any, event_ids: int | list[int]) -> None:
    outbox.handle_events(self, event_ids, _capture)


def _void(event: OutboxEvent) -> None:
    # Cancelling the unshipped units may have completed the order: its closing invoice
    # is issued first, so that its capture takes what it needs before the rest is voided.
    settlement.settle_order(event.payload["order_id"])
    payments.void_order_payments(event.payload["order_id"])


@shared_task(name="billing.void_order_event", bind=True, acks_late=True, max_retries=8)
def void_order_event(self: Any, event_ids: int | list[int]) -> None:
    outbox.handle_events(self, event_ids, _void)


def _reauthorise(event: OutboxEvent) -> None:
    payments.reauthorise_order(event.payload["order_id"])


@shared_task(name="billing.reauthorise_order_event", bind=True, acks_late=True, max_retries=8)
def reauthorise_order_event(self: Any, event_ids: int | list[int]) -> None:
    outbox.handle_events(self, event_ids, _reauthorise)


def _refund(event: OutboxEvent) -> None:
    refunds.execute_refund(event.payload["refund_id"])


@shared_task(name="billing.refund_event", bind=True, acks_late=True, max_retries=8)
def refund_event(self: Any, event_ids: int | list[int]) -> None:
    outbox.handle_events(self, event_ids, _refund)
