"""Every registered changelist and change page runs a pinned number of queries, and the
number does not grow with the rows.

The tables below are the pinned counts for the world of the admin tests (one row of
everything the console shows) and again after a second batch of rows of the busiest
models. A page that gains a query fails here: the change is deliberate only once its
count is pinned again. A changelist whose count grows with its rows (a query per row)
fails too, whatever its pin. Counts are taken on PostgreSQL; where the planner's row
estimate is part of a page (unfiltered changelists of ``BoundedCountPaginator``) SQLite
runs one query fewer.
"""

import datetime as dt
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from core import refcache
from customers import services as customer_services
from fulfillment.operations import record_tracking_event, ship_fulfillment_order
from fulfillment.routing import route_order
from inventory import services as inventory_services
from inventory.commitments import reserve_network
from oms.notifications import send_order_notification
from orders import services as order_services
from orders.notes import add_order_note
from orders.placement import LineRequest, OrderRequest, place_order
from tests.admin.factories import OrderFactory
from tests.factories import CustomerFactory, LocationFactory, ProductFactory

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="counts pinned on PostgreSQL"),
]

MODELS = sorted(admin.site._registry, key=lambda model: model._meta.label)

# Query strings a changelist opens with (the fulfillment queue opens on the work to do;
# "all" lists the world's shipped order too).
CHANGELIST_QUERY = {"fulfillment.FulfillmentOrder": {"queue": "all"}}

CHANGELIST_QUERIES: dict[str, int] = {
    "analytics.ExportJob": 5,
    "auth.Group": 5,
    "auth.User": 6,
    "axes.AccessAttempt": 8,
    "axes.AccessFailureLog": 8,
    "axes.AccessLog": 8,
    "billing.AgingReport": 3,
    "billing.CreditNote": 8,
    "billing.Invoice": 8,
    "billing.PaymentTermsRule": 5,
    "billing.ReceivedPayment": 8,
    "core.SavedFilter": 5,
    "core.WorkQueue": 16,
    "customers.Address": 5,
    "customers.ApiKey": 5,
    "customers.Company": 5,
    "customers.Customer": 5,
    "customers.PriceList": 6,
    "django_celery_beat.ClockedSchedule": 5,
    "django_celery_beat.CrontabSchedule": 5,
    "django_celery_beat.IntervalSchedule": 5,
    "django_celery_beat.PeriodicTask": 8,
    "django_celery_beat.SolarSchedule": 5,
    "fulfillment.FulfillmentOrder": 7,
    "fulfillment.RoutingDecision": 5,
    "fulfillment.RoutingRule": 5,
    "fulfillment.Shipment": 6,
    "fulfillment.TrackingEvent": 5,
    "inventory.Location": 5,
    "inventory.NetworkReservation": 5,
    "inventory.NetworkStock": 5,
    "inventory.Product": 6,
    "inventory.ProductCategory": 5,
    "inventory.PurchaseOrder": 9,
    "inventory.StaffLocation": 6,
    "inventory.StockLevel": 6,
    "inventory.StockMovement": 6,
    "inventory.StockReservation": 7,
    "orders.IdempotencyKey": 6,
    "orders.Notification": 6,
    "orders.Order": 5,
    "orders.OrderEvent": 5,
    "orders.OrderHold": 7,
    "orders.Quote": 6,
    "orders.TaxRate": 5,
    "planning.DemandForecast": 6,
    "planning.LowStockCrossing": 6,
    "planning.PlanningRun": 5,
    "planning.ReorderSuggestion": 5,
    "returns.ReturnPolicy": 6,
    "returns.ReturnReason": 5,
    "returns.ReturnRequest": 7,
    "shipping.Carrier": 5,
    "shipping.ShippingMethod": 6,
    "webhooks.ReceivedWebhook": 6,
    "webhooks.WebhookEvent": 5,
    "webhooks.WebhookSubscription": 5,
}

CHANGE_PAGE_QUERIES: dict[str, int] = {
    "auth.Group": 5,
    "auth.User": 7,
    "axes.AccessLog": 3,
    "billing.PaymentTermsRule": 3,
    "customers.Address": 4,
    "customers.ApiKey": 3,
    "customers.Company": 9,  # with the default shipping method's choices
    "customers.Customer": 15,
    "customers.PriceList": 6,
    "fulfillment.FulfillmentOrder": 6,
    "fulfillment.RoutingDecision": 3,
    "fulfillment.RoutingRule": 3,
    "fulfillment.Shipment": 5,
    "fulfillment.TrackingEvent": 3,
    "inventory.Location": 3,
    "inventory.NetworkReservation": 3,
    "inventory.NetworkStock": 3,
    "inventory.Product": 7,
    "inventory.ProductCategory": 3,
    "inventory.PurchaseOrder": 9,
    "inventory.StaffLocation": 5,
    "inventory.StockLevel": 4,
    "inventory.StockMovement": 5,
    "inventory.StockReservation": 3,
    "orders.IdempotencyKey": 3,
    "orders.Notification": 4,
    "orders.Order": 14,
    "orders.OrderEvent": 3,
    "orders.OrderHold": 3,
    "orders.Quote": 3,
    "orders.TaxRate": 3,
    "returns.ReturnPolicy": 5,
    "returns.ReturnReason": 3,
    "shipping.Carrier": 4,
    "shipping.ShippingMethod": 4,
}

# The world of the admin tests has no row of these (their apps' own tests render them);
# a model that gains a row there gets its change page pinned above.
NO_ROW_IN_WORLD = {
    "analytics.ExportJob",
    "axes.AccessAttempt",
    "axes.AccessFailureLog",
    "billing.AgingReport",
    "billing.CreditNote",
    "billing.Invoice",
    "billing.ReceivedPayment",
    "core.SavedFilter",
    "core.WorkQueue",
    "django_celery_beat.ClockedSchedule",
    "django_celery_beat.CrontabSchedule",
    "django_celery_beat.IntervalSchedule",
    "django_celery_beat.PeriodicTask",
    "django_celery_beat.SolarSchedule",
    "planning.DemandForecast",
    "planning.LowStockCrossing",
    "planning.PlanningRun",
    "planning.ReorderSuggestion",
    "returns.ReturnRequest",
    "webhooks.ReceivedWebhook",
    "webhooks.WebhookEvent",
    "webhooks.WebhookSubscription",
}


def _url(model: Any, view: str, *args: Any) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def _count(client: Any, url: str, query: dict[str, str] | None = None) -> int:
    # The per-process ContentType cache (log entries, permissions) is warmed first, so
    # a count does not depend on which test ran before in this worker.
    ContentType.objects.get_for_models(*MODELS)
    client.get(url, query or {})
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, query or {})
    assert response.status_code == 200, f"{url}: {response.status_code}"
    return len(captured)


def _changelist_counts(client: Any) -> dict[str, int]:
    return {
        model._meta.label: _count(
            client, _url(model, "changelist"), CHANGELIST_QUERY.get(model._meta.label)
        )
        for model in MODELS
    }


def _change_page_counts(client: Any) -> dict[str, int]:
    counts = {}
    for model in MODELS:
        obj = model._default_manager.order_by("pk").first()
        if obj is not None:
            counts[model._meta.label] = _count(client, _url(model, "change", obj.pk))
    return counts


def _more_rows(operator: Any, world: dict[str, Any], n: int) -> None:
    """A second batch of the rows the busiest pages list, written through the services:
    more orders, holds, notes and addresses of the world's company and buyer, more
    stock movements of its SKU, another shipped order with its messages."""
    company, buyer, level = world["company"], world["customer"], world["level"]
    customer_services.add_address(
        kind="shipping",
        data={"line1": f"{n} Oak St", "city": "Reno", "postal_code": "89502", "country": "US"},
        customer=buyer,
        make_default=True,
    )
    customer_services.add_customer_note(customer=buyer, body="Calls at noon.", actor=operator)
    add_order_note(order=world["order"], body=f"note {n}", actor=operator)
    inventory_services.receive_stock(
        location=level.location, product=level.product, quantity=1, actor=operator
    )
    for _ in range(3):
        order = OrderFactory(customer=buyer, company=company, lines=3)
        hold = order_services.place_hold(order=order, kind="manual", reason="x", actor=operator)
        order_services.release_hold(hold_id=hold.pk, reason="ok", actor=operator)
        order_services.place_hold(order=order, kind="address", reason="y", actor=operator)
    location = LocationFactory(code=f"MORE{n}")
    products = [ProductFactory(sku=f"MORE-{n}-{i}") for i in range(3)]
    for product in products:
        inventory_services.receive_stock(
            location=location, product=product, quantity=5, actor=operator, reference=f"R{n}"
        )
    with transaction.atomic():
        reserve_network(
            {products[0].pk: 1},
            reference=f"DRAFT-MORE-{n}",
            expires_at=timezone.now() + dt.timedelta(hours=1),
            actor=operator,
        )
    refcache.clear()
    method = OrderFactory().shipping_method
    shipped = place_order(
        request=OrderRequest(
            customer=CustomerFactory(),
            channel="web",
            shipping_method_code=method.code,
            shipping_address={
                "name": "Sam Buyer",
                "line1": "4 Elm St",
                "city": "Reno",
                "region": "NV",
                "postal_code": "89502",
                "country": "US",
            },
            lines=[LineRequest(sku=p.sku, quantity=1) for p in products[1:]],
        ),
        actor=operator,
    ).order
    route_order(order_id=shipped.pk)
    for fo in shipped.fulfillment_orders.all():
        shipment = ship_fulfillment_order(
            fo_id=fo.pk, actor=operator, tracking_number=f"1Z-MORE-{n}-{fo.pk}"
        )
        record_tracking_event(
            shipment_id=shipment.pk,
            status="in_transit",
            occurred_at=timezone.now(),
            external_id=f"scan-more-{n}-{fo.pk}",
        )
        send_order_notification(order_id=shipped.pk, event="shipped", shipment_id=shipment.pk)


def _differences(actual: dict[str, int], pinned: dict[str, int]) -> str:
    """What changed, and the whole table to pin if the change is meant."""
    changed = [
        f"{label}: pinned {pinned.get(label)}, now {actual.get(label)}"
        for label in sorted(set(actual) | set(pinned))
        if actual.get(label) != pinned.get(label)
    ]
    table = "".join(f'    "{label}": {count},\n' for label, count in sorted(actual.items()))
    return "\n".join(changed) + "\n\nThe counts now:\n{\n" + table + "}"


def test_every_registered_model_has_a_pinned_changelist_count(admin_client, world):
    counts = _changelist_counts(admin_client)

    assert counts == CHANGELIST_QUERIES, _differences(counts, CHANGELIST_QUERIES)


def test_every_change_page_with_a_row_has_a_pinned_count(admin_client, world):
    counts = _change_page_counts(admin_client)

    assert counts == CHANGE_PAGE_QUERIES, _differences(counts, CHANGE_PAGE_QUERIES)
    assert {model._meta.label for model in MODELS} - set(counts) == NO_ROW_IN_WORLD


def test_changelist_counts_do_not_grow_with_rows(admin_client, world, operator):
    few = _changelist_counts(admin_client)
    _more_rows(operator, world, 1)
    _more_rows(operator, world, 2)

    many = _changelist_counts(admin_client)

    assert {
        label: (few[label], count) for label, count in many.items() if count != few[label]
    } == {}


def test_change_page_counts_do_not_grow_with_related_rows(admin_client, world, operator):
    pages = [
        _url(type(obj), "change", obj.pk)
        for obj in (
            world["company"],
            world["customer"],
            world["order"],
            world["level"],
            world["level"].product,
            world["level"].location,
        )
    ]
    few = [_count(admin_client, url) for url in pages]
    _more_rows(operator, world, 1)
    _more_rows(operator, world, 2)

    many = [_count(admin_client, url) for url in pages]

    assert many == few


def test_row_checkbox_is_the_html_django_writes(admin_client, world):
    order = world["order"]
    order_admin = admin.site._registry[type(order)]

    ours = order_admin.action_checkbox(order)
    djangos = admin.ModelAdmin.action_checkbox(order_admin, order)
    page = admin_client.get(_url(type(order), "changelist")).content.decode()

    assert str(ours) == str(djangos)
    assert str(ours) in page
