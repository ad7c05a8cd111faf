"""The order page reads an order's holds once: the summary card's open holds come from
the holds' history the page shows below (``orders.admin.order_page``)."""

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from orders import services as order_services
from tests.admin.factories import OrderFactory


def test_the_summary_card_shows_the_open_holds_from_the_one_read_of_holds(admin_client, operator):
    order = OrderFactory(lines=1)
    released = order_services.place_hold(
        order=order, kind="manual", reason="Wait for the call", actor=operator
    )
    order_services.release_hold(hold_id=released.pk, reason="Called", actor=operator)
    order_services.place_hold(order=order, kind="address", reason="Gate code?", actor=operator)
    order_services.place_hold(order=order, kind="fraud_review", reason="Two cards", actor=operator)

    with CaptureQueriesContext(connection) as captured:
        response = admin_client.get(reverse("admin:orders_order_change", args=[order.pk]))

    assert response.status_code == 200
    card = response.context["open_holds"]
    assert [h["reason"] for h in card] == ["Gate code?", "Two cards"]
    holds_read = [q for q in captured.captured_queries if 'FROM "orders_orderhold"' in q["sql"]]
    assert len(holds_read) == 1
