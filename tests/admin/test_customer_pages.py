"""The order sections of the company and customer pages come from orders' admin, which
extends the customers admin and registers itself in its place (customers may not import
orders)."""

import pytest
from django.contrib import admin
from django.urls import reverse

from customers.admin import CompanyAdmin, CustomerAdmin
from customers.models import Company, Customer
from orders.admin import CompanyWithOrdersAdmin, CustomerWithOrdersAdmin
from tests.factories import CompanyFactory, CustomerFactory
from tests.orders.factories import OrderFactory

pytestmark = pytest.mark.django_db


def _change_url(obj) -> str:
    return reverse(f"admin:customers_{obj._meta.model_name}_change", args=[obj.pk])


def test_the_site_serves_the_pages_with_their_order_sections():
    # then: the admins registered are orders' extensions of the customers admins (the
    # company's extended again by billing, with its payment reminders)
    assert isinstance(admin.site.get_model_admin(Company), CompanyWithOrdersAdmin)
    # (the customer's extended again by billing and returns: the customer 360)
    assert isinstance(admin.site.get_model_admin(Customer), CustomerWithOrdersAdmin)
    assert issubclass(CompanyWithOrdersAdmin, CompanyAdmin)
    assert issubclass(CustomerWithOrdersAdmin, CustomerAdmin)


def test_customer_page_lists_its_orders_newest_first_above_the_record(admin_client):
    # given
    customer = CustomerFactory()
    older = OrderFactory(
        customer=customer, subtotal="1229.50", shipping_total="5.00", grand_total="1234.50"
    )
    newer = OrderFactory(customer=customer)
    someone_elses = OrderFactory()

    # when
    response = admin_client.get(_change_url(customer))

    # then
    assert response.status_code == 200
    names = [name for name, _ in response.context["adminform"].fieldsets]
    assert names == [
        None,
        "Customer 360",
        "Company",
        "Orders",
        "Messages sent",
        "Invoices and payments",
        "Returns",
        "Record",
        "Store credit",
    ]
    content = response.content.decode()
    assert content.index(newer.number) < content.index(older.number)
    assert someone_elses.number not in content
    assert "$1,234.50" in content
    assert f"?customer__id__exact={customer.pk}" in content
    assert "All orders of this customer" in content


def test_company_page_links_to_its_orders_first_in_the_record(admin_client):
    # given
    company = CompanyFactory(name="Acme Supply")

    # when
    response = admin_client.get(_change_url(company))

    # then
    assert response.status_code == 200
    record = dict(response.context["adminform"].fieldsets)["Record"]["fields"]
    assert record == ("orders_link", "buyers_link", "created_at", "updated_at")
    content = response.content.decode()
    assert f"?company__id__exact={company.pk}" in content
    assert "Orders of Acme Supply" in content


def test_add_pages_show_no_orders_yet(admin_client):
    # when
    customer_page = admin_client.get(reverse("admin:customers_customer_add"))
    company_page = admin_client.get(reverse("admin:customers_company_add"))

    # then: the sections are there, with nothing to show
    assert customer_page.status_code == 200
    assert company_page.status_code == 200
    assert "All orders of this customer" not in customer_page.content.decode()
    assert "Orders of" not in company_page.content.decode()
