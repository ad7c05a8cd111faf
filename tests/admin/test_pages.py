"""Every console page renders for a superuser, with data written by the services."""

import pytest
from django.contrib import admin
from django.urls import reverse

from inventory.forms import STOCK_OPERATIONS
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

DOMAIN_APPS = {"customers", "inventory", "shipping", "orders", "fulfillment"}
CONSOLE_MODELS = sorted(
    (model for model in admin.site._registry if model._meta.app_label in DOMAIN_APPS),
    key=lambda model: model._meta.label,
)


def _url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def test_every_domain_model_an_operator_touches_is_registered():
    labels = {model._meta.label for model in CONSOLE_MODELS}

    assert labels >= {
        "customers.Company",
        "customers.Customer",
        "customers.Address",
        "inventory.Location",
        "inventory.Product",
        "inventory.StockLevel",
        "inventory.StockMovement",
        "inventory.NetworkStock",
        "inventory.StockReservation",
        "orders.Order",
        "orders.OrderHold",
        "orders.OrderEvent",
        "shipping.Carrier",
        "shipping.ShippingMethod",
        "customers.PriceList",
        "customers.ApiKey",
        "inventory.NetworkReservation",
        "orders.TaxRate",
        "orders.IdempotencyKey",
    }


@pytest.mark.parametrize("model", CONSOLE_MODELS, ids=lambda m: m._meta.label)
def test_changelist_renders(admin_client, world, model):
    # The fulfillment queue opens on the work to do; "all" lists the world's shipped one.
    query = {"queue": "all"} if model._meta.label == "fulfillment.FulfillmentOrder" else {}
    response = admin_client.get(_url(model, "changelist"), query)

    assert response.status_code == 200
    assert response.context["cl"].result_count >= 1


@pytest.mark.parametrize("model", CONSOLE_MODELS, ids=lambda m: m._meta.label)
def test_change_page_renders(admin_client, world, model):
    obj = model._default_manager.order_by("pk").first()

    response = admin_client.get(_url(model, "change", obj.pk))

    assert response.status_code == 200


@pytest.mark.parametrize("model", CONSOLE_MODELS, ids=lambda m: m._meta.label)
def test_add_page_renders_where_adding_is_allowed(admin_client, admin_user, world, model, rf):
    request = rf.get("/")
    request.user = admin_user
    can_add = admin.site._registry[model].has_add_permission(request)

    response = admin_client.get(_url(model, "add"))

    assert response.status_code == (200 if can_add else 403)


@pytest.mark.parametrize(
    "label", ["customers.Company", "customers.Customer", "inventory.Product", "inventory.Location"]
)
def test_history_page_renders(admin_client, world, label):
    model = next(m for m in CONSOLE_MODELS if m._meta.label == label)
    obj = model._default_manager.order_by("pk").first()

    response = admin_client.get(_url(model, "history", obj.pk))

    assert response.status_code == 200


@pytest.mark.parametrize("slug", list(STOCK_OPERATIONS))
def test_stock_operation_pages_render_prefilled(admin_client, stocked_level, slug):
    url = reverse(f"admin:inventory_stocklevel_{slug.replace('-', '_')}")

    response = admin_client.get(url, {"sku": "MUG-RED", "location": "RNO1"})

    assert response.status_code == 200
    form = response.context["form"]
    assert form.initial == {"sku": "MUG-RED", "location": "RNO1"}


def test_stock_level_page_shows_buckets_ledger_and_operation_buttons(admin_client, stocked_level):
    response = admin_client.get(_url(type(stocked_level), "change", stocked_level.pk))

    content = response.content.decode()
    assert "Available to promise" in content
    assert "Ledger (most recent first)" in content
    assert "PO-1" in content  # the receipt's ledger row
    assert "Receive stock" in content
    assert "?sku=MUG-RED&amp;location=RNO1" in content


def test_order_page_shows_lines_holds_timeline_and_hold_buttons(admin_client, open_hold):
    order = open_hold.order

    response = admin_client.get(_url(type(order), "change", order.pk))

    content = response.content.decode()
    assert order.lines.first().sku in content
    assert "Mismatched billing" in content
    assert "Fraud review hold: Mismatched billing" in content  # the timeline entry
    assert reverse("admin:orders_order_release_hold", args=[order.pk]) in content
    assert reverse("admin:orders_order_place_hold", args=[order.pk]) in content


def test_product_page_shows_network_availability(admin_client, stocked_level):
    response = admin_client.get(
        _url(type(stocked_level.product), "change", stocked_level.product.pk)
    )

    content = response.content.decode()
    assert "available to promise across the network" in content
    assert "RNO1" in content


def test_customer_page_shows_latest_orders(admin_client, placed_order):
    customer = placed_order.customer

    response = admin_client.get(_url(type(customer), "change", customer.pk))

    assert placed_order.number in response.content.decode()


@pytest.mark.parametrize(
    "label",
    [
        # Stock levels: only the bin is edited on their page (test_pick_list_bins).
        "inventory.StockMovement",
        "inventory.NetworkStock",
        "inventory.StockReservation",
        "orders.Order",
        "orders.OrderHold",
        "orders.OrderEvent",
        "inventory.NetworkReservation",
        "customers.ApiKey",
        "orders.IdempotencyKey",
    ],
)
def test_service_written_rows_cannot_be_edited_or_deleted(admin_client, world, label):
    model = next(m for m in CONSOLE_MODELS if m._meta.label == label)
    obj = model._default_manager.order_by("pk").first()

    change_page = admin_client.get(_url(model, "change", obj.pk))
    edit = admin_client.post(_url(model, "change", obj.pk), {})
    delete = admin_client.post(_url(model, "delete", obj.pk), {"post": "yes"})

    assert change_page.context["has_change_permission"] is False
    assert edit.status_code == 403
    assert delete.status_code == 403
    assert model._default_manager.filter(pk=obj.pk).exists()


def test_other_apps_changelists_keep_their_exact_counts(admin_client):
    UserFactory(username="someone-else")

    response = admin_client.get(reverse("admin:auth_user_changelist"), {"q": "admin"})

    content = response.content.decode()
    assert "1 user" in content
    assert "1 result" in content
    assert "2 total" in content
