"""Payments received in the console: finance records, applies and takes off payments
and imports bank statements (a dry run with a row report first); agents only read."""

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from billing.models import Invoice, InvoiceStatus, PaymentApplication, ReceivedPayment
from billing.receivables import record_payment
from billing.resources import ReceivedPaymentResource
from oms.roles import sync_staff_groups
from tests.billing.conftest import SYSTEM
from tests.billing.test_receivables import terms_invoice
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

D = Decimal
TODAY = timezone.localdate()
LIST = "admin:billing_receivedpayment_changelist"
RECORD = "admin:billing_receivedpayment_record"
IMPORT = "admin:billing_receivedpayment_import"
PROCESS = "admin:billing_receivedpayment_process_import"


def client_for(role: str) -> Client:
    sync_staff_groups()
    user = UserFactory(username=f"{role}-user")
    user.groups.add(Group.objects.get(name=role))
    client = Client()
    client.force_login(user)
    return client


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def record_form(invoice: Invoice, **overrides) -> dict[str, str]:
    return {
        "account_number": invoice.company.account_number,
        "amount": "50.00",
        "received_date": TODAY.isoformat(),
        "method": "bank_transfer",
        "bank_reference": "TRX-100",
        "allocations": f"{invoice.number} 30.00",
        "note": "",
        **overrides,
    }


def test_finance_records_a_payment_split_as_typed(shop):
    invoice = terms_invoice(shop)
    finance = client_for("finance")
    assert finance.get(reverse(LIST)).status_code == 200
    assert finance.get(reverse(RECORD)).status_code == 200

    response = finance.post(reverse(RECORD), record_form(invoice))

    payment = ReceivedPayment.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("admin:billing_receivedpayment_change", args=[payment.pk])
    invoice.refresh_from_db()
    assert invoice.amount_paid == D("30.00")
    assert invoice.status == InvoiceStatus.PARTIALLY_PAID
    assert payment.on_account == D("20.00")
    [message] = messages_of(response)
    assert f"applied to {invoice.number} ($30.00); $20.00 on account." in message
    # the payment's page offers to apply the rest and to take the application off
    page = finance.get(response.url).content.decode()
    assert "Apply on-account money" in page
    assert "Take off an invoice" in page
    assert invoice.number in page


def test_a_refused_payment_shows_why_and_writes_nothing(shop):
    invoice = terms_invoice(shop)
    finance = client_for("finance")
    too_much = record_form(invoice, allocations=f"{invoice.number} {invoice.grand_total + 1}")

    response = finance.post(reverse(RECORD), too_much)

    assert response.status_code == 200
    assert any("cannot be applied" in m for m in messages_of(response))
    assert not ReceivedPayment.objects.exists()
    # an unknown invoice number is a field error on the box
    response = finance.post(reverse(RECORD), record_form(invoice, allocations="INV-2026-999999 1"))
    assert "no such invoice of this payer" in response.content.decode()
    assert not ReceivedPayment.objects.exists()


def test_on_account_money_is_applied_later_and_taken_off(shop):
    invoice = terms_invoice(shop)
    payment = record_payment(
        company_id=invoice.company_id,
        amount=D("500.00"),
        received_date=TODAY,
        auto_apply=False,
        actor=SYSTEM,
    )
    finance = client_for("finance")
    apply_url = reverse("admin:billing_receivedpayment_apply", args=[payment.pk])

    response = finance.post(apply_url, {"allocations": ""})

    assert response.status_code == 302
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID
    application = PaymentApplication.objects.get(payment=payment)
    unapply_url = reverse("admin:billing_receivedpayment_unapply", args=[payment.pk])
    response = finance.post(unapply_url, {"application": application.pk})
    assert response.status_code == 302
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.ISSUED
    payment.refresh_from_db()
    assert payment.on_account == D("500.00")


def test_agents_read_payments_but_cannot_record_import_or_export(shop):
    invoice = terms_invoice(shop)
    payment = record_payment(
        company_id=invoice.company_id, amount=D("10.00"), received_date=TODAY, actor=SYSTEM
    )
    agent = client_for("agent")
    listing = agent.get(reverse(LIST))
    assert listing.status_code == 200
    assert "Record payment" not in listing.content.decode()
    page = agent.get(reverse("admin:billing_receivedpayment_change", args=[payment.pk]))
    assert page.status_code == 200
    assert "Apply on-account money" not in page.content.decode()

    assert agent.get(reverse(RECORD)).status_code == 403
    assert agent.post(reverse(RECORD), record_form(invoice)).status_code == 403
    assert agent.get(reverse(IMPORT)).status_code == 403
    assert agent.get(reverse("admin:billing_receivedpayment_export")).status_code == 403
    apply_url = reverse("admin:billing_receivedpayment_apply", args=[payment.pk])
    assert agent.post(apply_url, {"allocations": ""}).status_code == 403
    assert ReceivedPayment.objects.count() == 1
    # warehouse staff do not see payments at all
    assert client_for("warehouse").get(reverse(LIST)).status_code == 403


def test_the_invoice_page_shows_its_payments_and_the_list_filters_overdue(shop):
    invoice = terms_invoice(shop)
    late = terms_invoice(shop, buyer=invoice.customer, due_days_ago=3)
    record_payment(
        company_id=invoice.company_id,
        amount=D("10.00"),
        received_date=TODAY,
        bank_reference="TRX-555",
        actor=SYSTEM,
        invoice_ids=[invoice.pk],
    )
    finance = client_for("finance")
    page = finance.get(reverse("admin:billing_invoice_change", args=[invoice.pk]))
    assert "Payments received" in page.content.decode()
    assert "TRX-555" in page.content.decode()

    overdue = finance.get(reverse("admin:billing_invoice_changelist"), {"status": "overdue"})
    assert list(overdue.context["cl"].result_list) == [late]
    still_open = finance.get(reverse("admin:billing_invoice_changelist"), {"status": "issued"})
    assert list(still_open.context["cl"].result_list) == []


def test_the_erp_export_lists_payments_with_their_invoices(shop):
    invoice = terms_invoice(shop)
    record_payment(
        company_id=invoice.company_id,
        amount=D("10.00"),
        received_date=TODAY,
        bank_reference="TRX-600",
        actor=SYSTEM,
    )
    data = {"format": "0", "resource": "0"}
    for name in ReceivedPaymentResource._meta.fields:
        data[f"receivedpaymentresource_{name}"] = "on"
    response = client_for("finance").post(reverse("admin:billing_receivedpayment_export"), data)
    assert response.status_code == 200, response.content[:500]
    content = response.content.decode()
    assert "TRX-600" in content
    assert f"{invoice.number}:10.00" in content


# --- the bank statement import --------------------------------------------------------


def statement(*rows: str) -> SimpleUploadedFile:
    header = "date,amount,currency,payer_reference,remittance,bank_reference"
    body = "\n".join([header, *rows]) + "\n"
    return SimpleUploadedFile("statement.csv", body.encode(), content_type="text/csv")


def dry_run(client: Client, upload: SimpleUploadedFile):
    response = client.post(reverse(IMPORT), {"import_file": upload, "format": "0"})
    assert response.status_code == 200, response.content[:500]
    return response


def test_a_statement_dry_run_reports_each_row_and_writes_nothing(shop):
    invoice = terms_invoice(shop)
    other = terms_invoice(shop, buyer=invoice.customer)
    company = invoice.company
    record_payment(
        company_id=company.pk,
        amount=D("1.00"),
        received_date=TODAY,
        bank_reference="B-OLD",
        auto_apply=False,
        actor=SYSTEM,
    )
    before = ReceivedPayment.objects.count()
    day = TODAY.isoformat()
    upload = statement(
        f"{day},{invoice.grand_total},USD,,Payment {invoice.number} thanks,B-1",
        f"{day},25.00,USD,{company.account_number},March,B-2",
        f"{day},12.00,USD,,no reference here,B-3",
        f"{day},1.00,USD,{company.account_number},again,B-OLD",
    )
    finance = client_for("finance")

    response = dry_run(finance, upload)

    result = response.context["result"]
    rows = [row.diff[-1] for row in result.valid_rows()]
    assert rows[0].startswith("Booked")
    assert f"applied to {invoice.number}" in rows[0]
    assert f"applied to {other.number}" in rows[1]
    assert rows[2].startswith("Unmatched")
    assert rows[3].startswith("Duplicate")
    assert [row.import_type for row in result.valid_rows()] == ["new", "new", "skip", "skip"]
    assert response.context["confirm_form"] is not None
    # nothing was written by the dry run
    assert ReceivedPayment.objects.count() == before
    invoice.refresh_from_db()
    assert invoice.amount_paid == 0

    # confirming books the matched rows, once
    confirm = response.context["confirm_form"].initial
    booked = finance.post(reverse(PROCESS), confirm)
    assert booked.status_code == 302
    assert ReceivedPayment.objects.count() == before + 2
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID
    assert set(ReceivedPayment.objects.values_list("bank_reference", flat=True)) >= {"B-1", "B-2"}

    # the same statement again: every booked row is a duplicate now
    again = dry_run(finance, statement(f"{day},25.00,USD,{company.account_number},March,B-2"))
    [row] = again.context["result"].valid_rows()
    assert row.import_type == "skip"
    assert row.diff[-1].startswith("Duplicate")


def test_bad_rows_are_reported_and_block_the_import(shop):
    invoice = terms_invoice(shop)
    day = TODAY.isoformat()
    upload = statement(
        f"{day},{invoice.grand_total},USD,,{invoice.number},B-10",
        f"yesterday,10.00,USD,{invoice.company.account_number},x,B-11",
        f"{day},-5.00,USD,{invoice.company.account_number},x,B-12",
        f"{day},5.00,USD,{invoice.company.account_number},x,",
    )
    response = dry_run(client_for("finance"), upload)

    result = response.context["result"]
    assert result.has_validation_errors()
    invalid = {row.number: row.error_dict for row in result.invalid_rows}
    assert set(invalid) == {2, 3, 4}
    assert "date" in invalid[2]
    assert "amount" in invalid[3]
    assert "bank_reference" in invalid[4]
    assert response.context.get("confirm_form") is None
    assert not ReceivedPayment.objects.exists()
    invoice.refresh_from_db()
    assert invoice.amount_paid == 0


def test_a_statement_without_the_columns_is_refused(shop):
    upload = SimpleUploadedFile("s.csv", b"when,how much\n2026-01-01,5\n", content_type="text/csv")
    response = dry_run(client_for("finance"), upload)
    assert response.context["result"].has_errors()
    assert "has no column date, amount, bank_reference" in response.content.decode()
    assert not ReceivedPayment.objects.exists()


def test_old_dates_parse_in_day_first_and_us_forms(shop):
    invoice = terms_invoice(shop)
    when = TODAY - dt.timedelta(days=2)
    upload = statement(
        f"{when:%d.%m.%Y},1.00,USD,{invoice.company.account_number},a,B-20",
        f"{when:%m/%d/%Y},1.00,USD,{invoice.company.account_number},b,B-21",
    )
    response = dry_run(client_for("finance"), upload)
    assert [row.import_type for row in response.context["result"].valid_rows()] == ["new", "new"]


def _count_queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as context:
        assert client.get(url).status_code == 200
    return len(context.captured_queries)


def test_the_payments_list_and_page_cost_the_same_queries_for_more_rows(shop):
    invoice = terms_invoice(shop)
    finance = client_for("finance")

    def payments(count: int) -> ReceivedPayment:
        made = [
            record_payment(
                company_id=invoice.company_id,
                amount=D("1.00"),
                received_date=TODAY,
                bank_reference=f"Q-{ReceivedPayment.objects.count()}-{n}",
                invoice_ids=[invoice.pk],
                actor=SYSTEM,
            )
            for n in range(count)
        ]
        return made[-1]

    last = payments(1)
    invoice_page = reverse("admin:billing_invoice_change", args=[invoice.pk])
    for url in (reverse(LIST), invoice_page):  # warm the caches a first request fills
        _count_queries(finance, url)
    few = _count_queries(finance, reverse(LIST))
    few_on_invoice = _count_queries(finance, invoice_page)
    payments(5)
    assert _count_queries(finance, reverse(LIST)) == few
    assert _count_queries(finance, invoice_page) == few_on_invoice
    page = reverse("admin:billing_receivedpayment_change", args=[last.pk])
    assert _count_queries(finance, page) <= few + 10
