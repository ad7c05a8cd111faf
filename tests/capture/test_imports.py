import pytest

from inventory.models import NetworkStock
from oms.core.actors import Actor
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
    import tablib

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
