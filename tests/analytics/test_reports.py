"""The reports' tables on hand-built data whose answers are worked out by hand, the
reports pages, their downloads, and who may see them."""

import csv
import datetime as dt
import io
from decimal import Decimal

import openpyxl
import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from analytics import admin_reports, reports
from analytics.routers import ReportsRouter, reading_reports, reports_database
from analytics.selectors import Filters
from analytics.sql import report_session
from core.actors import Actor
from fulfillment.models import FulfillmentOrder, FulfillmentOrderLine, FulfillmentStatus, Shipment
from inventory.models import ProductCategory, StaffLocation, StockLevel, StockMovement
from orders.models import Channel, OrderStatus
from returns.models import ReturnLine, ReturnReason, ReturnRequest, ReturnStatus
from tests.admin.factories import OrderFactory
from tests.factories import CarrierFactory, CompanyFactory, LocationFactory, ProductFactory

pytestmark = pytest.mark.django_db

ACTOR = Actor.system("reports test")
TODAY = dt.date(2026, 3, 10)


def at(day: dt.date, hour: int = 12) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=timezone.get_current_timezone())


def days_ago(n: int) -> dt.date:
    return TODAY - dt.timedelta(days=n)


def week(**kwargs) -> Filters:
    return Filters(start_date=days_ago(6), end_date=TODAY, **kwargs)


def order(day, *, product, quantity=1, price="10.00", status=OrderStatus.COMPLETED,
          channel=Channel.WEB, company=None, cancelled=0, shipped=0, returned=0):  # fmt: skip
    cancelled_at = at(day) if status == OrderStatus.CANCELLED else None
    made = OrderFactory(channel=channel, status=status, placed_at=at(day), lines=1,
                        cancelled_at=cancelled_at,
                        company=company, lines__product=product,
                        lines__unit_price=Decimal(price),
                        lines__quantity_ordered=quantity)  # fmt: skip
    line = made.lines.get()
    line.quantity_cancelled, line.quantity_shipped, line.quantity_returned = (
        cancelled,
        shipped,
        returned,
    )
    line.save()
    made.subtotal = Decimal(price) * (quantity - cancelled)
    made.shipping_total = Decimal("0")
    made.grand_total = made.subtotal
    made.save()
    return made


@pytest.fixture
def catalogue():
    shirts = ProductCategory.objects.create(code="shirts", name="Shirts")
    mugs = ProductCategory.objects.create(code="mugs", name="Mugs")
    return {
        "shirt-a": ProductFactory(sku="SHIRT-A", category=shirts),
        "shirt-b": ProductFactory(sku="SHIRT-B", category=shirts),
        "mug": ProductFactory(sku="MUG", category=mugs, list_price=Decimal("5.00")),
    }


@pytest.fixture
def sales(catalogue):
    """Three SKUs sold over the week, with one cancelled order, a draft, an order before
    the week, and one in another currency (none of which are sales)."""
    acme = CompanyFactory(name="Acme")
    made = {
        "a1": order(
            days_ago(1),
            product=catalogue["shirt-a"],
            quantity=3,
            price="20.00",
            company=acme,
            shipped=3,
            returned=1,
        ),
        "a2": order(
            days_ago(2),
            product=catalogue["shirt-a"],
            quantity=2,
            price="20.00",
            cancelled=1,
            shipped=1,
            channel=Channel.MARKETPLACE,
        ),
        "b": order(
            days_ago(3), product=catalogue["shirt-b"], quantity=1, price="15.00", company=acme
        ),
        "mug": order(days_ago(0), product=catalogue["mug"], quantity=4, price="5.00"),
    }
    order(days_ago(2), product=catalogue["mug"], quantity=9, status=OrderStatus.CANCELLED)
    order(days_ago(2), product=catalogue["mug"], quantity=9, status=OrderStatus.DRAFT)
    order(days_ago(9), product=catalogue["mug"], quantity=9)
    euro = order(days_ago(1), product=catalogue["mug"], quantity=9)
    euro.currency = "EUR"
    euro.save()
    return made


def one_query(selector, filters, *, queries_expected=1):
    """The report in one grouped query (the line reports read the period's range of
    order ids first: ``queries_expected=2``)."""
    with CaptureQueriesContext(connection) as queries:
        report = selector(filters)
    assert len(queries) == queries_expected, [q["sql"] for q in queries]
    return report


def test_sales_by_sku_sums_units_and_line_revenue_in_one_query(sales):
    report = one_query(reports.sales_by_sku, week(), queries_expected=2)
    assert report.columns == (
        "SKU", "Orders", "Units sold", "Units shipped", "Units returned", "Revenue",
    )  # fmt: skip
    assert report.rows == [
        # 3 x 20 + (2 - 1 cancelled) x 20
        ("SHIRT-A", 2, 4, 4, 1, Decimal("80.00")),
        ("MUG", 1, 4, 0, 0, Decimal("20.00")),
        ("SHIRT-B", 1, 1, 0, 0, Decimal("15.00")),
    ]
    assert report.total("Revenue") == Decimal("115.00")


def test_sales_by_category_adds_up_its_skus(sales):
    report = one_query(reports.sales_by_category, week(), queries_expected=2)
    assert report.rows == [
        ("Shirts", 3, 5, 4, 1, Decimal("95.00")),
        ("Mugs", 1, 4, 0, 0, Decimal("20.00")),
    ]


def test_sales_by_company_counts_cancelled_orders_but_not_their_revenue(sales, catalogue):
    report = one_query(reports.sales_by_company, week())
    assert report.columns == (
        "Company", "Orders placed", "Cancelled", "Revenue", "Average order value",
    )  # fmt: skip
    assert report.rows == [
        ("Acme", 2, 0, Decimal("75.00"), Decimal("37.50")),
        # a2 (20.00) and the mug (20.00) kept, the cancelled order counted, not summed
        (reports.NO_COMPANY, 3, 1, Decimal("40.00"), Decimal("20.00")),
    ]


def test_sales_by_channel_filters_by_channel(sales):
    # The dashboard's order totals: the days the summary holds (none here), then the
    # orders and their lines.
    with CaptureQueriesContext(connection) as queries:
        report = reports.sales_by_channel(week())
    assert len(queries) == 3
    assert [row[:4] for row in report.rows] == [
        (Channel.WEB.label, 4, 1, Decimal("95.00")),
        (Channel.MARKETPLACE.label, 1, 0, Decimal("20.00")),
    ]
    only = reports.sales_by_channel(week(channel=Channel.MARKETPLACE))
    assert [row[0] for row in only.rows] == [Channel.MARKETPLACE.label]


def test_sales_by_location_values_the_units_sent_there(sales):
    east, west = LocationFactory(code="EAST"), LocationFactory(code="WEST")
    for number, (made, location, units) in enumerate(
        [(sales["a1"], east, 3), (sales["b"], west, 1), (sales["mug"], east, 4)]
    ):
        fo = FulfillmentOrder.objects.create(
            number=f"F-{number}", order=made, location=location, ship_by_date=TODAY
        )
        FulfillmentOrderLine.objects.create(
            fulfillment_order=fo, order_line=made.lines.get(), quantity=units,
            quantity_shipped=units if made is sales["a1"] else 0,
        )  # fmt: skip
    report = one_query(reports.sales_by_location, week(), queries_expected=2)
    assert report.rows == [
        ("EAST", 2, 7, 3, Decimal("80.00")),  # 3 x 20 + 4 x 5
        ("WEST", 1, 1, 0, Decimal("15.00")),
    ]
    # The sales reports narrowed to a location keep the lines sent there.
    by_sku = one_query(reports.sales_by_sku, week(location_id=west.pk), queries_expected=2)
    assert [row[0] for row in by_sku.rows] == ["SHIRT-B"]


def test_fulfillment_by_location_and_carrier_count_on_time_shipments(sales):
    east = LocationFactory(code="EAST", time_zone="UTC")
    fast = CarrierFactory(code="FAST", name="Fast Freight")

    def ship(made, number, *, ship_by, shipped_at, delivered_at=None, carrier=fast):
        fo = FulfillmentOrder.objects.create(
            number=number, order=made, location=east, status=FulfillmentStatus.CLOSED,
            ship_by_date=ship_by,
        )  # fmt: skip
        Shipment.objects.create(
            fulfillment_order=fo, order=made, carrier=carrier, service_level="standard",
            shipped_at=shipped_at, delivered_at=delivered_at,
        )  # fmt: skip

    # a1 placed days_ago(1) at noon, shipped 6 h later, on time, delivered 2 days after.
    ship(sales["a1"], "F-1", ship_by=days_ago(1), shipped_at=at(days_ago(1), 18),
         delivered_at=at(days_ago(1), 18) + dt.timedelta(days=2))  # fmt: skip
    # b placed days_ago(3) at noon, shipped a day late, 48 h after placement.
    ship(sales["b"], "F-2", ship_by=days_ago(2), shipped_at=at(days_ago(1), 12), carrier=None)

    by_location = reports.fulfillment_by_location(week())
    assert by_location.rows == [("EAST", 2, 1, 0.5, 27.0)]  # (6 + 48) / 2 hours
    by_carrier = one_query(reports.fulfillment_by_carrier, week())
    assert by_carrier.rows == [
        ("Fast Freight", 1, 1, 1.0, 1, 2.0),
        (reports.NO_CARRIER, 1, 0, 0.0, 0, None),
    ]


def test_returns_by_reason_and_sku_leave_out_rejected_returns(sales):
    dented = ReturnReason.objects.create(code="t-dented", label="Arrived dented")
    small = ReturnReason.objects.create(code="t-small", label="Too small")
    dock = LocationFactory(code="DOCK")
    line = sales["a1"].lines.get()
    line.quantity_returned = 0
    line.save()

    def rma(number, status):
        return ReturnRequest.objects.create(
            number=number, order=sales["a1"], customer=sales["a1"].customer, status=status,
            method="ship", destination=dock,
        )  # fmt: skip

    kept = rma("R-1", ReturnStatus.CLOSED)
    ReturnLine.objects.create(request=kept, order_line=line, quantity=2, reason=dented,
                              quantity_received=2, quantity_refunded=2)  # fmt: skip
    other = rma("R-2", ReturnStatus.REQUESTED)
    ReturnLine.objects.create(request=other, order_line=line, quantity=1, reason=small)
    refused = rma("R-3", ReturnStatus.REJECTED)
    ReturnLine.objects.create(request=refused, order_line=line, quantity=3, reason=small)
    ReturnRequest.objects.filter(number__in=["R-1", "R-2", "R-3"]).update(
        created_at=at(days_ago(1))
    )

    by_reason = one_query(reports.returns_by_reason, week())
    assert by_reason.rows == [
        ("Arrived dented", 1, 2, 2, 2, Decimal("40.00")),
        ("Too small", 1, 1, 0, 0, Decimal("0.00")),
    ]
    by_sku = one_query(reports.returns_by_sku, week())
    assert by_sku.rows == [("SHIRT-A", 2, 3, 2, 2, Decimal("40.00"))]


def test_inventory_valuation_and_movements_by_reason(catalogue):
    east, west = LocationFactory(code="EAST"), LocationFactory(code="WEST")
    shirt, mug = catalogue["shirt-a"], catalogue["mug"]
    a = StockLevel.objects.create(location=east, product=shirt, on_hand=10, allocated=2)
    StockLevel.objects.create(location=east, product=mug, on_hand=4, incoming=6)
    StockLevel.objects.create(location=west, product=mug, on_hand=0, incoming=5)  # nothing held

    report = one_query(reports.inventory_valuation, week())
    # 10 x 19.99 + 4 x 5.00
    assert report.rows == [("EAST", 2, 14, 2, 0, 6, Decimal("219.90"))]

    def move(reason, delta):
        StockMovement.objects.create(
            stock_level=a, location=east, product=shirt, bucket="on_hand", delta=delta,
            balance_after=0, reason=reason, **ACTOR.as_fields(),
        )  # fmt: skip

    move("receipt", 12)
    move("receipt", 3)
    move("shipment", -2)
    move("adjustment", -1)
    move("adjustment", 2)
    # The ledger is append-only (its rows keep the time they were written): the period
    # is today's, and a period ending yesterday holds none of them.
    today = timezone.localdate()
    movements = one_query(reports.movements_by_reason, Filters(today, today))
    assert movements.rows == [
        ("Adjustment", 2, 2, 1, 1),
        ("Receipt", 2, 15, 0, 15),
        ("Shipment", 1, 0, 2, -2),
    ]
    yesterday = today - dt.timedelta(days=1)
    assert (
        reports.movements_by_reason(Filters(yesterday - dt.timedelta(days=6), yesterday)).rows == []
    )
    other = LocationFactory(code="ELSE")
    assert reports.movements_by_reason(Filters(today, today, location_id=other.pk)).rows == []


def test_reports_read_the_default_database_without_a_replica(settings):
    router = ReportsRouter()
    assert reports_database() == "default"
    with reading_reports():
        assert router.db_for_read(StockLevel) == "default"
    settings.DATABASES = {**settings.DATABASES, "reports": settings.DATABASES["default"]}
    assert reports_database() == "reports"
    assert router.db_for_read(StockLevel) is None  # other reads stay on the default
    with reading_reports():
        assert router.db_for_read(StockLevel) == "reports"
        assert router.db_for_write(StockLevel) == "default"
    assert router.db_for_read(StockLevel) is None
    assert router.allow_migrate("reports", "orders") is False
    assert router.allow_migrate("default", "orders") is True
    assert router.db_for_write(StockLevel) == "default"


# --- the pages ----------------------------------------------------------------------


def test_manager_sees_every_report_and_downloads_csv_and_xlsx(client_for, sales):
    client = client_for("manager")
    index = client.get("/admin/reports/")
    assert index.status_code == 200
    # Reports sit under Analytics in the admin's app list, on every page's sidebar.
    assert 'href="/admin/reports/"' in client.get("/admin/").content.decode()
    for kind in reports.REPORTS:
        assert f"/admin/reports/{kind.slug}/" in index.content.decode()
        page = client.get(f"/admin/reports/{kind.slug}/")
        assert page.status_code == 200, kind.slug

    query = "start_date=2026-03-04&end_date=2026-03-10"
    page = client.get(f"/admin/reports/sales-by-sku/?{query}")
    assert "SHIRT-A" in page.content.decode()
    assert "80.00" in page.content.decode()

    response = client.get(f"/admin/reports/sales-by-sku/?{query}&format=csv")
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="sales-by-sku-2026-03-04-2026-03-10-' in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["SKU", "Orders", "Units sold", "Units shipped", "Units returned", "Revenue"]
    assert rows[1] == ["SHIRT-A", "2", "4", "4", "1", "80.00"]

    response = client.get(f"/admin/reports/sales-by-sku/?{query}&format=xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    assert sheet["A2"].value == "SHIRT-A"


def test_report_page_query_count_does_not_grow_with_rows(client_for, catalogue):
    client = client_for("manager")
    url = "/admin/reports/sales-by-sku/?start_date=2026-03-04&end_date=2026-03-10"
    order(days_ago(1), product=catalogue["mug"])
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200
    for _ in range(5):
        order(days_ago(1), product=ProductFactory())
    with CaptureQueriesContext(connection) as many:
        assert client.get(url).status_code == 200
    assert len(many) == len(few)


def test_bad_dates_are_refused_with_a_message(client_for):
    client = client_for("manager")
    page = client.get("/admin/reports/sales-by-sku/?start_date=2026-03-10&end_date=2026-03-01")
    assert page.status_code == 200
    assert "The start date is after the end date" in page.content.decode()
    assert client.get("/admin/reports/no-such-report/").status_code == 404
    assert client.get("/admin/reports/sales-by-sku/?format=pdf").status_code == 404


def test_finance_reads_and_downloads_agents_and_warehouse_may_not(client_for):
    finance = client_for("finance")
    assert finance.get("/admin/reports/sales-by-channel/").status_code == 200
    assert finance.get("/admin/reports/sales-by-channel/?format=csv").status_code == 200
    assert 'href="/admin/reports/"' in finance.get("/admin/").content.decode()
    for role in ("agent", "warehouse", "sales_rep"):
        client = client_for(role)
        assert 'href="/admin/reports/"' not in client.get("/admin/").content.decode()
        assert client.get("/admin/reports/").status_code == 403, role
        assert client.get("/admin/reports/sales-by-sku/?format=csv").status_code == 403, role


def test_a_user_assigned_to_a_location_reports_on_it_only(make_staff, sales):
    east, west = LocationFactory(code="EAST"), LocationFactory(code="WEST")
    for number, (made, location) in enumerate([(sales["a1"], east), (sales["b"], west)]):
        fo = FulfillmentOrder.objects.create(
            number=f"F-{number}", order=made, location=location, ship_by_date=TODAY
        )
        FulfillmentOrderLine.objects.create(
            fulfillment_order=fo, order_line=made.lines.get(), quantity=1
        )
    user = make_staff("finance")
    StaffLocation.objects.create(user=user, location=west)
    client = Client()
    client.force_login(user)
    query = "start_date=2026-03-04&end_date=2026-03-10"
    page = client.get(f"/admin/reports/sales-by-sku/?{query}").content.decode()
    assert "SHIRT-B" in page
    assert "SHIRT-A" not in page
    assert "All locations" not in page
    # Asking for another location is refused by the form: the page stays on theirs.
    refused = client.get(f"/admin/reports/sales-by-sku/?{query}&location={east.pk}")
    assert "SHIRT-A" not in refused.content.decode()


# --- reading a period's lines through its range of order ids -------------------------


def test_an_order_placed_long_after_it_was_created_is_still_in_its_periods_reports(catalogue):
    # A draft created first (the lowest id) and placed within the week, then orders
    # created and placed before the week: the week's range of order ids starts at the
    # draft's, so its lines and fulfillment are counted.
    late = order(days_ago(1), product=catalogue["mug"], quantity=2)
    for _ in range(3):
        order(days_ago(30), product=catalogue["mug"], quantity=5)
    recent = order(days_ago(2), product=catalogue["mug"], quantity=1)
    assert late.pk < recent.pk
    location = LocationFactory(code="EARLY")
    for placed in (late, recent):
        made = FulfillmentOrder.objects.create(
            number=f"F-{placed.pk}", order=placed, location=location, ship_by_date=TODAY
        )
        line = placed.lines.get()
        FulfillmentOrderLine.objects.create(
            fulfillment_order=made, order_line=line, quantity=line.quantity_ordered
        )

    by_sku = reports.sales_by_sku(week())
    by_location = reports.sales_by_location(week())

    assert by_sku.rows == [("MUG", 2, 3, 0, 0, Decimal("30.00"))]
    assert [row[:3] for row in by_location.rows] == [("EARLY", 2, 3)]


def test_a_period_without_orders_reads_no_lines(catalogue):
    order(days_ago(30), product=catalogue["mug"])

    assert reports.sales_by_sku(week()).rows == []
    assert reports.sales_by_location(week()).rows == []


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL settings")
@pytest.mark.django_db(transaction=True)  # the session's transaction is the outermost one
def test_a_report_page_has_its_own_memory_and_no_jit_and_leaves_the_connection_as_it_was():
    def setting(name):
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT current_setting('{name}')")
            return cursor.fetchone()[0]

    before = (setting("work_mem"), setting("jit"))
    with report_session("default"):
        inside = (setting("work_mem"), setting("jit"))
    after = (setting("work_mem"), setting("jit"))

    assert inside == ("64MB", "off")
    assert after == before
    assert before[0] != "64MB"


def test_a_long_report_page_shows_its_first_rows_and_downloads_them_all(
    client_for, catalogue, monkeypatch
):
    monkeypatch.setattr(admin_reports, "PAGE_ROWS", 2)
    for n in range(3):
        order(days_ago(1), product=ProductFactory(sku=f"SKU-{n}"), price=f"{10 + n}.00")
    client = client_for("manager")
    url = "/admin/reports/sales-by-sku/?start_date=2026-03-04&end_date=2026-03-10"

    page = client.get(url).content.decode()
    download = list(csv.reader(io.StringIO(client.get(url + "&format=csv").content.decode())))

    assert "The first 2 of 3 rows; the downloads have every row." in page
    assert "SKU-2" in page  # the largest first
    assert "SKU-1" in page
    assert "SKU-0" not in page
    assert [row[0] for row in download[1:]] == ["SKU-2", "SKU-1", "SKU-0"]
