"""Exports for an ERP from the billing console: invoices, their lines and credit notes
as CSV or XLSX of the rows the list's filters select, and the journal page, for
finance and managers only."""

import csv
import datetime as dt
import io
from decimal import Decimal

import openpyxl
import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from billing.credit_notes import issue_credit_note
from billing.invoicing import invoice_shipment
from billing.models import CreditReason
from billing.resources import (
    CreditNoteLineResource,
    CreditNoteResource,
    InvoiceLineResource,
    InvoiceResource,
)
from core.actors import Actor
from oms.roles import sync_staff_groups
from tests.billing.conftest import company_buyer, make_products, place_routed, ship
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

RESOURCES = {
    "billing_invoice": (InvoiceResource, InvoiceLineResource),
    "billing_creditnote": (CreditNoteResource, CreditNoteLineResource),
}


@pytest.fixture
def billed(shop):
    """Two invoices (of two lines, and of one), the first with a credit note."""
    mug, kit = make_products(shop, [Decimal("12.50"), Decimal("30.00")])
    buyer = company_buyer("net30")
    _, fo = place_routed([(mug, 2), (kit, 1)], customer=buyer)
    first = invoice_shipment(ship(fo).pk, issue_date=dt.date(2026, 11, 2))
    _, fo = place_routed([(mug, 4)], customer=buyer)
    second = invoice_shipment(ship(fo).pk, issue_date=dt.date(2026, 11, 9))
    note = issue_credit_note(
        invoice_id=first.pk,
        amount=Decimal("7.00"),
        reason=CreditReason.PRICE_ADJUSTMENT,
        actor=Actor.system("test"),
        issue_date=dt.date(2026, 11, 12),
    )
    return first, second, note


def client_for(role: str) -> Client:
    sync_staff_groups()
    user = UserFactory(username=f"{role}-user")
    user.groups.add(Group.objects.get(name=role))
    client = Client()
    client.force_login(user)
    return client


def export(client, admin_name, *, resource=0, file_format=0, query=""):
    """POST the export form as the console does: every field of the chosen resource."""
    chosen = RESOURCES[admin_name][resource]
    data = {"format": str(file_format), "resource": str(resource)}
    for name in chosen._meta.fields:
        data[f"{chosen.__name__.lower()}_{name}"] = "on"
    url = reverse(f"admin:{admin_name}_export") + (f"?{query}" if query else "")
    return client.post(url, data)


def csv_rows(response):
    assert response.status_code == 200, response.content[:500]
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))


@pytest.mark.parametrize("role", ["finance", "manager"])
def test_finance_exports_invoices_as_csv(billed, role):
    first, second, _ = billed

    rows = csv_rows(export(client_for(role), "billing_invoice"))

    assert [r["number"] for r in rows] == [first.number, second.number]
    row = rows[0]
    assert row["order_number"] == first.order.number
    assert row["company"] == first.company.account_number
    assert Decimal(row["grand_total"]) == first.grand_total
    assert row["issue_date"] == "2026-11-02"
    assert row["due_date"] == "2026-12-02"


def test_the_export_keeps_to_the_lists_filters(billed):
    _, second, _ = billed

    rows = csv_rows(export(client_for("finance"), "billing_invoice", query=f"q={second.number}"))

    assert [r["number"] for r in rows] == [second.number]


def test_invoice_lines_are_exported_from_the_invoice_list(billed):
    first, second, _ = billed

    rows = csv_rows(export(client_for("finance"), "billing_invoice", resource=1))

    assert [(r["invoice_number"], r["position"]) for r in rows] == [
        (first.number, "1"),
        (first.number, "2"),
        (second.number, "1"),
    ]
    for invoice in (first, second):
        net = sum(Decimal(r["line_total"]) for r in rows if r["invoice_number"] == invoice.number)
        assert net == invoice.subtotal - invoice.discount_total


def test_credit_notes_are_exported_as_xlsx(billed):
    first, _, note = billed

    response = export(client_for("finance"), "billing_creditnote", file_format=1)

    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    header, *rows = list(sheet.iter_rows(values_only=True))
    record = dict(zip(header, rows[0], strict=True))
    assert len(rows) == 1
    assert record["number"] == note.number
    assert record["invoice_number"] == first.number
    assert Decimal(str(record["grand_total"])) == note.grand_total


def test_agents_may_not_export_documents_nor_the_journal(billed):
    client = client_for("agent")

    assert export(client, "billing_invoice").status_code == 403
    assert export(client, "billing_creditnote").status_code == 403
    assert client.get(reverse("admin:billing_invoice_journal")).status_code == 403


def test_finance_downloads_the_journal_of_a_range_from_the_console(billed):
    first, second, note = billed
    client = client_for("finance")

    page = client.get(reverse("admin:billing_invoice_journal"))
    listed = client.get(reverse("admin:billing_invoice_changelist"))
    download = client.post(
        reverse("admin:billing_invoice_journal"),
        {"date_from": "2026-11-01", "date_to": "2026-11-30", "file_format": "csv"},
    )

    assert page.status_code == 200
    assert reverse("admin:billing_invoice_journal") in listed.content.decode()
    assert download["Content-Type"].startswith("text/csv")
    assert 'filename="journal-2026-11-01-2026-11-30.csv"' in download["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(download.content.decode())))
    assert {r["document_number"] for r in rows} == {first.number, second.number, note.number}
    assert sum(Decimal(r["debit"]) for r in rows) == sum(Decimal(r["credit"]) for r in rows)


def test_the_journal_page_refuses_a_range_that_ends_before_it_starts(billed):
    response = client_for("finance").post(
        reverse("admin:billing_invoice_journal"),
        {"date_from": "2026-11-30", "date_to": "2026-11-01", "file_format": "xlsx"},
    )

    assert response.status_code == 200
    assert "ends before it starts" in response.content.decode()
