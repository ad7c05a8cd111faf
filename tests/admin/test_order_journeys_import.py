"""Importing orders from a file in the console: upload → dry run report (writes
nothing) → "Import N orders" (the same file, kept on the server) → the real report.
A second import of the same file skips what was imported."""

import csv
import io
from decimal import Decimal

import pytest
import tablib
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.urls import reverse

from core import refcache
from inventory import services as inventory_services
from inventory.models import NetworkStock
from orders.import_staging import IMPORT_SESSION_KEY, IMPORT_STAGING_DIR
from orders.imports import NOT_A_WORKBOOK, REQUIRED_COLUMNS, UNEXPECTED_ERROR, read_dataset
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


def test_a_file_over_the_size_limit_is_refused(admin_client, db, settings):
    settings.OMS_IMPORT_MAX_BYTES = 10

    response = admin_client.post(
        reverse(IMPORT), {"file": _file(GOOD_AND_BAD), "channel": "import"}
    )

    assert response.context["form"].errors["file"] == [
        "The file is larger than 10 bytes; split it."
    ]


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
    workbook = tablib.Dataset().load(_file(GOOD_AND_BAD).read().decode(), format="csv")
    upload = SimpleUploadedFile("orders.xlsx", workbook.export("xlsx"))

    dry = admin_client.post(reverse(IMPORT), {"file": upload, "channel": "import"})
    done = admin_client.post(reverse(IMPORT), {"confirm": "1", "token": dry.context["token"]})

    assert [r["outcome"] for r in dry.context["rows"]] == ["ok", "errors"]
    assert [r["outcome"] for r in done.context["rows"]] == ["imported", "refused"]
    assert Order.objects.get().channel == Channel.IMPORT


# --- files and rows that cannot hurt ------------------------------------------------------


CUSTOMIZABLE_HEADER = HEADER.replace("shipping_method,", "shipping_method,customization,")


def _csv(lines: list[str], name: str = "orders.csv") -> SimpleUploadedFile:
    body = CUSTOMIZABLE_HEADER + "".join(lines)
    return SimpleUploadedFile(name, body.encode(), content_type="text/csv")


def _line(ref: str, sku: str, qty: int = 1, *, city: str = "Reno", customization: str = "") -> str:
    return (
        f"{ref},pat@example.com,{sku},{qty},STANDARD,{customization},"
        f"Pat,1 Main St,{city},NV,89502,US\n"
    )


def test_an_xlsx_that_is_not_a_workbook_is_a_form_error(admin_client, customer, stocked, tmp_path):
    upload = _csv([_line("M-1", "MUG-RED")], name="orders.xlsx")

    response = admin_client.post(reverse(IMPORT), {"file": upload, "channel": "import"})

    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [NOT_A_WORKBOOK]
    assert "Please correct the error below" not in response.content.decode()
    assert Order.objects.count() == 0
    assert _staged(tmp_path) == []


def test_a_file_over_the_row_limit_is_a_form_error(
    admin_client, customer, stocked, tmp_path, settings
):
    settings.OMS_IMPORT_MAX_ROWS = 2
    upload = _csv([_line(f"M-{n}", "MUG-RED") for n in range(3)])

    response = admin_client.post(reverse(IMPORT), {"file": upload, "channel": "import"})

    assert response.context["form"].non_field_errors() == ["At most 2 rows per file; split it."]
    assert Order.objects.count() == 0
    assert _staged(tmp_path) == []


def test_the_dry_run_refuses_the_rows_the_import_would_refuse(admin_client, customer, stocked):
    # Given a file with a NUL character in a city and a customization nested
    # thousands deep, between two good orders
    nested = '"{""engraving"": ' + "[" * 3000 + "]" * 3000 + '}"'
    upload = _csv(
        [
            _line("M-1", "MUG-RED"),
            _line("M-2", "MUG-RED", city="Re\x00no"),
            _line("M-3", "CUP-BLUE", customization=nested),
            _line("M-4", "CUP-BLUE"),
        ]
    )

    # When the agent runs it dry, then confirms
    dry = admin_client.post(reverse(IMPORT), {"file": upload, "channel": "import"})
    done = admin_client.post(reverse(IMPORT), {"confirm": "1", "token": dry.context["token"]})

    # Then the dry run already names each bad row and why, and the import agrees
    assert [(r["result"].reference, r["outcome"]) for r in dry.context["rows"]] == [
        ("M-1", "ok"),
        ("M-2", "errors"),
        ("M-3", "errors"),
        ("M-4", "ok"),
    ]
    content = dry.content.decode()
    assert "Row 3: ship_city contains a NUL character" in content
    assert "Row 4: customization is longer than 2000 characters" in content
    assert "Import 2 orders" in content
    assert [r["outcome"] for r in done.context["rows"]] == [
        "imported",
        "refused",
        "refused",
        "imported",
    ]
    assert sorted(Order.objects.values_list("external_reference", flat=True)) == ["M-1", "M-4"]


def test_an_unexpected_failure_at_import_refuses_that_order_alone(
    admin_client, customer, stocked, caplog
):
    # Given a dry run of three good orders
    upload = _csv(
        [_line("M-1", "MUG-RED", 2), _line("M-2", "MUG-RED", 7), _line("M-3", "CUP-BLUE")]
    )
    dry = admin_client.post(reverse(IMPORT), {"file": upload, "channel": "import"})
    assert dry.context["report"].valid == 3
    # And a database that then refuses the second in a way nothing could foresee
    with connection.cursor() as cursor:
        cursor.execute(
            "ALTER TABLE orders_orderline "
            "ADD CONSTRAINT test_no_seven CHECK (quantity_ordered <> 7)"
        )

    # When the agent confirms
    done = admin_client.post(reverse(IMPORT), {"confirm": "1", "token": dry.context["token"]})

    # Then the report lists all three: the 1st and 3rd placed, the 2nd refused
    assert done.status_code == 200
    assert [(r["result"].reference, r["outcome"]) for r in done.context["rows"]] == [
        ("M-1", "imported"),
        ("M-2", "refused"),
        ("M-3", "imported"),
    ]
    assert UNEXPECTED_ERROR in done.content.decode()
    assert sorted(Order.objects.values_list("external_reference", flat=True)) == ["M-1", "M-3"]
    assert _committed() == 3
    assert any(r.exc_info for r in caplog.records if r.name == "orders.imports")
    messages = [str(m) for m in done.context["messages"]]
    assert messages == ["Imported 2 order(s); 0 already imported, 1 refused."]


def test_a_product_withdrawn_after_the_dry_run_refuses_its_order_with_the_reason(
    admin_client, customer, stocked
):
    upload = _csv([_line("M-1", "MUG-RED"), _line("M-2", "CUP-BLUE"), _line("M-3", "MUG-RED")])
    dry = admin_client.post(reverse(IMPORT), {"file": upload, "channel": "import"})
    stocked[1].is_active = False
    stocked[1].save()

    done = admin_client.post(reverse(IMPORT), {"confirm": "1", "token": dry.context["token"]})

    assert [
        (r["result"].reference, r["outcome"], r["result"].errors) for r in done.context["rows"]
    ] == [
        ("M-1", "imported", []),
        ("M-2", "refused", ["No longer sold: CUP-BLUE."]),
        ("M-3", "imported", []),
    ]
    assert sorted(Order.objects.values_list("external_reference", flat=True)) == ["M-1", "M-3"]
