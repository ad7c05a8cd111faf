"""The billing API: a company reads its own invoices and credit notes, and their PDFs;
another company's documents are 404 exactly like unknown ones; lists are paged in a
fixed number of queries."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.cache import caches
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from billing.credit_notes import CreditLine, issue_credit_note
from billing.invoicing import invoice_shipment
from billing.models import CreditNote, CreditReason, Invoice, InvoiceStatus
from core.actors import Actor
from customers.api_keys import create_api_key, create_storefront_api_key, create_vendor_api_key
from tests.billing.conftest import company_buyer, make_products, place_routed, ship
from tests.factories import LocationFactory

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"
INVOICES = "/api/v1/invoices/"
CREDIT_NOTES = "/api/v1/credit-notes/"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _no_throttle_counts_left_over():
    for cache in caches.all():
        cache.clear()
    yield
    for cache in caches.all():
        cache.clear()


def client_for(raw_key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    return client


def invoiced(shop, buyer, issue_date=None, units=2) -> Invoice:
    [product] = make_products(shop, [Decimal("40.00")])
    _, fo = place_routed([(product, units)], customer=buyer)
    return invoice_shipment(ship(fo).pk, issue_date=issue_date or timezone.localdate())


@pytest.fixture
def acme(shop):
    buyer = company_buyer("net30")
    return buyer, client_for(create_api_key(company=buyer.company, name="erp").raw_key)


@pytest.fixture
def globex(shop):
    buyer = company_buyer("net15")
    return buyer, client_for(create_api_key(company=buyer.company, name="erp").raw_key)


def assert_problem(response, status, code):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert (body["status"], body["code"]) == (status, code)
    return body


def test_a_company_reads_its_invoice_with_lines_totals_and_links(shop, acme):
    buyer, api = acme
    invoice = invoiced(shop, buyer)

    listed = api.get(INVOICES)
    detail = api.get(f"{INVOICES}{invoice.number}/")

    assert listed.status_code == 200
    assert [i["number"] for i in listed.json()["results"]] == [invoice.number]
    body = detail.json()
    assert body == listed.json()["results"][0]
    assert body["order_number"] == invoice.order.number
    assert body["shipment_id"] == invoice.shipment_id
    assert body["status"] == "issued"
    assert body["overdue"] is False
    assert body["due_date"] == (invoice.issue_date + dt.timedelta(days=30)).isoformat()  # Net 30
    assert body["payment_method"] == "invoice"
    assert body["payment_terms"] == "net30"
    assert body["totals"] == {
        "currency": "USD",
        "subtotal": "80.00",
        "discount": "0.00",
        "shipping": "5.00",
        "shipping_tax": "0.44",
        "tax": "7.54",
        "grand_total": "92.54",
    }
    assert body["amount_paid"] == "0.00"
    assert body["amount_credited"] == "0.00"
    assert body["credit_notes"] == []
    [line] = body["lines"]
    assert (line["quantity"], line["unit_price"], line["line_total"]) == (2, "40.00", "80.00")
    assert body["links"]["self"].endswith(f"/api/v1/invoices/{invoice.number}/")
    assert body["links"]["pdf"].endswith(f"/api/v1/invoices/{invoice.number}/pdf/")
    assert body["links"]["order"].endswith(f"/api/v1/orders/{invoice.order.number}/")


def test_an_invoice_past_due_and_unpaid_is_overdue(shop, acme):
    buyer, api = acme
    invoice = invoiced(shop, buyer, issue_date=dt.date(2020, 1, 2))

    body = api.get(f"{INVOICES}{invoice.number}/").json()

    assert body["overdue"] is True
    assert body["status"] == "overdue"


def test_another_companys_documents_are_not_found_like_unknown_ones(shop, acme, globex):
    buyer, _ = acme
    _, other = globex
    invoice = invoiced(shop, buyer)
    note = issue_credit_note(
        invoice_id=invoice.pk,
        amount=Decimal("5.00"),
        reason=CreditReason.GOODWILL,
        actor=Actor.system("test"),
    )

    for path in (
        f"{INVOICES}{invoice.number}/",
        f"{INVOICES}{invoice.number}/pdf/",
        f"{CREDIT_NOTES}{note.number}/",
        f"{CREDIT_NOTES}{note.number}/pdf/",
    ):
        theirs = assert_problem(other.get(path), 404, "not_found")
        unknown = assert_problem(
            other.get(path.replace(f"-{invoice.issue_date.year}-", "-2099-")), 404, "not_found"
        )
        assert theirs == unknown
    assert other.get(INVOICES).json()["results"] == []
    assert other.get(CREDIT_NOTES).json()["results"] == []
    assert not Invoice.objects.get(pk=invoice.pk).pdf  # nothing rendered for them


def test_the_storefront_and_vendors_may_not_read_invoices(shop, acme):
    buyer, _ = acme
    invoice = invoiced(shop, buyer)
    storefront = client_for(create_storefront_api_key(name="shop").raw_key)
    vendor = client_for(
        create_vendor_api_key(
            vendor=LocationFactory(code="VEND", kind="dropship"), name="portal"
        ).raw_key
    )

    for client in (storefront, vendor):
        for path in (INVOICES, f"{INVOICES}{invoice.number}/", CREDIT_NOTES):
            assert_problem(client.get(path), 403, "permission_denied")
    assert_problem(APIClient().get(INVOICES), 401, "not_authenticated")


def test_invoices_filter_by_status_order_and_issue_dates(shop, acme):
    buyer, api = acme
    early = invoiced(shop, buyer, issue_date=dt.date(2026, 10, 30))
    late = invoiced(shop, buyer, issue_date=dt.date(2026, 11, 5))
    Invoice.objects.filter(pk=late.pk).update(
        status=InvoiceStatus.PAID, amount_paid=late.grand_total
    )

    def numbers(**query):
        response = api.get(INVOICES, query)
        assert response.status_code == 200, response.content
        return [i["number"] for i in response.json()["results"]]

    assert numbers() == [late.number, early.number]
    assert numbers(status="paid") == [late.number]
    # the early one is past its due date: listed as overdue, not as open
    assert numbers(status="overdue") == [early.number]
    assert numbers(status="issued") == []
    assert numbers(order=early.order.number) == [early.number]
    assert numbers(issued_from="2026-11-01") == [late.number]
    assert numbers(issued_to="2026-10-30") == [early.number]
    assert numbers(issued_from="2026-10-30", issued_to="2026-11-05") == [late.number, early.number]
    assert_problem(api.get(INVOICES, {"status": ""}), 400, "invalid_input")
    assert_problem(api.get(INVOICES, {"status": "lost"}), 400, "invalid_input")
    assert_problem(api.get(INVOICES, {"issued_from": "yesterday"}), 400, "invalid_input")


def test_invoices_are_cursor_paged_newest_first(shop, acme):
    buyer, api = acme
    invoices = [invoiced(shop, buyer) for _ in range(3)]

    first = api.get(INVOICES, {"page_size": 2}).json()
    second = api.get(first["next"]).json()

    assert [i["number"] for i in first["results"] + second["results"]] == [
        i.number for i in reversed(invoices)
    ]
    assert second["next"] is None


def test_the_invoice_pdf_is_rendered_on_demand_and_then_served_as_stored(shop, acme):
    buyer, api = acme
    invoice = invoiced(shop, buyer)
    assert not invoice.pdf  # its task has not run (no worker in this test)

    first = api.get(f"{INVOICES}{invoice.number}/pdf/")
    stored = Invoice.objects.get(pk=invoice.pk).pdf.name
    again = api.get(f"{INVOICES}{invoice.number}/pdf/", HTTP_ACCEPT="application/pdf")

    for response in (first, again):
        assert response.status_code == 200
        assert response["Content-Type"] == "application/pdf"
        assert response.content.startswith(b"%PDF")
        assert f'filename="{invoice.number}.pdf"' in response["Content-Disposition"]
    assert stored
    assert Invoice.objects.get(pk=invoice.pk).pdf.name == stored
    assert again.content == first.content


def test_a_company_reads_its_credit_notes_and_their_pdf(shop, acme):
    buyer, api = acme
    invoice = invoiced(shop, buyer)
    line = invoice.lines.get()
    by_units = issue_credit_note(
        invoice_id=invoice.pk,
        lines=[CreditLine(invoice_line_id=line.pk, quantity=1)],
        reason=CreditReason.DAMAGED,
        actor=Actor.system("test"),
        issue_date=dt.date(2026, 11, 10),
    )
    goodwill = issue_credit_note(
        invoice_id=invoice.pk,
        amount=Decimal("5.00"),
        reason=CreditReason.GOODWILL,
        actor=Actor.system("test"),
        issue_date=dt.date(2026, 11, 12),
    )

    listed = api.get(CREDIT_NOTES).json()["results"]
    detail = api.get(f"{CREDIT_NOTES}{by_units.number}/").json()
    pdf = api.get(f"{CREDIT_NOTES}{goodwill.number}/pdf/")
    on_invoice = api.get(f"{INVOICES}{invoice.number}/").json()

    assert [n["number"] for n in listed] == [goodwill.number, by_units.number]
    assert detail["invoice_number"] == invoice.number
    assert detail["order_number"] == invoice.order.number
    assert detail["reason"] == "damaged"
    assert detail["totals"]["grand_total"] == f"{by_units.grand_total:.2f}"
    [credited] = detail["lines"]
    assert (credited["invoice_line_position"], credited["quantity"]) == (line.position, 1)
    assert detail["links"]["invoice"].endswith(f"/api/v1/invoices/{invoice.number}/")
    assert pdf.status_code == 200
    assert pdf.content.startswith(b"%PDF")
    assert CreditNote.objects.get(pk=goodwill.pk).pdf
    assert on_invoice["credit_notes"] == [by_units.number, goodwill.number]
    assert on_invoice["amount_credited"] == f"{by_units.grand_total + goodwill.grand_total:.2f}"
    assert [
        n["number"] for n in api.get(CREDIT_NOTES, {"invoice": invoice.number}).json()["results"]
    ] == [goodwill.number, by_units.number]
    assert [
        n["number"] for n in api.get(CREDIT_NOTES, {"reason": "goodwill"}).json()["results"]
    ] == [goodwill.number]
    assert [
        n["number"] for n in api.get(CREDIT_NOTES, {"issued_to": "2026-11-10"}).json()["results"]
    ] == [by_units.number]


# API key; the page of invoices (with their orders); their lines; their credit notes.
INVOICE_LIST_QUERIES = 4
# API key; the page of credit notes (with invoices and orders); their lines (with the
# invoice lines they credit).
CREDIT_NOTE_LIST_QUERIES = 3


def _queries(call):
    with CaptureQueriesContext(connection) as context:
        response = call()
    assert response.status_code == 200, response.content
    return len(context.captured_queries)


def test_the_lists_run_the_same_queries_for_one_or_many_documents(shop, acme):
    buyer, api = acme
    counts = {}
    api.get(INVOICES)  # warm-up: stamps the key's last use
    for size in (1, 4):
        while Invoice.objects.filter(company=buyer.company).count() < size:
            invoice = invoiced(shop, buyer)
            issue_credit_note(
                invoice_id=invoice.pk,
                amount=Decimal("1.00"),
                reason=CreditReason.GOODWILL,
                actor=Actor.system("test"),
            )
        counts[size] = (
            _queries(lambda: api.get(INVOICES)),
            _queries(lambda: api.get(CREDIT_NOTES)),
        )

    assert counts == dict.fromkeys((1, 4), (INVOICE_LIST_QUERIES, CREDIT_NOTE_LIST_QUERIES))
