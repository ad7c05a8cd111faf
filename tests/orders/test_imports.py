import csv
import io
import re
import zipfile

import openpyxl
import pytest
import tablib
from django.core.management import CommandError, call_command
from django.db import connection

from core.actors import Actor
from inventory.models import NetworkStock
from orders.imports import ImportFileError, import_orders, read_dataset
from orders.models import Order, OrderLine

pytestmark = pytest.mark.django_db

ACTOR = Actor.system("import test")
HEADER = (
    "order_ref,customer_email,sku,quantity,shipping_method,ship_name,ship_line1,ship_city,"
    "ship_region,ship_postal_code,ship_country\n"
)


def csv_file(customer, rows):
    lines = [
        f"{ref},{customer.email.upper()},{sku},{qty},STANDARD,Pat,1 Main St,New York,NY,10001,US"
        for ref, sku, qty in rows
    ]
    return (HEADER + "\n".join(lines) + "\n").encode()


def test_dry_run_reports_per_order_and_writes_nothing(customer, stocked, standard):
    a, b = stocked[0].sku, stocked[1].sku
    content = csv_file(customer, [("M-1", a, 2), ("M-1", b, 1), ("M-2", a, 99), ("M-3", "NOPE", 1)])

    report = import_orders(
        read_dataset(content, "orders.csv"), channel="marketplace", actor=ACTOR, dry_run=True
    )

    outcome = {r.reference: (r.ok, r.rows) for r in report.orders}
    assert outcome["M-1"] == (True, [2, 3])
    assert outcome["M-2"][0] is False  # 2 + 99 > 100 units across the file
    assert outcome["M-3"][0] is False
    assert Order.objects.count() == 0
    assert NetworkStock.objects.filter(committed__gt=0).count() == 0


def test_real_run_imports_good_orders_whole_and_skips_them_next_time(customer, stocked, standard):
    a = stocked[0].sku
    content = csv_file(customer, [("M-1", a, 2), ("M-1", stocked[1].sku, 1), ("M-2", "NOPE", 1)])
    dataset = read_dataset(content, "orders.csv")

    report = import_orders(dataset, channel="marketplace", actor=ACTOR, dry_run=False)
    again = import_orders(dataset, channel="marketplace", actor=ACTOR, dry_run=False)

    assert (report.valid, report.failed) == (1, 1)
    order = Order.objects.get()
    assert order.external_reference == "M-1"
    assert order.channel == "marketplace"
    assert OrderLine.objects.filter(order=order).count() == 2
    assert (again.valid, again.skipped, again.failed) == (0, 1, 1)
    assert Order.objects.count() == 1


def test_file_without_required_columns_is_refused():
    with pytest.raises(ImportFileError):
        read_dataset(b"sku,quantity\nA,1\n", "orders.csv")
    with pytest.raises(ImportFileError):
        read_dataset(b"whatever", "orders.pdf")


def test_xlsx_is_read(customer, stocked, standard):
    data = tablib.Dataset(
        headers=[
            "order_ref",
            "customer_email",
            "sku",
            "quantity",
            "shipping_method",
            "ship_line1",
            "ship_city",
            "ship_region",
            "ship_postal_code",
            "ship_country",
        ]
    )
    data.append(
        [
            "X-1",
            customer.email,
            stocked[0].sku,
            3,
            "STANDARD",
            "1 Main St",
            "New York",
            "NY",
            "10001",
            "US",
        ]
    )

    report = import_orders(
        read_dataset(data.export("xlsx"), "orders.xlsx"),
        channel="import",
        actor=ACTOR,
        dry_run=False,
    )

    assert report.valid == 1
    assert Order.objects.get().lines.get().quantity_ordered == 3


# --- hardening: files and rows that cannot hurt -----------------------------------------

COLUMNS = [
    "order_ref",
    "customer_email",
    "sku",
    "quantity",
    "customization",
    "shipping_method",
    "ship_name",
    "ship_line1",
    "ship_city",
    "ship_region",
    "ship_postal_code",
    "ship_country",
]


def line_row(customer, ref, sku, qty=1, **cells):
    return {
        "order_ref": ref,
        "customer_email": customer.email,
        "sku": sku,
        "quantity": qty,
        "customization": "",
        "shipping_method": "STANDARD",
        "ship_name": "Pat",
        "ship_line1": "1 Main St",
        "ship_city": "New York",
        "ship_region": "NY",
        "ship_postal_code": "10001",
        "ship_country": "US",
        **cells,
    }


def csv_of(rows):
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode()


def xlsx_of(rows):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(COLUMNS)
    for row in rows:
        sheet.append([row[c] for c in COLUMNS])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def rezip(content, name, change):
    """The same workbook with one of its parts (e.g. the sheet's XML) rewritten."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(content)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            data = source.read(info)
            target.writestr(info.filename, change(data) if info.filename == name else data)
    return out.getvalue()


SHEET = "xl/worksheets/sheet1.xml"


def _both_runs(content, name="orders.csv", channel="import"):
    dry = import_orders(read_dataset(content, name), channel=channel, actor=ACTOR, dry_run=True)
    real = import_orders(read_dataset(content, name), channel=channel, actor=ACTOR, dry_run=False)
    return dry, real


def _outcomes(report):
    return {
        r.reference: ("skipped" if r.skipped else "ok" if r.ok else "refused")
        for r in report.orders
    }


def _nothing_committed():
    return NetworkStock.objects.filter(committed__gt=0).count() == 0


def test_an_xlsx_that_is_not_a_zip_is_refused_as_a_file_error(customer, stocked, standard):
    content = csv_of([line_row(customer, "X-1", stocked[0].sku)])

    with pytest.raises(ImportFileError) as refused:
        read_dataset(content, "orders.xlsx")

    assert refused.value.message.startswith("The file is not a readable Excel workbook (.xlsx)")


def test_a_zip_that_is_not_a_workbook_is_refused(db):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("hello.txt", "not a workbook")

    with pytest.raises(ImportFileError) as refused:
        read_dataset(out.getvalue(), "orders.xlsx")

    assert refused.value.message.startswith("The file is not a readable Excel workbook")


def test_a_nul_byte_in_a_cell_is_refused_by_the_dry_run_as_by_the_real_run(
    customer, stocked, standard
):
    # Given a file whose second order has a NUL character in its address, and a third
    # whose customer e-mail and a fourth whose reference hold one (both are looked up)
    a = stocked[0].sku
    content = csv_of(
        [
            line_row(customer, "N-1", a),
            line_row(customer, "N-2", a, ship_name="Pat\x00Buyer"),
            line_row(customer, "N-3", a, customer_email=customer.email + "\x00"),
            line_row(customer, "N-\x004", a),
            line_row(customer, "N-5", a, customization='{"engraving": "P\\u0000t"}'),
        ]
    )

    # When it is dry-run, then imported
    dry, real = _both_runs(content)

    # Then the dry run refuses what the real run refuses, naming the row and column
    assert _outcomes(dry) == _outcomes(real)
    assert _outcomes(real) == {
        "N-1": "ok",
        "N-2": "refused",
        "N-3": "refused",
        "N-\x004": "refused",
        "N-5": "refused",
    }
    errors = {r.reference: r.errors for r in real.orders}
    assert errors["N-2"] == [
        (
            "Row 3: ship_name contains a NUL character; remove it (it often comes from a "
            "broken export) and upload again."
        )
    ]
    assert errors["N-3"][0].startswith("Row 4: customer_email contains a NUL character")
    assert errors["N-5"][0].startswith("Row 6: customization contains a NUL character")
    # And only the good order was written
    assert list(Order.objects.values_list("external_reference", flat=True)) == ["N-1"]


def test_nested_customization_is_refused_per_row_with_a_reason(customer, stocked, standard):
    # Given a customizable product and rows whose customization is nested, deeply
    # nested (a parser would recurse past its limit), not an object, or not text
    engraved = stocked[0]
    engraved.is_customizable = True
    engraved.customization_fields = ["engraving"]
    engraved.save()
    sku = engraved.sku
    deep = '{"engraving": ' + "[" * 5000 + "]" * 5000 + "}"
    content = csv_of(
        [
            line_row(customer, "C-1", sku, customization='{"engraving": "Pat"}'),
            line_row(customer, "C-2", sku, customization='{"engraving": {"text": "Pat"}}'),
            line_row(customer, "C-3", sku, customization="[" * 999 + "]" * 999),
            line_row(customer, "C-4", sku, customization=deep),
            line_row(customer, "C-5", sku, customization='["Pat"]'),
            line_row(customer, "C-6", sku, customization='{"engraving": 7}'),
        ]
    )

    dry, real = _both_runs(content)

    assert _outcomes(dry) == _outcomes(real)
    assert _outcomes(real) == {
        "C-1": "ok",
        "C-2": "refused",
        "C-3": "refused",
        "C-4": "refused",
        "C-5": "refused",
        "C-6": "refused",
    }
    shape = 'write a flat object of texts such as {"engraving": "Pat"}.'
    errors = {r.reference: r.errors for r in dry.orders}
    assert errors["C-2"] == [f"Row 3: customization is nested (engraving); {shape}"]
    # (at 999 levels the parser may give up before it sees a list: refused either way)
    assert errors["C-3"][0].startswith("Row 4: customization is not ")
    assert errors["C-4"] == [f"Row 5: customization is longer than 2000 characters; {shape}"]
    assert errors["C-5"] == [f"Row 6: customization is not an object; {shape}"]
    assert errors["C-6"] == [f"Row 7: customization engraving must be text; {shape}"]
    order = Order.objects.get()
    assert order.lines.get().customization == {"engraving": "Pat"}


def test_an_order_ref_longer_than_the_column_is_refused_by_the_dry_run(customer, stocked, standard):
    content = csv_of([line_row(customer, "R" * 101, stocked[0].sku)])

    dry, real = _both_runs(content)

    assert [r.errors for r in dry.orders] == [["Row 2: order_ref is longer than 100 characters."]]
    assert real.failed == 1
    assert Order.objects.count() == 0
    assert _nothing_committed()


def test_every_bad_row_of_an_order_is_named(customer, stocked, standard):
    a = stocked[0].sku
    content = csv_of(
        [
            line_row(customer, "B-1", a, quantity="two"),
            line_row(customer, "B-1", a, customization="{"),
            line_row(customer, "B-1", a, ship_city="Boston"),
        ]
    )

    report = import_orders(
        read_dataset(content, "o.csv"), channel="import", actor=ACTOR, dry_run=True
    )

    assert [e.split(":")[0].split(" disagrees")[0] for e in report.orders[0].errors] == [
        "Row 4",
        "Row 2",
        "Row 3",
    ]


def test_rows_past_the_limit_are_refused_in_csv_and_xlsx(settings, customer, stocked, standard):
    settings.OMS_IMPORT_MAX_ROWS = 5
    at_limit = [line_row(customer, f"L-{n}", stocked[0].sku) for n in range(5)]
    over = [*at_limit, line_row(customer, "L-5", stocked[0].sku)]

    assert read_dataset(csv_of(at_limit), "o.csv").height == 5
    assert read_dataset(xlsx_of(at_limit), "o.xlsx").height == 5
    for content, name in ((csv_of(over), "o.csv"), (xlsx_of(over), "o.xlsx")):
        with pytest.raises(ImportFileError) as refused:
            read_dataset(content, name)
        assert refused.value.message == "At most 5 rows per file; split it."


def test_a_workbook_of_many_rows_is_refused_at_the_limit_without_reading_the_rest(
    settings, customer, stocked
):
    # Given a workbook of 300 rows (150 KB of XML) whose end is broken: a reader that
    # went through the whole sheet would stumble on it, one that stops at the limit
    # never gets there
    rows = [line_row(customer, f"L-{n}", stocked[0].sku) for n in range(300)]
    content = rezip(
        xlsx_of(rows), SHEET, lambda xml: xml.replace(b"</sheetData>", b"<row r='9999'><c")
    )
    settings.OMS_IMPORT_MAX_ROWS = 20_000
    with pytest.raises(ImportFileError, match="not a readable Excel"):
        read_dataset(content, "o.xlsx")

    settings.OMS_IMPORT_MAX_ROWS = 10

    # When it is read, then it is refused for its rows
    with pytest.raises(ImportFileError) as refused:
        read_dataset(content, "o.xlsx")

    assert refused.value.message == "At most 10 rows per file; split it."


def test_a_csv_of_many_rows_is_refused_at_the_limit_without_decoding_the_rest(
    settings, customer, stocked
):
    rows = [line_row(customer, f"L-{n}", stocked[0].sku) for n in range(1000)]
    content = csv_of(rows) + b"\xff\xfe not UTF-8\n"
    settings.OMS_IMPORT_MAX_ROWS = 20_000
    with pytest.raises(ImportFileError, match="not UTF-8"):
        read_dataset(content, "o.csv")

    settings.OMS_IMPORT_MAX_ROWS = 10

    with pytest.raises(ImportFileError) as refused:
        read_dataset(content, "o.csv")

    assert refused.value.message == "At most 10 rows per file; split it."


def test_blank_rows_are_skipped_and_rows_keep_their_numbers_but_count_too(
    settings, customer, stocked
):
    settings.OMS_IMPORT_MAX_ROWS = 3
    good = csv_of([line_row(customer, "K-1", stocked[0].sku)])
    content = good.replace(b"\r\nK-1", b"\r\n,,,\r\n\r\nK-1")

    assert [r.number for r in read_dataset(content, "o.csv").rows] == [4]
    with pytest.raises(ImportFileError, match="More than 3 empty rows"):
        read_dataset(good + b",,\r\n" * 4, "o.csv")


def test_a_zip_bomb_is_refused_before_it_is_unpacked(customer, stocked):
    # Given a 100 KB workbook whose sheet unpacks to 100 MB (a comment of spaces)
    small = xlsx_of([line_row(customer, "Z-1", stocked[0].sku)])
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(small)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            if info.filename != SHEET:
                target.writestr(info.filename, source.read(info))
                continue
            xml = source.read(info)
            head, tail = xml.split(b"<sheetData>", 1)
            with target.open(SHEET, "w") as sheet:
                sheet.write(head + b"<!--")
                for _ in range(100):
                    sheet.write(b" " * (1024 * 1024))
                sheet.write(b"--><sheetData>" + tail)
    content = out.getvalue()
    assert len(content) < 200_000

    # When it is read under the default limits, then it is refused by its size
    with pytest.raises(ImportFileError) as refused:
        read_dataset(content, "bomb.xlsx")

    assert refused.value.message == (
        "The workbook unpacks to 100 MB, more than the 40 MB an import may hold; split it."
    )


def test_a_file_over_the_byte_limit_is_refused(settings, customer, stocked):
    settings.OMS_IMPORT_MAX_BYTES = 100
    content = csv_of([line_row(customer, "S-1", stocked[0].sku)])

    with pytest.raises(ImportFileError) as refused:
        read_dataset(content, "o.csv")

    assert refused.value.message == "The file is larger than 100 bytes; split it."


def test_a_workbook_with_wrong_dimensions_loses_no_row(customer, stocked):
    rows = [line_row(customer, f"D-{n}", stocked[0].sku) for n in range(3)]
    content = rezip(
        xlsx_of(rows),
        SHEET,
        lambda xml: re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1:B2"', xml),
    )

    dataset = read_dataset(content, "o.xlsx")

    assert [r.values["order_ref"] for r in dataset.rows] == ["D-0", "D-1", "D-2"]


def test_an_unexpected_failure_refuses_its_order_alone_and_keeps_the_report(
    customer, stocked, standard, caplog
):
    # Given three orders, the second of which the database will refuse in a way no
    # validation foresees (a constraint only this test knows)
    a = stocked[0].sku
    content = csv_of(
        [
            line_row(customer, "U-1", a, 2),
            line_row(customer, "U-2", a, 7),
            line_row(customer, "U-3", a, 3),
        ]
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "ALTER TABLE orders_orderline "
            "ADD CONSTRAINT test_no_seven CHECK (quantity_ordered <> 7)"
        )
    dry = import_orders(read_dataset(content, "o.csv"), channel="import", actor=ACTOR, dry_run=True)
    assert dry.valid == 3

    # When the file is imported
    report = import_orders(
        read_dataset(content, "o.csv"), channel="import", actor=ACTOR, dry_run=False
    )

    # Then the 1st and 3rd are placed, the 2nd is refused, and the report lists all three
    assert [(r.reference, r.ok, r.errors) for r in report.orders] == [
        ("U-1", True, []),
        ("U-2", False, ["Unexpected error (logged); nothing of this order was written."]),
        ("U-3", True, []),
    ]
    assert all(r.order_number for r in report.orders if r.ok)
    placed = Order.objects.order_by("external_reference")
    assert [o.external_reference for o in placed] == ["U-1", "U-3"]
    assert NetworkStock.objects.get(product=stocked[0]).committed == 5
    # And the failure is logged with its traceback
    [record] = [r for r in caplog.records if r.name == "orders.imports" and r.levelname == "ERROR"]
    assert "'U-2' (rows 3)" in record.getMessage()
    assert record.exc_info is not None


def test_the_command_exits_non_zero_on_a_broken_file_or_a_refused_order(
    tmp_path, customer, stocked, standard
):
    broken = tmp_path / "orders.xlsx"
    broken.write_bytes(b"order_ref,customer_email\n")
    mixed = tmp_path / "orders.csv"
    mixed.write_bytes(
        csv_of(
            [
                line_row(customer, "K-1", stocked[0].sku),
                line_row(customer, "K-2", stocked[0].sku, ship_city="New\x00York"),
            ]
        )
    )
    out = io.StringIO()

    with pytest.raises(CommandError, match="not a readable Excel workbook"):
        call_command("import_orders", str(broken), "--commit", stdout=out)
    with pytest.raises(CommandError, match="1 order"):
        call_command("import_orders", str(mixed), "--commit", stdout=out)

    assert "ERROR K-2 (rows 3): Row 3: ship_city contains a NUL character" in out.getvalue()
    assert list(Order.objects.values_list("external_reference", flat=True)) == ["K-1"]
