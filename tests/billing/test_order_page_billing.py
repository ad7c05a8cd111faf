"""The order page's billing section: the order's invoices and credit notes, shown to
whoever may view the order; links to the documents and their PDFs only for those who
may view them. A fixed number of queries however many documents."""

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from billing.credit_notes import issue_credit_note
from billing.invoicing import invoice_shipment
from billing.models import CreditReason, Invoice, InvoiceStatus
from core.actors import Actor
from oms.roles import sync_staff_groups
from tests.billing.conftest import company_buyer, make_products, place_routed, ship
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def billed_order(shop):
    """An order shipped in two parts: two invoices, one of them credited."""
    mug, kit = make_products(shop, [Decimal("12.50"), Decimal("30.00")])
    order, fo = place_routed([(mug, 2), (kit, 1)], customer=company_buyer("net30"))
    first = invoice_shipment(ship(fo, {mug.pk: 2}).pk, issue_date=dt.date(2026, 11, 2))
    second = invoice_shipment(ship(fo).pk, issue_date=dt.date(2026, 11, 4))
    note = issue_credit_note(
        invoice_id=second.pk,
        amount=Decimal("4.00"),
        reason=CreditReason.DAMAGED,
        actor=Actor.system("test"),
        issue_date=dt.date(2026, 11, 9),
    )
    return order, first, second, note


def client_for(role: str) -> Client:
    sync_staff_groups()
    user = UserFactory(username=f"{role}-user")
    user.groups.add(Group.objects.get(name=role))
    client = Client()
    client.force_login(user)
    return client


def order_page(client, order):
    response = client.get(reverse("admin:orders_order_change", args=[order.pk]))
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.parametrize("role", ["finance", "manager"])
def test_finance_sees_the_documents_with_links_and_pdfs(billed_order, role):
    order, first, second, note = billed_order

    page = order_page(client_for(role), order)

    assert "Billing" in page
    for document, name in ((first, "invoice"), (second, "invoice"), (note, "creditnote")):
        assert reverse(f"admin:billing_{name}_change", args=[document.pk]) in page
        assert reverse(f"admin:billing_{name}_pdf", args=[document.pk]) in page
    assert first.total_display in page
    assert note.total_display in page
    assert "Damaged in transit" in page
    assert "2026-12-02" in page  # the first invoice's due date (Net 30)


def test_agents_see_the_documents_read_only_without_links(billed_order):
    order, first, second, note = billed_order
    Invoice.objects.filter(pk=second.pk).update(
        status=InvoiceStatus.PAID, amount_paid=second.grand_total
    )

    page = order_page(client_for("agent"), order)

    assert "Billing" in page
    for document in (first, second, note):
        assert document.number in page
    # no link to the documents (agents have the Billing menu for payments received only)
    assert "/admin/billing/invoice/" not in page
    assert "/admin/billing/creditnote/" not in page
    assert "Download PDF" not in page
    # What the agent can tell the customer: paid, or not and past its due date.
    assert "<td>Paid</td>" in page
    assert "<td>Overdue (open)</td>" in page  # due 2026-12-02


def test_an_order_not_billed_yet_says_so(shop, admin_client):
    [product] = make_products(shop, [Decimal("9.00")])
    order, _ = place_routed([(product, 1)])

    page = order_page(admin_client, order)

    assert "Billing" in page
    assert "Nothing yet." in page


def _queries(client, order):
    with CaptureQueriesContext(connection) as context:
        response = client.get(reverse("admin:orders_order_change", args=[order.pk]))
    assert response.status_code == 200
    return len(context.captured_queries)


def test_the_section_costs_the_same_queries_for_one_or_many_documents(shop, billed_order):
    big = billed_order[0]
    [product] = make_products(shop, [Decimal("9.00")])
    small, fo = place_routed([(product, 1)], customer=company_buyer("net30"))
    invoice_shipment(ship(fo).pk)
    client = client_for("finance")
    order_page(client, small)  # warm-up: content types and permissions are cached

    assert _queries(client, small) == _queries(client, big)
