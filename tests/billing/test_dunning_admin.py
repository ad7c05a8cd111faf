"""Payment reminders in the console: the company page lists its reminders (invoice
links for those who may open invoices), the invoice page its stages; both read-only."""

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from billing.dunning import send_dunning_reminders
from billing.invoicing import invoice_shipment
from billing.models import Invoice
from core.admin import admin_change_url
from oms.roles import sync_staff_groups
from tests.billing.conftest import company_buyer, make_products, place_routed, ship
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ISSUED = dt.date(2026, 5, 4)
DUE = ISSUED + dt.timedelta(days=30)


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def client_for(role: str) -> Client:
    sync_staff_groups()
    user = UserFactory(username=f"{role}-user")
    user.groups.add(Group.objects.get(name=role))
    client = Client()
    client.force_login(user)
    return client


def invoices_for(shop, buyer, count: int = 1) -> list[Invoice]:
    # All placed before any is invoiced: an overdue invoice puts the company's next
    # orders on a credit hold.
    [product] = make_products(shop, [Decimal("100.00")])
    placed = [place_routed([(product, 1)], customer=buyer)[1] for _ in range(count)]
    return [invoice_shipment(ship(fo).pk, issue_date=ISSUED) for fo in placed]


@pytest.fixture
def reminded(shop):
    """An invoice on terms reminded on its due date and 7 days after (the first stage
    skipped: no run before the due date)."""
    [invoice] = invoices_for(shop, company_buyer("net30"))
    send_dunning_reminders(today=DUE)
    send_dunning_reminders(today=DUE + dt.timedelta(days=7))
    return invoice


def company_page(client: Client, invoice: Invoice) -> str:
    response = client.get(reverse("admin:customers_company_change", args=[invoice.company_id]))
    assert response.status_code == 200
    return response.content.decode()


def test_the_company_page_lists_its_reminders_with_links_for_finance(reminded):
    page = company_page(client_for("finance"), reminded)

    assert "Payment reminders" in page
    for text in (
        "On the due date",
        "7 days overdue",
        "Before the due date",
        "Skipped",
        "Sent",
        reminded.order.email,
        "2026-06-03",
        "2026-06-10",
    ):
        assert text in page, text
    assert f'<a href="{admin_change_url(reminded)}">{reminded.number}</a>' in page


def test_an_agent_sees_the_reminders_but_no_link_to_the_invoice(reminded):
    page = company_page(client_for("agent"), reminded)

    assert "7 days overdue" in page
    assert reminded.number in page
    assert admin_change_url(reminded) not in page


def test_the_company_section_costs_the_same_queries_however_many_reminders(shop):
    buyer = company_buyer("net30")
    invoices = invoices_for(shop, buyer, 5)
    client = client_for("finance")
    url = reverse("admin:customers_company_change", args=[buyer.company_id])
    client.get(url)  # the first page of a session loads what later pages find cached
    with CaptureQueriesContext(connection) as none:
        assert "Payment reminders" in client.get(url).content.decode()

    send_dunning_reminders(today=DUE + dt.timedelta(days=30))
    with CaptureQueriesContext(connection) as many:
        page = client.get(url).content.decode()

    assert page.count("30 days overdue") == len(invoices)
    assert page.count("Skipped") == 3 * len(invoices)
    assert len(many) == len(none)


def test_the_invoice_page_shows_its_stages_read_only(reminded):
    client = client_for("finance")

    response = client.get(admin_change_url(reminded))

    page = response.content.decode()
    assert "Payment reminders" in page
    assert "7 days overdue" in page
    assert "Skipped" in page
    formset = next(
        f
        for f in response.context["inline_admin_formsets"]
        if f.opts.__class__.__name__ == "DunningReminderInline"
    )
    assert not formset.has_add_permission
    assert not formset.has_change_permission
    assert not formset.has_delete_permission
    assert len(formset.formset.forms) == 3
