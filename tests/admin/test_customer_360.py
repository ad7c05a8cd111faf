"""The customer page as a customer 360: lifetime and average order value, the company's
credit, terms and open quotes, the latest orders, messages, invoices, payments, returns
and notes; each section from the app that owns its rows, in a fixed number of queries."""

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from billing.invoicing import invoice_shipment
from billing.models import Payment
from core import refcache
from core.actors import Actor
from customers import services as customer_services
from fulfillment.changes import cancel_order
from oms.notifications import send_order_notification
from orders import drafts, quotes
from orders.models import Notification, Order
from orders.placement import LineRequest, OrderRequest
from returns import services as returns_services
from returns.services import ReturnLineInput
from tests.billing.conftest import (  # noqa: F401 - fixtures
    company_buyer,
    make_products,
    place_routed,
    ship,
    shop,
    warehouse,
)
from tests.factories import CustomerFactory, UserFactory
from tests.returns.conftest import default_policy, delivered_order, reasons  # noqa: F401

pytestmark = pytest.mark.django_db

SYSTEM = Actor.system("customer 360 test")
ADDRESS = {
    "name": "Pat",
    "line1": "350 Fifth Avenue",
    "country": "US",
    "postal_code": "10001",
    "city": "New York",
    "region": "NY",
}
# An agent's customer page: session, user, the customer, the user's and groups'
# permissions, notes, addresses, preferences, the value by currency, the company, open
# quotes, credit used, latest orders, messages, invoices, card payments, returns, store
# credit balance and ledger; and the session saved. Whatever the rows.
CUSTOMER_360_QUERIES = 19
SECTIONS = [
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


@pytest.fixture(autouse=True)
def _fresh_refcache():
    refcache.clear()
    yield
    refcache.clear()


def page_url(customer) -> str:
    return reverse("admin:customers_customer_change", args=[customer.pk])


def quote_for(customer, product, quantity: int = 1):
    draft = drafts.create_draft_order(
        request=OrderRequest(
            customer=customer,
            channel="sales",
            shipping_method_code="STANDARD",
            shipping_address=ADDRESS,
            lines=[LineRequest(sku=product.sku, quantity=quantity)],
        ),
        actor=SYSTEM,
    )
    return quotes.send_quote(order_id=draft.pk, actor=SYSTEM, valid_days=7)


def returned(customer, product):
    """A delivered order of ``customer`` with one unit asked back."""
    order = delivered_order(products=[product])
    Order.objects.filter(pk=order.pk).update(customer=customer, email=customer.email)
    order.refresh_from_db()
    line = order.lines.get()
    return returns_services.request_return(
        order=order,
        lines=[ReturnLineInput(order_line_id=line.pk, quantity=1, reason_code="no_longer_needed")],
        method="mail",
        actor=SYSTEM,
    )


@pytest.fixture
def buyer_with_history(shop, default_policy):  # noqa: F811 - fixtures
    mug, kit = make_products(shop, [Decimal("12.50"), Decimal("30.00")])
    buyer = company_buyer("net30")
    company = buyer.company
    company.credit_limit = Decimal("5000")
    company.approval_threshold = Decimal("2500")
    company.save(update_fields=["credit_limit", "approval_threshold"])
    first, fo = place_routed([(mug, 2)], customer=buyer)
    shipment = ship(fo)
    invoice = invoice_shipment(shipment.pk, issue_date=dt.date(2026, 11, 2))
    # The shipping e-mail, as its outbox consumer sends it (once: a repeat sends nothing).
    send_order_notification(order_id=first.pk, event="shipped", shipment_id=shipment.pk)
    assert Notification.objects.filter(order=first, event="shipped").exists()
    second, _ = place_routed([(kit, 3)], customer=buyer)
    cancelled, _ = place_routed([(kit, 1)], customer=buyer)
    cancel_order(order_id=cancelled.pk, reason="Ordered twice", actor=SYSTEM)
    quote = quote_for(buyer, mug)
    rma = returned(buyer, kit)
    customer_services.add_customer_note(customer=buyer, body="Calls on Mondays.", actor=SYSTEM)
    return {
        "buyer": buyer,
        "orders": (first, second),
        "cancelled": cancelled,
        "invoice": invoice,
        "quote": quote,
        "rma": rma,
        "products": (mug, kit),
    }


def test_the_customer_page_is_a_customer_360(admin_client, buyer_with_history):
    world = buyer_with_history
    buyer = world["buyer"]
    first, second = world["orders"]
    rma_order = world["rma"].order

    response = admin_client.get(page_url(buyer))

    assert response.status_code == 200
    names = [name for name, _ in response.context["adminform"].fieldsets]
    assert names == SECTIONS
    html = response.content.decode()
    # Lifetime value: the placed orders (cancelled left out), and their average.
    counted = [first, second, rma_order]
    total = sum(
        (o.grand_total for o in Order.objects.filter(pk__in=[o.pk for o in counted])), Decimal("0")
    )
    assert world["cancelled"].grand_total not in (Decimal("0"),)
    assert f"${total:,.2f}" in html
    assert f"${(total / 3).quantize(Decimal('0.01')):,.2f}" in html
    # The company: terms, limit, what is used (open orders and unpaid invoices).
    assert "Net 30" in html
    assert "$5,000.00" in html
    assert "$2,500.00" in html
    assert world["quote"].number in html
    # Orders, messages, invoices, returns and notes.
    for order in (first, second, world["cancelled"]):
        assert order.number in html
    assert "shipped" in html
    assert world["invoice"].number in html
    assert world["rma"].number in html
    assert "Calls on Mondays." in html
    assert f"?customer__id__exact={buyer.pk}" in html


def test_credit_used_counts_open_orders_and_unpaid_invoices(admin_client, buyer_with_history):
    from orders.holds import company_credit_standing  # noqa: PLC0415

    buyer = buyer_with_history["buyer"]
    used = company_credit_standing(buyer.company_id).exposure

    html = admin_client.get(page_url(buyer)).content.decode()

    assert used > 0
    assert f"${used:,.2f}" in html
    assert f"${Decimal('5000') - used:,.2f}" in html  # what is left of the limit


def test_a_consumers_page_shows_card_payments_and_no_company(
    admin_client,
    shop,  # noqa: F811
    django_capture_on_commit_callbacks,
):
    (mug,) = make_products(shop, [Decimal("20.00")])
    consumer = CustomerFactory()
    # The card is authorised after the order commits (the outbox's consumer).
    with django_capture_on_commit_callbacks(execute=True):
        order, _ = place_routed([(mug, 1)], customer=consumer, payment_token="tok_approve")
    payment = Payment.objects.get(order=order)

    html = admin_client.get(page_url(consumer)).content.decode()

    assert "A consumer (B2C)" in html
    assert payment.get_status_display() in html
    assert f"${payment.amount_authorised:,.2f}" in html
    assert order.number in html


def test_a_new_customer_page_has_nothing_to_show_yet(admin_client, db):
    nobody = CustomerFactory()

    response = admin_client.get(page_url(nobody))
    html = response.content.decode()

    assert response.status_code == 200
    assert "No order placed yet." in html
    add = admin_client.get(reverse("admin:customers_customer_add"))
    assert [name for name, _ in add.context["adminform"].fieldsets][:1] == [None]
    assert "Customer 360" not in add.content.decode()


def test_the_customer_360_query_count_does_not_grow(buyer_with_history):
    world = buyer_with_history
    buyer = world["buyer"]
    agent = UserFactory(username="agent-360")
    agent.groups.add(Group.objects.get(name="agent"))
    client = Client()
    client.force_login(agent)
    client.get(page_url(buyer))  # warm the per-process caches

    def count() -> int:
        with CaptureQueriesContext(connection) as captured:
            response = client.get(page_url(buyer))
        assert response.status_code == 200
        return len(captured)

    few = count()
    mug, kit = world["products"]
    for _ in range(3):
        order, fo = place_routed([(mug, 1), (kit, 1)], customer=buyer)
        shipment = ship(fo)
        invoice_shipment(shipment.pk, issue_date=dt.date(2026, 11, 5))
        send_order_notification(order_id=order.pk, event="shipped", shipment_id=shipment.pk)
        returned(buyer, kit)
        quote_for(buyer, mug)
        customer_services.add_customer_note(customer=buyer, body="Again.", actor=SYSTEM)

    assert count() == few == CUSTOMER_360_QUERIES
