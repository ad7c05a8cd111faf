"""The admin index as a dashboard: what each role sees, the filters, and its queries."""

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from analytics import summary
from fulfillment.models import FulfillmentOrder, FulfillmentStatus, Shipment
from inventory.models import StaffLocation
from orders.models import Channel, OrderHold, OrderStatus
from tests.admin.factories import OrderFactory
from tests.factories import LocationFactory

pytestmark = pytest.mark.django_db

INDEX = "admin:index"


def chart_data(response) -> dict[str, dict]:
    return {chart["id"]: chart for chart in response.context["dashboard"]["chart_data"]}


def figures(response) -> dict[str, str]:
    return {label: value for label, value, _ in response.context["dashboard"]["figures"]}


@pytest.fixture
def business(db):
    """Three orders today (one cancelled), one shipped late from a warehouse, one hold."""
    today = timezone.localdate()
    now = timezone.now()
    location = LocationFactory(code="WH1")
    made = []
    for channel, total, status in (
        (Channel.WEB, "60.00", OrderStatus.COMPLETED),
        (Channel.MARKETPLACE, "40.00", OrderStatus.COMPLETED),
        (Channel.WEB, "99.00", OrderStatus.CANCELLED),
    ):
        order = OrderFactory(
            channel=channel,
            status=status,
            placed_at=now,
            cancelled_at=now if status == OrderStatus.CANCELLED else None,
        )
        order.grand_total = Decimal(total)
        order.subtotal = order.grand_total - order.shipping_total
        order.save()
        made.append(order)
    fo = FulfillmentOrder.objects.create(
        number="FO-1",
        order=made[0],
        location=location,
        status=FulfillmentStatus.CLOSED,
        ship_by_date=today - dt.timedelta(days=1),
    )
    Shipment.objects.create(
        fulfillment_order=fo, order=made[0], service_level="standard", shipped_at=now
    )
    OrderHold.objects.create(
        order=made[1], kind="fraud_review", reason="Check", placed_by_label="rules"
    )
    return {"orders": made, "location": location}


def test_the_manager_sees_every_panel_with_numbers_beside_the_charts(client_for, business):
    response = client_for("manager").get(reverse(INDEX))

    assert response.status_code == 200
    charts = chart_data(response)
    today = timezone.localdate().isoformat()
    orders = charts["orders-per-day"]
    assert orders["labels"][-1] == today
    assert {d["label"]: d["data"][-1] for d in orders["datasets"]} == {
        "Web storefront": 2,
        "Marketplace": 1,
    }
    revenue = charts["revenue-per-day"]
    assert {d["label"]: d["data"][-1] for d in revenue["datasets"]} == {
        "Web storefront": 60.0,
        "Marketplace": 40.0,
    }
    assert charts["on-time-by-location"]["datasets"][0]["data"] == [0.0]
    shown = figures(response)
    assert shown["Orders placed"] == "3"
    assert shown["Revenue"] == "$100.00"
    assert shown["Average order value"] == "$50.00"
    assert shown["On-time shipment rate"] == "0.0%"
    assert shown["Cancellation rate"] == "33.3%"
    page = response.content.decode()
    # The data for the script, the canvas it draws on, and the same numbers in a table.
    assert 'id="oms-dashboard-data" type="application/json"' in page
    assert 'data-chart="revenue-per-day"' in page
    assert '<td class="oms-amount">$60.00</td>' in page
    assert "vendor/chart.umd.min.js" in page
    assert "Receivables" in page
    assert "Low stock" in page
    # The app list stays below the dashboard.
    assert reverse("admin:orders_order_changelist") in page


def test_each_role_sees_its_own_panels(client_for, business):
    agent = client_for("agent").get(reverse(INDEX))
    assert set(chart_data(agent)) == {"holds-by-kind"}
    assert "Cancellation rate" in figures(agent)
    assert "Revenue" not in figures(agent)
    assert reverse("admin:orders_orderhold_changelist") in agent.content.decode()

    finance = client_for("finance").get(reverse(INDEX))
    assert {"orders-per-day", "revenue-per-day"} <= set(chart_data(finance))
    assert "Fill rate" not in figures(finance)
    assert "Receivables" in finance.content.decode()

    warehouse = client_for("warehouse").get(reverse(INDEX))
    assert "On-time shipment rate" in figures(warehouse)
    assert "Revenue" not in figures(warehouse)
    assert "Receivables" not in warehouse.content.decode()


def test_the_warehouse_opens_on_its_own_location(client_for, make_staff, business):
    other = LocationFactory(code="OTHER")
    user = make_staff("warehouse")
    StaffLocation.objects.create(user=user, location=other)
    client = Client()
    client.force_login(user)
    response = client.get(reverse(INDEX))

    assert response.context["dashboard"]["filters"].location_id == other.pk
    # Its location shipped nothing: the warehouse's late shipment is not counted.
    assert figures(response)["On-time shipment rate"] == "–"
    choices = [
        str(label) for _, label in response.context["dashboard"]["form"].fields["location"].choices
    ]
    assert choices == [str(other)]


def test_filters_narrow_the_figures_to_a_channel_and_dates(client_for, business):
    client = client_for("manager")
    today = timezone.localdate()

    marketplace = client.get(reverse(INDEX), {"channel": Channel.MARKETPLACE})
    assert figures(marketplace)["Orders placed"] == "1"
    assert figures(marketplace)["Revenue"] == "$40.00"

    last_month = client.get(
        reverse(INDEX),
        {
            "start_date": (today - dt.timedelta(days=60)).isoformat(),
            "end_date": (today - dt.timedelta(days=31)).isoformat(),
        },
    )
    assert figures(last_month)["Orders placed"] == "0"
    assert figures(last_month)["Average order value"] == "–"
    assert len(chart_data(last_month)["orders-per-day"]["labels"]) == 30


def test_a_backwards_range_is_refused_with_a_message_and_the_defaults_shown(client_for, business):
    today = timezone.localdate()
    response = client_for("manager").get(
        reverse(INDEX),
        {"start_date": today.isoformat(), "end_date": (today - dt.timedelta(days=3)).isoformat()},
    )

    assert response.status_code == 200
    assert "The start date is after the end date" in response.content.decode()
    filters = response.context["dashboard"]["filters"]
    assert (filters.start_date, filters.end_date) == (today - dt.timedelta(days=29), today)


def test_a_bad_date_is_a_message_not_an_error(client_for, business):
    response = client_for("manager").get(reverse(INDEX), {"start_date": "yesterday"})
    assert response.status_code == 200
    assert "Enter a valid date." in response.content.decode()


def test_a_user_without_a_role_sees_the_plain_index(django_user_model, client):
    user = django_user_model.objects.create_user("nobody", password="x", is_staff=True)
    client.force_login(user)
    response = client.get(reverse(INDEX))
    assert response.status_code == 200
    assert response.context["dashboard"] is None
    assert "oms-dashboard-data" not in response.content.decode()


def test_the_dashboard_queries_do_not_grow_with_days_orders_or_locations(client_for, business):
    client = client_for("manager")
    client.get(reverse(INDEX))  # warm the session and content-type caches

    with CaptureQueriesContext(connection) as few:
        client.get(reverse(INDEX))
    now = timezone.now()
    for n in range(20):
        location = LocationFactory(code=f"MORE{n}")
        order = OrderFactory(
            placed_at=now - dt.timedelta(days=n), status=OrderStatus.COMPLETED, lines=2
        )
        fo = FulfillmentOrder.objects.create(
            number=f"FO-M{n}",
            order=order,
            location=location,
            status=FulfillmentStatus.CLOSED,
            ship_by_date=timezone.localdate(),
        )
        Shipment.objects.create(
            fulfillment_order=fo, order=order, service_level="standard", shipped_at=now
        )
    with CaptureQueriesContext(connection) as many:
        response = client.get(reverse(INDEX))

    assert len(many) == len(few), [q["sql"][:150] for q in many.captured_queries]
    # The order totals of the range are read once (the summary's days, then the orders
    # of the days it does not hold: here all of them, in two queries). On PostgreSQL the
    # page's queries run in one transaction sized for reports (its savepoint here, its
    # release, and the settings: three more). The low-stock panel reads its window's
    # range of order ids first (one more).
    session = 3 if connection.vendor == "postgresql" else 0
    assert len(few) == 20 + session
    assert len(chart_data(response)["on-time-by-location"]["labels"]) == 21
    json.dumps(response.context["dashboard"]["chart_data"])  # what the page embeds

    # With the past days summarized: one more query (their rows), the same figures.
    summary.refresh_days(summary.days_with_orders())
    with CaptureQueriesContext(connection) as summarized:
        again = client.get(reverse(INDEX))
    assert len(summarized) == 21 + session
    assert again.context["dashboard"]["figures"] == response.context["dashboard"]["figures"]
    assert chart_data(again) == chart_data(response)
