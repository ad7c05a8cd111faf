"""Thin billing tasks: ids in, one service call, safe to repeat."""

from typing import Any

from celery import shared_task

from core import outbox
from core.models import OutboxEvent

from . import documents, invoicing, notifications


def _invoice(event: OutboxEvent) -> None:
    invoicing.invoice_shipment(event.payload["shipment_id"])


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
