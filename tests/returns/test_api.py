"""The returns API: asking (idempotent, refusals as problem+json with nothing written),
reading one's own returns only, and the label."""

import shutil
import subprocess

import pytest
from django.core.cache import caches
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from core import refcache
from core.actors import Actor
from core.models import OutboxEvent
from customers.api_keys import create_api_key, create_storefront_api_key
from inventory import services as stock
from inventory.models import LocationKind, Product
from orders.models import Order, OrderLine
from returns.models import ReturnRequest
from tests.factories import CompanyFactory, CustomerFactory, LocationFactory, ProductFactory

from .conftest import delivered_order

pytestmark = pytest.mark.django_db

SYSTEM = Actor.system("test")


@pytest.fixture(autouse=True)
def _fresh_caches():
    refcache.clear()
    for cache in caches.all():
        cache.clear()
    yield
    refcache.clear()


def key_of(company) -> APIClient:
    CustomerFactory(company=company, company_role="buyer")
    client = APIClient()
    raw = create_api_key(company=company, name="erp").raw_key
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


@pytest.fixture
def acme(db):
    return CompanyFactory()


@pytest.fixture
def api(acme):
    return key_of(acme)


@pytest.fixture
def order(acme, default_policy, warehouse):
    return delivered_order(quantity=2, company=acme)


def body(quantity=1, reason="damaged", **extra):
    return {
        "method": "mail",
        "lines": [{"line_number": 1, "quantity": quantity, "reason": reason}],
        **extra,
    }


def post(api, order, data, key="k-1"):
    return api.post(
        f"/api/v1/orders/{order.number}/returns/", data, format="json", HTTP_IDEMPOTENCY_KEY=key
    )


def test_ask_read_and_replay(api, order):
    created = post(api, order, body())

    assert created.status_code == 201, created.content
    rma = created.json()
    assert rma["status"] == "approved"
    assert rma["destination"]["code"] == "RNO1"
    assert rma["lines"] == [
        {
            "line_number": 1,
            "sku": order.lines.get().sku,
            "quantity": 1,
            "quantity_received": 0,
            "reason": "damaged",
            "note": "",
            "quantity_refunded": 0,
        }
    ]
    assert rma["resolution"] == "refund"
    assert rma["exchange_lines"] == []
    assert rma["exchange_order"] is None
    assert rma["refunds"] == []
    again = post(api, order, body())
    assert again.status_code == 201
    assert again.json()["number"] == rma["number"]
    assert ReturnRequest.objects.count() == 1
    reused = post(api, order, body(quantity=2))
    assert reused.status_code == 422
    assert reused.json()["code"] == "idempotency_key_reused"

    listed = api.get("/api/v1/returns/")
    assert [r["number"] for r in listed.json()["results"]] == [rma["number"]]
    detail = api.get(f"/api/v1/returns/{rma['number']}/")
    assert detail.status_code == 200
    assert detail.json() == rma


def test_another_company_sees_nothing(api, order, db):
    rma = post(api, order, body()).json()["number"]
    other = key_of(CompanyFactory())

    assert other.get(f"/api/v1/returns/{rma}/").status_code == 404
    assert other.get(f"/api/v1/returns/{rma}/label/").status_code == 404
    assert other.get("/api/v1/returns/").json()["results"] == []
    refused = post(other, order, body(), key="k-other")
    assert refused.status_code == 404
    assert ReturnRequest.objects.count() == 1


@pytest.mark.parametrize(
    ("data", "status", "code"),
    [
        (body(quantity=3), 409, "quantity_exceeds_returnable"),
        (body(reason="bored"), 400, "invalid_input"),
        ({"method": "mail", "lines": []}, 400, "invalid_input"),
        ({"method": "teleport", "lines": body()["lines"]}, 400, "invalid_input"),
        (
            {"method": "mail", "lines": [{"line_number": 9, "quantity": 1, "reason": "damaged"}]},
            400,
            "invalid_input",
        ),
        (
            {"method": "drop_off", "drop_off_location": "NOPE", "lines": body()["lines"]},
            400,
            "invalid_input",
        ),
    ],
)
def test_refusals_write_nothing(api, order, data, status, code):
    refused = post(api, order, data)

    assert refused.status_code == status, refused.content
    assert refused["Content-Type"].startswith("application/problem+json")
    assert refused.json()["code"] == code
    assert not ReturnRequest.objects.exists()
    assert OrderLine.objects.get(order=order).quantity_return_requested == 0


def test_window_closed_is_422(api, acme, default_policy, warehouse):
    old = delivered_order(company=acme, days_ago=45)

    refused = post(api, old, body())

    assert refused.status_code == 422
    assert refused.json()["code"] == "return_window_closed"
    assert not ReturnRequest.objects.exists()


def test_an_idempotency_key_is_required(api, order):
    refused = api.post(f"/api/v1/orders/{order.number}/returns/", body(), format="json")

    assert refused.status_code == 400
    assert refused.json()["code"] == "idempotency_key_required"
    assert not ReturnRequest.objects.exists()


@pytest.mark.skipif(
    not shutil.which("zbarimg") or not shutil.which("pdftoppm"),
    reason="needs zbar-tools and poppler-utils (installed by CI)",
)
def test_the_label_decodes_to_the_rma_number(api, order, tmp_path):
    rma = post(api, order, body()).json()["number"]

    label = api.get(f"/api/v1/returns/{rma}/label/", HTTP_ACCEPT="application/pdf")

    assert label.status_code == 200
    assert label["Content-Type"] == "application/pdf"
    pdf = tmp_path / "label.pdf"
    pdf.write_bytes(label.content)
    subprocess.run(["pdftoppm", "-png", "-r", "200", str(pdf), str(tmp_path / "page")], check=True)
    page = sorted(tmp_path.glob("page*.png"))[0]
    found = subprocess.run(
        ["zbarimg", "--quiet", str(page)], capture_output=True, text=True, check=False
    ).stdout.split()
    assert f"CODE-128:{rma}" in found
    assert f"QR-Code:{rma}" in found


def test_drop_off_stores_are_listed(api, order):
    LocationFactory(code="NYC-ST", kind=LocationKind.STORE, postal_code="10001")

    listed = api.get(f"/api/v1/orders/{order.number}/returns/drop-off-stores/")

    assert listed.status_code == 200
    assert [s["code"] for s in listed.json()] == ["NYC-ST"]
    created = post(api, order, body(method="drop_off", drop_off_location="NYC-ST"))
    assert created.status_code == 201
    assert created.json()["destination"]["code"] == "NYC-ST"


def test_the_storefront_asks_for_its_shoppers_only(api, order, default_policy, warehouse):
    storefront = APIClient()
    raw = create_storefront_api_key(name="web").raw_key
    storefront.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    web_order = delivered_order()  # a B2C web order (no company)

    created = post(storefront, web_order, body(), key="web-1")
    company_rma = post(api, order, body(), key="k-9").json()["number"]

    assert created.status_code == 201
    assert [r["number"] for r in storefront.get("/api/v1/returns/").json()["results"]] == [
        created.json()["number"]
    ]
    assert storefront.get(f"/api/v1/returns/{company_rma}/").status_code == 404
    assert post(storefront, order, body(), key="web-2").status_code == 404
    assert api.get(f"/api/v1/returns/{created.json()['number']}/").status_code == 404


def test_a_key_reused_for_another_order_is_refused(api, order, acme):
    other = delivered_order(company=acme)
    assert post(api, order, body(), key="same").status_code == 201

    reused = post(api, other, body(), key="same")

    assert reused.status_code == 422
    assert reused.json()["code"] == "idempotency_key_reused"
    assert ReturnRequest.objects.count() == 1


def test_the_list_queries_do_not_grow_with_returns(api, acme, default_policy, warehouse):
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert api.get("/api/v1/returns/").status_code == 200
        return len(queries)

    post(api, delivered_order(company=acme), body(), key="q-0")
    few = count()
    for n in range(1, 4):
        post(
            api,
            delivered_order(company=acme, products=[ProductFactory(), ProductFactory()]),
            {
                "method": "mail",
                "lines": [
                    {"line_number": 1, "quantity": 1, "reason": "damaged"},
                    {"line_number": 2, "quantity": 1, "reason": "size_fit"},
                ],
            },
            key=f"q-{n}",
        )

    assert len(api.get("/api/v1/returns/").json()["results"]) == 4
    assert count() == few


def exchange(*lines, reason="damaged"):
    return body(
        reason=reason,
        resolution="exchange",
        exchange_lines=[{"sku": sku, "quantity": quantity} for sku, quantity in lines],
    )


@pytest.mark.parametrize(
    ("data", "status", "code"),
    [
        (body(resolution="cash"), 400, "invalid_input"),
        (body(exchange_lines=[{"sku": "ANY", "quantity": 1}]), 400, "invalid_input"),
        (body(resolution="exchange"), 400, "invalid_input"),
        (exchange(("NO-SUCH-SKU", 1)), 400, "unknown_sku"),
        (exchange(("ANY", 0)), 400, "invalid_input"),
    ],
)
def test_resolution_refusals_write_nothing(api, order, data, status, code):
    orders = Order.objects.count()
    events = OutboxEvent.objects.count()

    refused = post(api, order, data)

    assert refused.status_code == status, refused.content
    assert refused["Content-Type"].startswith("application/problem+json")
    assert refused.json()["code"] == code
    assert not ReturnRequest.objects.exists()
    assert Order.objects.count() == orders
    assert OutboxEvent.objects.count() == events
    assert OrderLine.objects.get(order=order).quantity_return_requested == 0


def test_an_exchange_dearer_than_the_return_is_refused(api, order):
    sold = order.lines.get()
    dearer = ProductFactory(list_price=sold.unit_price + 1)

    refused = post(api, order, exchange((dearer.sku, 1)))

    assert refused.status_code == 422
    assert refused.json()["code"] == "exchange_costs_more"
    assert not ReturnRequest.objects.exists()


def test_an_exchange_out_of_stock_is_refused_when_approved(api, order):
    cheaper = ProductFactory(list_price=0)  # no stock anywhere
    orders = Order.objects.count()

    refused = post(api, order, exchange((cheaper.sku, 1)))  # damaged: approved at once

    assert refused.status_code == 409
    assert refused.json()["code"] == "insufficient_stock"
    assert not ReturnRequest.objects.exists()
    assert Order.objects.count() == orders


def test_an_exchange_through_the_api(api, order, warehouse):
    sold = order.lines.get()
    same = sold.product
    Product.objects.filter(pk=same.pk).update(list_price=sold.unit_price)
    stock.receive_stock(location=warehouse, product=same, quantity=5, actor=SYSTEM)

    created = post(api, order, exchange((same.sku.lower(), 1)))

    assert created.status_code == 201, created.content
    rma = created.json()
    assert rma["resolution"] == "exchange"
    assert rma["exchange_lines"] == [{"sku": same.sku, "quantity": 1}]
    replacement = Order.objects.get(number=rma["exchange_order"])
    assert replacement.grand_total == 0
    assert replacement.holds.get().kind == "exchange"
    assert api.get(f"/api/v1/returns/{rma['number']}/").json()["exchange_order"] == (
        replacement.number
    )


def test_store_credit_is_refused_for_an_order_on_terms(api, order):
    Order.objects.filter(pk=order.pk).update(payment_method="invoice")

    refused = post(api, order, body(resolution="store_credit"))

    assert refused.status_code == 422
    assert refused.json()["code"] == "store_credit_not_available"
    assert not ReturnRequest.objects.exists()
