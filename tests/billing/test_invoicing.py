"""Invoices from shipments: one per shipment, amounts that add up to the order."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core import mail

from billing.invoicing import invoice_shipment
from billing.models import Invoice, InvoiceStatus, PaymentMethod, PaymentTermsRule
from billing.selectors import invoiced_total
from billing.tasks import invoice_shipment_event
from core.models import OutboxEvent
from orders.models import OrderEvent, OrderEventType
from tests.billing.conftest import company_buyer, make_products, place_routed, ship

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 5, 4)


@pytest.fixture
def three_lines(shop):
    """An order of three lines (2 at $19.99, 1 at $5.25, 3 at $0.33) in New York."""
    products = make_products(shop, [Decimal("19.99"), Decimal("5.25"), Decimal("0.33")])
    a, b, c = products
    return products, place_routed([(a, 2), (b, 1), (c, 3)])


def shipment_event(shipment) -> OutboxEvent:
    return OutboxEvent.objects.get(topic="shipment.created", payload__shipment_id=shipment.pk)


def test_an_order_shipped_in_two_parts_is_invoiced_to_the_cent(three_lines):
    (a, _, c), (order, fo) = three_lines
    first = ship(fo, {a.pk: 1, c.pk: 2})
    second = ship(fo)

    one = invoice_shipment(first.pk, issue_date=DAY)
    two = invoice_shipment(second.pk, issue_date=DAY)

    order.refresh_from_db()
    assert one.grand_total + two.grand_total == order.grand_total
    assert one.subtotal + two.subtotal == order.subtotal
    assert one.tax_total + two.tax_total == order.tax_total
    assert one.shipping_total + two.shipping_total == order.shipping_total
    assert invoiced_total(order.pk) == order.grand_total
    # The first parcel holds $20.65 of the $46.22 of goods: its share of $5.00 shipping.
    assert one.subtotal == Decimal("20.65")
    assert one.shipping_total == Decimal("2.23")
    assert [(line.sku, line.quantity) for line in one.lines.all()] == [
        (a.sku, 1),
        (c.sku, 2),
    ]
    assert (one.completes_order, two.completes_order) == (False, True)
    assert (one.number, two.number) == ("INV-2026-000001", "INV-2026-000002")


def test_a_card_order_is_due_on_receipt_and_has_no_due_date(three_lines):
    _, (order, fo) = three_lines
    invoice = invoice_shipment(ship(fo).pk, issue_date=DAY)

    assert invoice.payment_method == PaymentMethod.CARD
    assert invoice.due_date is None
    assert invoice.status == InvoiceStatus.ISSUED
    assert invoice.bill_to["name"] == order.customer.full_name
    assert invoice.seller["legal_name"]


def test_a_company_on_terms_gets_the_due_date_of_its_terms_rule(shop):
    [product] = make_products(shop, [Decimal("100.00")])
    PaymentTermsRule.objects.filter(code="net60").update(days=45)
    buyer = company_buyer("net60")
    _, fo = place_routed([(product, 1)], customer=buyer)

    invoice = invoice_shipment(ship(fo).pk, issue_date=DAY)

    assert invoice.payment_method == PaymentMethod.INVOICE
    assert invoice.payment_terms == "net60"
    assert invoice.due_date == DAY + dt.timedelta(days=45)
    assert invoice.company == buyer.company
    assert invoice.bill_to["name"] == buyer.company.name
    assert invoice.bill_to["attention"] == buyer.full_name


def test_the_task_run_twice_issues_one_invoice(three_lines, django_capture_on_commit_callbacks):
    _, (order, fo) = three_lines
    shipment = ship(fo)
    event = shipment_event(shipment)

    invoice_shipment_event.apply(args=[[event.pk]], throw=True)
    invoice_shipment_event.apply(args=[[event.pk]], throw=True)

    assert Invoice.objects.filter(shipment=shipment).count() == 1
    invoice = Invoice.objects.get(shipment=shipment)
    assert invoice_shipment(shipment.pk) == invoice
    notes = OrderEvent.objects.filter(order=order, type=OrderEventType.NOTE)
    assert [e.message for e in notes if "Invoice" in e.message] == [
        f"Invoice {invoice.number} issued: ${invoice.grand_total}"
    ]
    issued = OutboxEvent.objects.filter(topic="invoice.issued")
    assert [e.payload for e in issued] == [{"order_id": order.pk, "invoice_id": invoice.pk}]


def test_a_failure_leaves_no_invoice_no_number_and_no_event(three_lines, monkeypatch):
    _, (order, fo) = three_lines
    shipment = ship(fo)
    PaymentTermsRule.objects.filter(code="due_on_receipt").delete()
    monkeypatch.setattr("billing.invoicing.BUILT_IN_PAYMENT_TERMS", ())

    with pytest.raises(Exception, match="No payment terms rule"):
        invoice_shipment(shipment.pk, issue_date=DAY)

    assert not Invoice.objects.exists()
    assert not OutboxEvent.objects.filter(topic="invoice.issued").exists()
    assert not OrderEvent.objects.filter(order=order, message__startswith="Invoice").exists()


def test_shipping_issues_the_invoice_stores_its_pdf_and_e_mails_it_through_the_outbox(
    three_lines, django_capture_on_commit_callbacks, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    _, (order, fo) = three_lines
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        shipment = ship(fo)

    invoice = Invoice.objects.get(shipment=shipment)
    assert invoice.grand_total == order.grand_total
    assert invoice.pdf
    invoice_mail = [m for m in mail.outbox if invoice.number in m.subject]
    assert len(invoice_mail) == 1
    assert OutboxEvent.objects.get(topic="invoice.issued").published_at is not None
