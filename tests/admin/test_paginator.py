"""Changelists never run an unbounded COUNT(*): exact up to the limit, then bounded or
estimated, and the page says so."""

import pytest
from django.core.paginator import Paginator
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from core.admin import BoundedCountPaginator
from inventory import services as inventory_services
from inventory.admin import StockMovementAdmin
from inventory.models import StockMovement
from tests.factories import LocationFactory, ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def small_limits(monkeypatch):
    """Lift the floor under the limit, so that a few rows can cross it."""
    monkeypatch.setattr("core.admin.paging.MIN_EXACT_COUNT_LIMIT", 0)


@pytest.fixture
def six_levels(operator):
    location = LocationFactory()
    for _ in range(6):
        inventory_services.receive_stock(
            location=location, product=ProductFactory(), quantity=1, actor=operator
        )


def test_count_is_exact_up_to_the_limit(settings, six_levels):
    settings.OMS_ADMIN_EXACT_COUNT_LIMIT = 6

    paginator = BoundedCountPaginator(StockMovement.objects.order_by("-id"), 2)

    assert paginator.count == 6
    assert paginator.count_is_exact
    assert paginator.count_label == ""


def test_filtered_count_stops_after_the_limit(settings, six_levels):
    settings.OMS_ADMIN_EXACT_COUNT_LIMIT = 3

    paginator = BoundedCountPaginator(StockMovement.objects.filter(delta=1).order_by("-id"), 2)

    assert paginator.count == 4
    assert not paginator.count_is_exact
    assert paginator.count_label == "more than 3"
    assert len(paginator.page(2).object_list) == 2


@pytest.mark.skipif(connection.vendor != "postgresql", reason="a PostgreSQL statistic")
def test_unfiltered_count_above_the_limit_uses_the_planner_estimate(settings, six_levels):
    settings.OMS_ADMIN_EXACT_COUNT_LIMIT = 3
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE inventory_stockmovement")

    paginator = BoundedCountPaginator(StockMovement.objects.order_by("-id"), 2)

    assert paginator.count == 6
    assert paginator.count_label == "about 6"


@pytest.mark.skipif(connection.vendor == "postgresql", reason="without planner statistics")
def test_unfiltered_count_above_the_limit_is_a_bound_without_an_estimate(settings, six_levels):
    settings.OMS_ADMIN_EXACT_COUNT_LIMIT = 3

    paginator = BoundedCountPaginator(StockMovement.objects.order_by("-id"), 2)

    assert paginator.count == 4
    assert paginator.count_label == "more than 3"


def test_a_list_is_counted_by_its_length():
    assert BoundedCountPaginator([1, 2, 3], 2).count == 3


def test_changelist_shows_a_bounded_count_as_a_bound(
    admin_client, settings, six_levels, monkeypatch
):
    monkeypatch.setattr(StockMovementAdmin, "list_per_page", 2)
    settings.OMS_ADMIN_EXACT_COUNT_LIMIT = 3
    url = reverse("admin:inventory_stockmovement_changelist")

    response = admin_client.get(url, {"bucket__exact": "on_hand", "p": "2"})

    content = response.content.decode()
    assert "more than 3 stock movements" in content
    assert "more than 3 results" in content
    assert len(response.context["cl"].result_list) == 2


def test_the_limit_never_drops_below_the_page_size(settings, six_levels, monkeypatch):
    monkeypatch.setattr("core.admin.paging.MIN_EXACT_COUNT_LIMIT", 200)
    settings.OMS_ADMIN_EXACT_COUNT_LIMIT = 3

    paginator = BoundedCountPaginator(StockMovement.objects.filter(delta=1).order_by("-id"), 2)

    assert paginator.count == 6
    assert paginator.count_is_exact


def test_a_deep_page_holds_the_rows_of_its_offset_in_the_lists_order(six_levels, monkeypatch):
    monkeypatch.setattr("core.admin.paging.DEEP_PAGE_OFFSET", 2)
    movements = StockMovement.objects.select_related("location").order_by("-id")

    deep = BoundedCountPaginator(movements, 2).page(2)
    shallow = Paginator(movements, 2).page(2)
    # Six rows, two a page, three orphans allowed: the second page is the last, of four.
    last = BoundedCountPaginator(movements, 2, orphans=3).page(2)

    assert [m.pk for m in deep.object_list] == [m.pk for m in shallow.object_list]
    assert len(deep.object_list) == 2
    assert [m.pk for m in last.object_list] == [m.pk for m in movements[2:]]


def test_a_deep_changelist_page_skips_its_offset_by_primary_key(
    admin_client, six_levels, monkeypatch
):
    monkeypatch.setattr("core.admin.paging.DEEP_PAGE_OFFSET", 2)
    monkeypatch.setattr(StockMovementAdmin, "list_per_page", 2)
    url = reverse("admin:inventory_stockmovement_changelist")
    expected = list(StockMovement.objects.order_by("-id").values_list("pk", flat=True)[2:4])

    with CaptureQueriesContext(connection) as captured:
        response = admin_client.get(url, {"p": "2"})

    assert [m.pk for m in response.context["cl"].result_list] == expected
    keys_query = [q["sql"] for q in captured.captured_queries if "OFFSET 2" in q["sql"]]
    assert len(keys_query) == 1
    # The offset is skipped over the keys alone; the page's rows come by key.
    assert keys_query[0].split(" FROM ")[0] == 'SELECT "inventory_stockmovement"."id" AS "pk"'
