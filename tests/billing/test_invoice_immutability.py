"""PostgreSQL refuses to rewrite or delete an issued invoice or credit note; only its
payment status and stored PDF may change."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction

from billing.credit_notes import issue_credit_note
from billing.invoicing import invoice_shipment
from billing.models import CreditNote, CreditReason, Invoice, InvoiceLine, InvoiceStatus
from core.actors import Actor
from tests.billing.conftest import make_products, place_routed, ship

pytestmark = pytest.mark.django_db


@pytest.fixture
def invoice(shop):
    [product] = make_products(shop, [Decimal("12.00")])
    _, fo = place_routed([(product, 2)])
    return invoice_shipment(ship(fo).pk, issue_date=dt.date(2026, 7, 1))


def assert_refused(sql: str, params: list) -> None:
    with (
        pytest.raises(IntegrityError, match="issued documents are immutable"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql, params)


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("grand_total", "0.01"),
        ("subtotal", "1.00"),
        ("number", "INV-2026-999999"),
        ("due_date", "2030-01-01"),
        ("bill_to", '{"name": "Someone else"}'),
    ],
)
def test_a_raw_update_of_what_an_invoice_says_is_refused(invoice, column, value):
    sql = f"UPDATE billing_invoice SET {column} = %s WHERE id = %s"  # noqa: S608 - test's own names
    assert_refused(sql, [value, invoice.pk])

    assert Invoice.objects.get(pk=invoice.pk).number == invoice.number


def test_lines_cannot_be_changed_and_documents_cannot_be_deleted(invoice):
    line = invoice.lines.first()
    note = issue_credit_note(
        invoice_id=invoice.pk,
        amount=Decimal("1.00"),
        reason=CreditReason.GOODWILL,
        actor=Actor.system("test"),
    )

    assert_refused("UPDATE billing_invoiceline SET quantity = 1 WHERE id = %s", [line.pk])
    assert_refused("DELETE FROM billing_invoiceline WHERE id = %s", [line.pk])
    assert_refused("UPDATE billing_creditnote SET grand_total = 5 WHERE id = %s", [note.pk])
    assert_refused("DELETE FROM billing_creditnote WHERE id = %s", [note.pk])
    assert_refused("DELETE FROM billing_invoice WHERE id = %s", [invoice.pk])
    assert InvoiceLine.objects.filter(pk=line.pk, quantity=2).exists()
    assert CreditNote.objects.filter(pk=note.pk).exists()


def test_payment_status_and_the_pdf_may_change(invoice):
    Invoice.objects.filter(pk=invoice.pk).update(
        status=InvoiceStatus.PAID, amount_paid=invoice.grand_total, pdf="invoices/x.pdf"
    )

    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_paid) == (InvoiceStatus.PAID, invoice.grand_total)
