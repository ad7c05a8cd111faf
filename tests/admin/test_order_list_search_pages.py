"""The order list's searched pages (``orders.admin.order_list``): the search runs once per
page, in the query that takes its matches' keys; the count stops at the limit ("more
than N") and the pages show the newest matches first; the list's filters narrow the
matches before they are counted; each row's link keeps the list's filters."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from orders.admin import OrderAdmin, order_list
from orders.models import Order
from tests.admin.factories import OrderFactory

pytestmark = pytest.mark.django_db

URL = reverse("admin:orders_order_changelist")


@pytest.fixture
def small_pages(monkeypatch, settings):
    """Pages of 3 orders, counted up to 5."""
    monkeypatch.setattr(OrderAdmin, "list_per_page", 3)
    monkeypatch.setattr(order_list, "MIN_EXACT_COUNT_LIMIT", 1)
    settings.OMS_ADMIN_EXACT_COUNT_LIMIT = 5


@pytest.fixture
def shipped_to_vera(db):
    """Eight orders shipped to Vera Nováková between others, oldest first."""
    vera = []
    for n in range(8):
        vera.append(OrderFactory(ship_name="Vera Nováková", lines=0))
        OrderFactory(ship_name=f"Someone Else {n}", lines=0)
    return vera


def _get(client, query: dict):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(URL, query)
    assert response.status_code == 200
    return response, [q["sql"] for q in captured.captured_queries]


def test_a_broad_search_shows_the_newest_matches_and_counts_up_to_the_limit(
    admin_client, small_pages, shipped_to_vera
):
    newest_first = [order.number for order in reversed(shipped_to_vera)]

    first, first_sql = _get(admin_client, {"q": "vera"})
    second, _ = _get(admin_client, {"q": "vera", "p": 2})

    assert [o.number for o in first.context["cl"].result_list] == newest_first[:3]
    assert [o.number for o in second.context["cl"].result_list] == newest_first[3:6]
    assert first.context["cl"].paginator.count_label == "more than 5"
    assert "more than 5 orders" in " ".join(first.content.decode().split())
    # The search's SQL runs once: in the keys' query, not again for the page's rows.
    assert sum("UNION" in sql for sql in first_sql) == 1
    assert not any("COUNT(" in sql.upper() for sql in first_sql)


def test_a_search_that_fits_the_limit_is_counted_exactly(admin_client, small_pages, db):
    orders = [OrderFactory(ship_name="Ida Quist", lines=0) for _ in range(4)]
    OrderFactory(ship_name="Someone Else", lines=0)

    response, sql = _get(admin_client, {"q": "quist"})

    cl = response.context["cl"]
    assert cl.result_count == 4
    assert cl.paginator.count_is_exact
    assert [o.pk for o in cl.result_list] == [o.pk for o in reversed(orders)][:3]
    assert sum("UNION" in s for s in sql) == 1


def test_a_page_number_past_a_single_page_of_matches_lists_them(admin_client, small_pages, db):
    # A saved or shared link keeps its page number after the matches have shrunk to
    # one page: the list shows them, as Django's does, not the error page.
    orders = [OrderFactory(ship_name="Ida Quist", lines=0) for _ in range(2)]

    response, _ = _get(admin_client, {"q": "quist", "p": 3})

    assert [o.pk for o in response.context["cl"].result_list] == [o.pk for o in reversed(orders)]
    nothing, _ = _get(admin_client, {"q": "nobody-at-all", "p": 2})
    assert list(nothing.context["cl"].result_list) == []


def test_a_filter_narrows_the_matches_before_they_are_counted(
    admin_client, small_pages, shipped_to_vera
):
    cancelled = shipped_to_vera[1:3]
    Order.objects.filter(pk__in=[o.pk for o in cancelled]).update(
        status="cancelled", cancelled_at=cancelled[0].created_at
    )

    response, _ = _get(admin_client, {"q": "vera", "status__exact": "cancelled"})

    cl = response.context["cl"]
    assert cl.result_count == 2
    assert [o.pk for o in cl.result_list] == [cancelled[1].pk, cancelled[0].pk]


def test_a_search_that_finds_nothing_lists_nothing(admin_client, small_pages, shipped_to_vera):
    response, sql = _get(admin_client, {"q": "nobody-at-all"})

    assert list(response.context["cl"].result_list) == []
    assert response.context["cl"].result_count == 0
    assert sum("UNION" in s for s in sql) == 1


def test_each_rows_link_keeps_the_lists_filters(admin_client, shipped_to_vera):
    order = shipped_to_vera[-1]

    response, _ = _get(admin_client, {"q": "vera", "status__exact": order.status})

    change = reverse("admin:orders_order_change", args=[order.pk])
    kept = f"{change}?_changelist_filters=q%3Dvera%26status__exact%3D{order.status}"
    assert f'href="{kept}"' in response.content.decode()


def test_an_unfiltered_list_links_rows_to_their_page_alone(admin_client, shipped_to_vera):
    order = shipped_to_vera[-1]

    response, _ = _get(admin_client, {})

    change = reverse("admin:orders_order_change", args=[order.pk])
    assert f'<a href="{change}">{order.number}</a>' in response.content.decode()


def test_the_list_never_counts_facets(admin_client, shipped_to_vera):
    # Facet counts would count every choice of every filter over the whole table.
    _, plain = _get(admin_client, {"status__exact": "placed"})
    response, faceted = _get(admin_client, {"status__exact": "placed", "_facets": "True"})

    assert len(faceted) == len(plain)
    assert not response.context["cl"].add_facets


def test_a_search_of_spaces_lists_every_order(admin_client, shipped_to_vera):
    # Not only those whose PO or external reference is blank, as a term of "" would.
    for order in shipped_to_vera:
        Order.objects.filter(pk=order.pk).update(
            po_number=f"PO-{order.pk}", external_reference=f"REF-{order.pk}"
        )

    response, _ = _get(admin_client, {"q": "   "})

    assert response.context["cl"].result_count == Order.objects.count() == 16
