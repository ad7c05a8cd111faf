"""The aging report page: listed in the billing section of the admin index for finance
and managers, refused to agents; the table with links to each company's open invoices,
its exports, and a query count that does not grow with the companies."""

import csv
import datetime as dt
import io
from decimal import Decimal

import openpyxl
import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from billing.invoicing import invoice_shipment
from billing.models import Invoice, InvoiceStatus
from core.money import format_money
from oms.roles import sync_staff_groups
from tests.billing.conftest import company_buyer, make_products, place_routed, ship
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

URL = "admin:billing_agingreport_changelist"


def client_for(role: str) -> Client:
    sync_staff_groups()
    user = UserFactory(username=f"{role}-user")
    user.groups.add(Group.objects.get(name=role))
    client = Client()
    client.force_login(user)
    return client


def invoice_due(shop, days_past_due: int, *, on: dt.date | None = None) -> Invoice:
    on = on or timezone.localdate()
    [product] = make_products(shop, [Decimal("100.00")])
    _, fo = place_routed([(product, 1)], customer=company_buyer("net30"))
    due = on - dt.timedelta(days=days_past_due)
    return invoice_shipment(ship(fo).pk, issue_date=due - dt.timedelta(days=30))


@pytest.mark.parametrize("role", ["finance", "manager"])
def test_finance_and_managers_find_the_report_in_the_billing_section(db, role):
    client = client_for(role)

    index = client.get(reverse("admin:index")).content.decode()
    billing = client.get(reverse("admin:app_list", args=["billing"])).content.decode()

    url = reverse(URL)
    assert url in index
    assert url in billing
    assert "Aging report" in billing
    assert client.get(url).status_code == 200


@pytest.mark.parametrize("role", ["agent", "sales_rep", "warehouse"])
def test_other_roles_neither_see_nor_open_the_report(db, role):
    client = client_for(role)

    assert reverse(URL) not in client.get(reverse("admin:index")).content.decode()
    assert client.get(reverse(URL)).status_code == 403
    assert client.get(reverse(URL), {"format": "csv"}).status_code == 403


def test_the_page_shows_each_company_with_a_link_to_its_open_invoices(shop):
    late = invoice_due(shop, 45)
    soon = invoice_due(shop, -10)
    client = client_for("finance")

    page = client.get(reverse(URL)).content.decode()

    assert f"Aging report on {timezone.localdate():%Y-%m-%d}" in page
    for heading in ("Current", "1–30 days", "31–60 days", "61–90 days", "Over 90 days", "Total"):
        assert heading in page
    assert late.company.name in page
    assert soon.company.name in page
    assert format_money(late.grand_total, "USD") in page
    # The company's link lists its open invoices, and only them.
    link = (
        f"{reverse('admin:billing_invoice_changelist')}?company__id__exact={late.company_id}"
        f"&amp;currency=USD&amp;status__in=issued%2Cpartially_paid"
    )
    assert link in page
    listing = client.get(link.replace("&amp;", "&"))
    assert listing.status_code == 200
    assert list(listing.context["cl"].queryset) == [late]
    Invoice.objects.filter(pk=late.pk).update(
        status=InvoiceStatus.PAID, amount_paid=late.grand_total
    )
    listing = client.get(link.replace("&amp;", "&"))
    assert list(listing.context["cl"].queryset) == []


def test_the_as_of_date_moves_the_balances_along_the_buckets(shop):
    today = timezone.localdate()
    invoice = invoice_due(shop, 0)
    client = client_for("finance")

    later = today + dt.timedelta(days=61)
    response = client.get(reverse(URL), {"as_of": later.isoformat()})

    assert response.status_code == 200
    [row] = [item["row"] for item in response.context["rows"]]
    assert row.days_61_90 == invoice.grand_total
    assert f"Aging report on {later:%Y-%m-%d}" in response.content.decode()


def test_a_date_that_is_not_a_date_gets_a_message_and_todays_report(shop):
    invoice_due(shop, 5)
    client = client_for("finance")

    response = client.get(reverse(URL), {"as_of": "next tuesday"})

    assert response.status_code == 200
    messages = [str(m) for m in response.context["messages"]]
    assert any("That is not a date" in m for m in messages)
    assert f"Aging report on {timezone.localdate():%Y-%m-%d}" in response.content.decode()


def test_the_exports_are_the_table_on_the_page(shop):
    invoice = invoice_due(shop, 31)
    client = client_for("finance")
    as_of = timezone.localdate().isoformat()

    response = client.get(reverse(URL), {"as_of": as_of, "format": "csv"})

    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"] == f'attachment; filename="aging-{as_of}.csv"'
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[1][:3] == [invoice.company.account_number, invoice.company.name, "USD"]
    assert rows[1][5] == str(invoice.grand_total)  # 31-60 days
    assert rows[-1][1] == "Total"

    response = client.get(reverse(URL), {"as_of": as_of, "format": "xlsx"})

    assert response["Content-Disposition"] == f'attachment; filename="aging-{as_of}.xlsx"'
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    values = list(sheet.iter_rows(values_only=True))
    assert values[1][1] == invoice.company.name
    assert float(values[1][5]) == float(invoice.grand_total)
    # The page offers both.
    page = client.get(reverse(URL), {"as_of": as_of}).content.decode()
    assert f"?as_of={as_of}&amp;format=csv" in page
    assert f"?as_of={as_of}&amp;format=xlsx" in page


def test_the_page_costs_the_same_queries_however_many_companies(shop):
    client = client_for("finance")
    invoice_due(shop, 3)
    client.get(reverse(URL))  # the first page of a session loads what later pages find cached
    with CaptureQueriesContext(connection) as one:
        assert client.get(reverse(URL)).status_code == 200
    for days in (1, 40, 70, 100, -3):
        invoice_due(shop, days)
    with CaptureQueriesContext(connection) as six:
        response = client.get(reverse(URL))
    assert len(response.context["rows"]) == 6
    assert len(six) == len(one)
    aggregates = [q for q in six.captured_queries if "billing_invoice" in q["sql"]]
    assert len(aggregates) == 1
