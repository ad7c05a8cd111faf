"""Changelists run a fixed number of queries whatever the number of rows.

Each count is pinned: a new query on these pages must be a deliberate change. An
unfiltered page runs: session, user, the planner's row estimate, the bounded count and
the page of rows. A filtered or searched page skips the estimate. A related-object
filter (locations) adds one query, a date hierarchy two.
"""

from collections.abc import Callable

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from inventory import services as inventory_services
from inventory.models import StockLevel
from orders import notes as order_notes
from orders import services as order_services
from orders.admin import OrderAdmin
from orders.models import Order
from tests.admin.factories import OrderFactory
from tests.factories import CompanyFactory, CustomerFactory, LocationFactory, ProductFactory

pytestmark = pytest.mark.django_db

# The planner's estimate exists on PostgreSQL only; on SQLite (the demo) that query is
# skipped.
ESTIMATE = 1 if connection.vendor == "postgresql" else 0

STOCK_LEVEL_QUERIES = 5 + ESTIMATE
STOCK_LEVEL_FILTERED_QUERIES = 5
ORDER_QUERIES = 4 + ESTIMATE
# A search takes its matches' keys (which count them) and the page's rows by key; one
# that finds nothing has no rows to fetch.
ORDER_SEARCH_QUERIES = 4
ORDER_SEARCH_NOTHING_QUERIES = 3
# A term that reads as an order number first looks for that order (to open it); here
# there is none, and the search finds nothing either.
ORDER_NUMBER_SEARCH_QUERIES = ORDER_SEARCH_NOTHING_QUERIES + 1
ORDER_NUMBER_REDIRECT_QUERIES = 3
STOCK_MOVEMENT_QUERIES = 5 + ESTIMATE
ORDER_EVENT_QUERIES = 4 + ESTIMATE
ORDER_HOLD_QUERIES = 6 + ESTIMATE
CUSTOMER_QUERIES = 4 + ESTIMATE


def _queries(client, url: str) -> int:
    # Warm the per-process ContentType cache (the admin's log entries use it), so the
    # count does not depend on which test ran first in this worker.
    ContentType.objects.get_for_models(Order, StockLevel)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured)


def _grow(make: Callable[[int], None], client, url: str) -> tuple[int, int, int]:
    """Query counts of ``url`` with 5 rows, then with 60 (one page), and the rows shown."""
    make(5)
    few = _queries(client, url)
    make(55)
    many = _queries(client, url)
    return few, many, len(client.get(url).context["cl"].result_list)


@pytest.fixture
def stock_rows(operator) -> Callable[[int], None]:
    # Two locations, so that the location filter (one query) is shown.
    locations = [LocationFactory(), LocationFactory()]

    def make(count: int) -> None:
        for n in range(count):
            inventory_services.receive_stock(
                location=locations[n % 2],
                product=ProductFactory(),
                quantity=5,
                actor=operator,
                reference=f"PO-{n}",
            )

    return make


@pytest.fixture
def order_rows(operator) -> Callable[[int], None]:
    def make(count: int) -> None:
        for _ in range(count):
            company = CompanyFactory()
            customer = CustomerFactory(company=company, company_role="buyer")
            order = OrderFactory(customer=customer, company=company)
            order_services.place_hold(order=order, kind="manual", reason="check", actor=operator)

    return make


def test_stock_level_changelist_query_count_is_fixed(admin_client, stock_rows):
    url = reverse("admin:inventory_stocklevel_changelist")

    few, many, shown = _grow(stock_rows, admin_client, url)

    assert shown == 60
    assert few == many == STOCK_LEVEL_QUERIES


def test_stock_level_changelist_search_and_filter_query_count_is_fixed(admin_client, stock_rows):
    url = reverse("admin:inventory_stocklevel_changelist") + "?state=nothing_to_promise&q=X"

    few, many, _ = _grow(stock_rows, admin_client, url)

    assert few == many == STOCK_LEVEL_FILTERED_QUERIES


def test_order_changelist_query_count_is_fixed(admin_client, order_rows):
    url = reverse("admin:orders_order_changelist")

    few, many, shown = _grow(order_rows, admin_client, url)

    assert shown == 60
    assert few == many == ORDER_QUERIES


def test_order_changelist_query_count_is_fixed_across_pages(admin_client, order_rows, monkeypatch):
    monkeypatch.setattr(OrderAdmin, "list_per_page", 20)
    order_rows(60)

    first = _queries(admin_client, reverse("admin:orders_order_changelist"))
    third = _queries(admin_client, reverse("admin:orders_order_changelist") + "?p=3")
    url = reverse("admin:orders_order_changelist")
    searched = _queries(admin_client, url + "?q=303-555-0189")
    by_name = _queries(admin_client, url + "?q=Jos%C3%A9+Garc")
    by_number = _queries(admin_client, url + "?q=SO-1")
    # Every order ships to "Pat Buyer": three pages of matches.
    found = _queries(admin_client, url + "?q=pat+buy")
    found_third = _queries(admin_client, url + "?q=pat+buy&p=3")

    assert first == third == ORDER_QUERIES
    assert searched == by_name == ORDER_SEARCH_NOTHING_QUERIES
    assert found == found_third == ORDER_SEARCH_QUERIES
    assert by_number == ORDER_NUMBER_SEARCH_QUERIES


def test_order_search_by_an_exact_number_opens_the_order_in_fixed_queries(admin_client, db):
    order = OrderFactory()
    ContentType.objects.get_for_models(Order, StockLevel)
    url = reverse("admin:orders_order_changelist") + f"?q={order.number}"

    with CaptureQueriesContext(connection) as captured:
        response = admin_client.get(url)

    assert response.status_code == 302
    assert len(captured) == ORDER_NUMBER_REDIRECT_QUERIES


def test_stock_movement_changelist_query_count_is_fixed(admin_client, stock_rows):
    url = reverse("admin:inventory_stockmovement_changelist")

    few, many, _ = _grow(stock_rows, admin_client, url)

    assert few == many == STOCK_MOVEMENT_QUERIES


def test_order_event_changelist_query_count_is_fixed(admin_client, order_rows):
    url = reverse("admin:orders_orderevent_changelist")

    few, many, _ = _grow(order_rows, admin_client, url)

    assert few == many == ORDER_EVENT_QUERIES


def test_order_hold_changelist_query_count_is_fixed(admin_client, order_rows):
    url = reverse("admin:orders_orderhold_changelist")

    few, many, _ = _grow(order_rows, admin_client, url)

    assert few == many == ORDER_HOLD_QUERIES


def test_customer_changelist_query_count_is_fixed(admin_client, order_rows):
    url = reverse("admin:customers_customer_changelist")

    few, many, _ = _grow(order_rows, admin_client, url)

    assert few == many == CUSTOMER_QUERIES


def test_customer_search_query_count_is_fixed(admin_client, order_rows):
    url = reverse("admin:customers_customer_changelist") + "?q=775-555-0100"

    few, many, _ = _grow(order_rows, admin_client, url)

    # Searched: no planner estimate; the matches are one subquery of the count and page.
    assert few == many == CUSTOMER_QUERIES - ESTIMATE


def test_order_page_query_count_does_not_grow_with_lines_holds_or_events(admin_client, operator):
    small = OrderFactory(lines=1)
    order_services.place_hold(order=small, kind="manual", reason="a", actor=operator)
    big = OrderFactory(lines=20)
    for kind in ("manual", "payment", "address", "fraud_review"):
        hold = order_services.place_hold(order=big, kind=kind, reason="b", actor=operator)
        order_services.release_hold(hold_id=hold.pk, reason="ok", actor=operator)
    for n in range(10):
        note = order_notes.add_order_note(order=big, body=f"note {n}", actor=operator)
        if n % 3 == 0:
            order_notes.pin_order_note(note_id=note.pk, pinned=True, actor=operator)

    few = _queries(admin_client, reverse("admin:orders_order_change", args=[small.pk]))
    many = _queries(admin_client, reverse("admin:orders_order_change", args=[big.pk]))

    assert few == many


def test_stock_level_page_query_count_does_not_grow_with_the_ledger(admin_client, operator):
    location = LocationFactory()
    quiet, busy = ProductFactory(), ProductFactory()
    levels = {}
    for product, receipts in ((quiet, 1), (busy, 30)):
        for _ in range(receipts):
            levels[product] = inventory_services.receive_stock(
                location=location, product=product, quantity=1, actor=operator
            )

    few = _queries(
        admin_client, reverse("admin:inventory_stocklevel_change", args=[levels[quiet].pk])
    )
    many = _queries(
        admin_client, reverse("admin:inventory_stocklevel_change", args=[levels[busy].pk])
    )

    assert few == many
