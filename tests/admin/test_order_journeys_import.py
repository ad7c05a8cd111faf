"""Importing orders from a file in the console: upload → dry run report (writes
nothing) → "Import N orders" (the same file, kept on the server) → the real report.
A second import of the same file skips what was imported."""

import csv
import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from inventory import services as inventory_services
from inventory.models import NetworkStock
from oms.core import refcache
from orders.admin import IMPORT_SESSION_KEY, IMPORT_STAGING_DIR
from orders.imports import REQUIRED_COLUMNS, read_dataset
from orders.models import Channel, Order
from tests.factories import CustomerFactory, LocationFactory, ProductFactory, ShippingMethodFactory

pytestmark = pytest.mark.django_db

IMPORT = "admin:orders_order_import"
HEADER = (
    "order_ref,customer_email,sku,quantity,shipping_method,ship_name,ship_line1,ship_city,"
    "ship_region,ship_postal_code,ship_country\n"
)


@pytest.fixture(autouse=True)
def _isolated(settings, tmp_path):
    refcache.clear()
    settings.MEDIA_ROOT = tmp_path
    yield
    refcache.clear()


@pytest.fixture
def stocked(operator):
    ShippingMethodFactory()
    warehouse = LocationFactory(code="RNO1")
    products = []
    for sku in ("MUG-RED", "CUP-BLUE"):
        product = ProductFactory(sku=sku, list_price=Decimal("10.00"))
        inventory_services.receive_stock(
            location=warehouse, product=product, quantity=10, actor=operator
        )
        products.append(product)
    return products


@pytest.fixture
def customer(db):
    return CustomerFactory(email="pat@example.com")


def _file(rows: list[tuple[str, str, int]], name: str = "orders.csv") -> SimpleUploadedFile:
    body = "".join(
        f"{ref},PAT@example.com,{sku},{qty},STANDARD,Pat,1 Main St,Reno,NV,89502,US\n"
        for ref, sku, qty in rows
    )
    return SimpleUploadedFile(name, (HEADER + body).encode(), content_type="text/csv")


GOOD_AND_BAD = [("M-1", "MUG-RED", 2), ("M-1", "CUP-BLUE", 1), ("M-2", "NOPE", 1)]


def _committed() -> int:
    return sum(NetworkStock.objects.values_list("committed", flat=True))


def _staged(tmp_path) -> list[str]:
    folder = tmp_path / IMPORT_STAGING_DIR
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_changelist_offers_the_import_and_its_template(client_for, db):
    client = client_for("sales_rep")

    changelist = client.get(reverse("admin:orders_order_changelist"))
    page = client.get(reverse(IMPORT))
    template = client.get(reverse("admin:orders_order_import_template"))

    assert reverse(IMPORT) in changelist.content.decode()
    assert reverse("admin:orders_order_import_template") in page.content.decode()
    assert template["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(template.content.decode())))
    assert rows[0][: len(REQUIRED_COLUMNS)] == list(REQUIRED_COLUMNS)
    assert {"customization", "po_number", "pickup_location", "ship_line1"} <= set(rows[0])
    # The template itself is a file the importer reads.
    assert read_dataset(template.content, "template.csv").height == 1


def test_dry_run_then_confirm_imports_the_good_orders_once(client_for, customer, stocked, tmp_path):
    client = client_for("agent")

    # When the agent uploads a file for a dry run
    dry = client.post(reverse(IMPORT), {"file": _file(GOOD_AND_BAD), "channel": "marketplace"})

    # Then the report tells each order's fate and nothing is written
    assert dry.status_code == 200
    report = dry.context["report"]
    assert report.dry_run
    assert [(r["result"].reference, r["outcome"], r["rows"]) for r in dry.context["rows"]] == [
        ("M-1", "ok", "2, 3"),
        ("M-2", "errors", "4"),
    ]
    content = dry.content.decode()
    assert "Unknown SKU: NOPE." in content
    assert "Import 1 order" in content
    assert Order.objects.count() == 0
    assert _committed() == 0
    assert len(_staged(tmp_path)) == 1  # the bytes wait on the server, not in the page
    token = dry.context["token"]

    # When the agent confirms
    done = client.post(reverse(IMPORT), {"confirm": "1", "token": token})

    # Then the good order is placed on the chosen channel, the file is gone
    assert done.status_code == 200
    assert not done.context["report"].dry_run
    order = Order.objects.get()
    assert (order.channel, order.external_reference) == (Channel.MARKETPLACE, "M-1")
    assert order.lines.count() == 2
    assert _committed() == 3
    assert [r["outcome"] for r in done.context["rows"]] == ["imported", "refused"]
    assert done.context["rows"][0]["url"] == reverse("admin:orders_order_change", args=[order.pk])
    assert _staged(tmp_path) == []
    assert IMPORT_SESSION_KEY not in client.session

    # And confirming again finds no file to import
    again = client.post(reverse(IMPORT), {"confirm": "1", "token": token})
    assert again.status_code == 302
    assert Order.objects.count() == 1

    # And a re-import of the same file skips the imported order
    rerun = client.post(reverse(IMPORT), {"file": _file(GOOD_AND_BAD), "channel": "marketplace"})
    assert [r["outcome"] for r in rerun.context["rows"]] == ["already imported", "errors"]
    assert rerun.context["token"] == ""  # nothing left to import: no confirm button
    assert "Import 0" not in rerun.content.decode()
    assert Order.objects.count() == 1


def test_confirm_with_a_forged_token_imports_nothing(admin_client, customer, stocked):
    admin_client.post(reverse(IMPORT), {"file": _file(GOOD_AND_BAD), "channel": "import"})

    response = admin_client.post(reverse(IMPORT), {"confirm": "1", "token": "forged"})

    assert response.status_code == 302
    assert Order.objects.count() == 0


def test_an_unreadable_file_is_a_form_error(admin_client, db):
    missing_columns = SimpleUploadedFile("orders.csv", b"sku,quantity\nA,1\n")
    wrong_type = SimpleUploadedFile("orders.txt", b"order_ref\n")

    first = admin_client.post(reverse(IMPORT), {"file": missing_columns, "channel": "import"})
    second = admin_client.post(reverse(IMPORT), {"file": wrong_type, "channel": "import"})

    assert first.context["form"].non_field_errors() == [
        "Missing columns: order_ref, customer_email, shipping_method."
    ]
    assert second.context["form"].errors == {"file": ["Upload a .csv or .xlsx file."]}
    assert Order.objects.count() == 0


def test_a_file_over_the_size_limit_is_refused(admin_client, db, monkeypatch):
    monkeypatch.setattr("orders.forms.MAX_IMPORT_BYTES", 10)

    response = admin_client.post(
        reverse(IMPORT), {"file": _file(GOOD_AND_BAD), "channel": "import"}
    )

    assert response.context["form"].errors["file"][0].startswith("The file is larger than")


def test_import_needs_the_place_on_behalf_permission(client_for, customer, stocked, tmp_path):
    client = client_for("warehouse")

    responses = [
        client.get(reverse(IMPORT)),
        client.get(reverse("admin:orders_order_import_template")),
        client.post(reverse(IMPORT), {"file": _file(GOOD_AND_BAD), "channel": "import"}),
        client.post(reverse(IMPORT), {"confirm": "1", "token": "x"}),
    ]

    assert [r.status_code for r in responses] == [403, 403, 403, 403]
    assert Order.objects.count() == 0
    assert _staged(tmp_path) == []


def test_an_xlsx_file_is_imported_like_a_csv(admin_client, customer, stocked):
    dataset = read_dataset(_file(GOOD_AND_BAD).read(), "orders.csv")
    upload = SimpleUploadedFile("orders.xlsx", dataset.export("xlsx"))

    dry = admin_client.post(reverse(IMPORT), {"file": upload, "channel": "import"})
    done = admin_client.post(reverse(IMPORT), {"confirm": "1", "token": dry.context["token"]})

    assert [r["outcome"] for r in dry.context["rows"]] == ["ok", "errors"]
    assert [r["outcome"] for r in done.context["rows"]] == ["imported", "refused"]
    assert Order.objects.get().channel == Channel.IMPORT
