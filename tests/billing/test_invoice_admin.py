"""Invoices and credit notes in the console: read-only, filterable, with their PDF to
download, for finance and managers."""

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from billing.credit_notes import issue_credit_note
from billing.invoicing import invoice_shipment
from billing.models import CreditNote, CreditReason, Invoice
from core.actors import Actor
from oms.roles import sync_staff_groups
from tests.billing.conftest import company_buyer, make_products, place_routed, ship
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def documents(shop):
    [product] = make_products(shop, [Decimal("40.00")])
    _, fo = place_routed([(product, 2)], customer=company_buyer("net15"))
    invoice = invoice_shipment(ship(fo).pk, issue_date=dt.date(2026, 8, 3))
    note = issue_credit_note(
        invoice_id=invoice.pk,
        amount=Decimal("10.00"),
        reason=CreditReason.GOODWILL,
        actor=Actor.system("test"),
    )
    return invoice, note


def client_for(role: str) -> Client:
    sync_staff_groups()
    user = UserFactory(username=f"{role}-user")
    user.groups.add(Group.objects.get(name=role))
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("role", ["finance", "manager"])
def test_finance_and_managers_list_open_and_download_documents(documents, role):
    invoice, note = documents
    client = client_for(role)

    # due in August and unpaid: the list's status filter shows it as overdue
    listed = client.get(reverse("admin:billing_invoice_changelist"), {"status": "overdue"})
    page = client.get(reverse("admin:billing_invoice_change", args=[invoice.pk]))
    pdf = client.get(reverse("admin:billing_invoice_pdf", args=[invoice.pk]))
    note_page = client.get(reverse("admin:billing_creditnote_change", args=[note.pk]))
    note_pdf = client.get(reverse("admin:billing_creditnote_pdf", args=[note.pk]))

    assert listed.status_code == 200
    assert invoice.number in listed.content.decode()
    assert page.status_code == 200
    assert note.number in page.content.decode()  # the invoice lists its credit notes
    assert page.context["has_change_permission"] is False
    assert pdf.status_code == 200
    assert pdf["Content-Type"] == "application/pdf"
    assert b"".join(pdf.streaming_content).startswith(b"%PDF")
    assert f'filename="{invoice.number}.pdf"' in pdf["Content-Disposition"]
    assert note_page.status_code == 200
    assert note_pdf.status_code == 200
    assert Invoice.objects.get(pk=invoice.pk).pdf  # stored on the first download


def test_agents_see_no_invoices(documents):
    invoice, _ = documents
    client = client_for("agent")

    assert client.get(reverse("admin:billing_invoice_changelist")).status_code == 403
    assert client.get(reverse("admin:billing_invoice_pdf", args=[invoice.pk])).status_code == 403


def test_documents_cannot_be_edited_or_deleted_in_the_console(admin_client, documents):
    invoice, note = documents

    edit = admin_client.post(reverse("admin:billing_invoice_change", args=[invoice.pk]), {})
    delete = admin_client.post(
        reverse("admin:billing_creditnote_delete", args=[note.pk]), {"post": "yes"}
    )

    assert (edit.status_code, delete.status_code) == (403, 403)
    assert CreditNote.objects.filter(pk=note.pk).exists()


def test_the_lists_filter_and_search_by_number(admin_client, documents):
    invoice, _ = documents

    by_number = admin_client.get(reverse("admin:billing_invoice_changelist"), {"q": invoice.number})
    paid = admin_client.get(reverse("admin:billing_invoice_changelist"), {"status": "paid"})
    notes = admin_client.get(
        reverse("admin:billing_creditnote_changelist"), {"q": invoice.number.lower()}
    )

    assert by_number.context["cl"].result_count == 1
    assert paid.context["cl"].result_count == 0
    assert notes.context["cl"].result_count == 1
