"""The demo data set and the login printout.

Seeding writes a few thousand rows through the services, so the tests that read the
seeded data share one seed per module: it runs inside a transaction that is rolled
back when the module ends, and each test runs in a savepoint of its own within it.
"""

from io import StringIO

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import CommandError, call_command
from django.db import transaction
from django.db.models import Sum

from customers.models import Address, Company, Customer, NotificationPreference
from fulfillment.models import Carrier, ShippingMethod
from inventory.models import (
    Location,
    LocationKind,
    NetworkStock,
    Product,
    StockBucket,
    StockLevel,
    StockMovement,
)
from oms.demo.builders import customer_spec, stock_plan
from oms.demo.catalog import product_specs
from oms.demo.data import COMPANIES, LOCATIONS, ZIP_CODES
from oms.demo.users import DEMO_USERS
from oms.geo import is_valid_us_zip
from orders.models import Channel, Order, OrderEvent, OrderLine, OrderStatus

SMALL = {"orders": 40, "customers": 20, "quiet": True}
COUNTED_MODELS = (
    User,
    Group,
    Location,
    Carrier,
    ShippingMethod,
    Product,
    NetworkStock,
    StockLevel,
    StockMovement,
    Company,
    Customer,
    Address,
    NotificationPreference,
    Order,
    OrderLine,
    OrderEvent,
)


def counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in COUNTED_MODELS}


@pytest.fixture(scope="module")
def seeded_module(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic():
        call_command("seed_demo", **SMALL)
        yield
        transaction.set_rollback(True)


@pytest.fixture
def seeded(seeded_module, db):
    """The small demo data set, seeded once per module; changes roll back per test."""


# --- the reference data, without a database ---------------------------------------


def test_every_demo_zip_code_is_real():
    zip_codes = (
        [z for z, _, _, _ in ZIP_CODES]
        + [loc.postal_code for loc in LOCATIONS]
        + [company.postal_code for company in COMPANIES]
    )

    assert [z for z in zip_codes if not is_valid_us_zip(z)] == []


def test_catalogue_has_about_200_distinct_skus_of_every_kind():
    specs = product_specs()

    assert 180 <= len(specs) <= 220
    assert len({spec.sku for spec in specs}) == len(specs)
    assert any(spec.customization_fields for spec in specs)
    assert any(spec.dropship for spec in specs)
    assert any(not spec.returnable for spec in specs)
    assert any(spec.backorder for spec in specs)


def test_generated_data_is_the_same_on_every_call():
    assert customer_spec(7) == customer_spec(7)
    assert customer_spec(7) != customer_spec(8)
    spec = product_specs()[0]
    assert stock_plan(spec) == stock_plan(spec)


# --- seeding --------------------------------------------------------------------------


def test_seed_creates_geocoded_locations_of_every_kind(seeded):
    locations = Location.objects.all()

    assert locations.count() == len(LOCATIONS)
    assert not locations.filter(latitude__isnull=True).exists()
    assert set(locations.values_list("kind", flat=True)) == set(LocationKind.values)
    assert locations.filter(kind=LocationKind.STORE, pickup=True).count() == 3
    vendor = locations.get(kind=LocationKind.DROPSHIP_VENDOR)
    assert vendor.contact_email


def test_seed_creates_shipping_methods_for_every_service_level(seeded):
    methods = ShippingMethod.objects.select_related("carrier")

    assert {m.service_level for m in methods} >= {
        "standard",
        "express",
        "next_day",
        "same_day",
        "weekend",
        "pickup",
    }
    assert methods.get(service_level="pickup").carrier is None
    assert Carrier.objects.filter(code="SIM").exists()


def test_dropship_products_are_stocked_only_at_their_vendor(seeded):
    dropship = Product.objects.filter(dropship_vendor__isnull=False)

    assert dropship.exists()
    assert not StockLevel.objects.filter(product__in=dropship).exclude(
        location__kind=LocationKind.DROPSHIP_VENDOR
    )


def test_network_stock_equals_the_sum_of_location_availability(seeded):
    levels = StockLevel.objects.select_related("location")
    expected: dict[int, int] = {}
    for level in levels:
        if level.location.is_active:
            expected[level.product_id] = (
                expected.get(level.product_id, 0) + level.available_to_promise
            )

    network = dict(NetworkStock.objects.values_list("product_id", "available"))

    assert sum(network.values()) > 0
    assert network == {pid: expected.get(pid, 0) for pid in network}
    assert set(network) == set(Product.objects.values_list("pk", flat=True))


def test_every_stock_level_equals_the_sum_of_its_ledger_rows(seeded):
    ledger = {
        (row["stock_level_id"], row["bucket"]): row["total"]
        for row in StockMovement.objects.values("stock_level_id", "bucket").annotate(
            total=Sum("delta")
        )
    }

    levels = list(StockLevel.objects.all())

    assert len(levels) > 100
    for level in levels:
        for bucket in StockBucket.values:
            assert getattr(level, bucket) == ledger.get((level.pk, bucket), 0), (level, bucket)
    assert StockLevel.objects.filter(safety_stock__gt=0).exists()
    assert StockLevel.objects.filter(incoming__gt=0).exists()


def test_every_role_has_its_staff_user_and_admin_is_a_superuser(seeded):
    for spec in DEMO_USERS:
        user = User.objects.get(username=spec.username)
        assert user.is_staff
        assert user.check_password(spec.password)
        if spec.group:
            assert list(user.groups.values_list("name", flat=True)) == [spec.group]
        else:
            assert user.is_superuser


def test_seed_creates_customers_companies_and_historical_orders(seeded):
    assert Company.objects.count() == len(COMPANIES)
    assert Customer.objects.filter(company__isnull=True).count() == 20
    assert Customer.objects.filter(company__isnull=False).count() >= len(COMPANIES)
    assert Company.objects.filter(tax_exempt=True).exists()
    orders = Order.objects.all()
    assert orders.count() == 40
    assert set(orders.values_list("status", flat=True)) <= {
        OrderStatus.COMPLETED,
        OrderStatus.CANCELLED,
    }
    assert not orders.filter(ship_latitude__isnull=True).exists()
    # B2B channels carry company buyers, and only they do.
    b2b = orders.filter(channel__in=[Channel.B2B_API, Channel.SALES])
    assert not b2b.filter(company__isnull=True).exists()
    assert not orders.exclude(pk__in=b2b).filter(company__isnull=False).exists()


def test_second_run_writes_nothing_and_says_so(seeded):
    before = counts()
    last_movement = StockMovement.objects.order_by("-pk").values_list("pk", flat=True).first()
    out = StringIO()

    call_command("seed_demo", orders=40, customers=20, stdout=out)

    assert counts() == before
    assert (
        StockMovement.objects.order_by("-pk").values_list("pk", flat=True).first() == last_movement
    )
    assert "Nothing to do" in out.getvalue()


def test_asking_for_more_adds_only_the_missing_rows(seeded):
    numbers = set(Order.objects.values_list("number", flat=True))
    movements = StockMovement.objects.count()

    call_command("seed_demo", orders=45, customers=22, quiet=True)

    assert Order.objects.count() == 45
    assert numbers <= set(Order.objects.values_list("number", flat=True))
    assert Customer.objects.filter(company__isnull=True).count() == 22
    assert StockMovement.objects.count() == movements


def test_an_existing_user_keeps_its_changed_password(seeded):
    agent = User.objects.get(username="agent")
    agent.set_password("a-secret-of-their-own")
    agent.save()

    call_command("seed_demo", **SMALL)
    out = StringIO()
    call_command("demo_logins", stdout=out)

    agent.refresh_from_db()
    assert agent.check_password("a-secret-of-their-own")
    assert "demo-agent-2026" not in out.getvalue()
    assert "password changed" in out.getvalue()


def test_negative_sizes_are_refused(db):
    before = counts()

    with pytest.raises(CommandError):
        call_command("seed_demo", orders=-1, quiet=True)

    assert counts() == before


# --- demo_logins ------------------------------------------------------------------------


def test_demo_logins_prints_the_admin_url_and_every_login(seeded):
    out = StringIO()

    call_command("demo_logins", url="http://oms.test:8000/", stdout=out)

    text = out.getvalue()
    assert "http://oms.test:8000/admin/" in text
    for spec in DEMO_USERS:
        assert spec.username in text
        assert spec.password in text
        assert spec.role_label in text


def test_demo_logins_without_the_demo_users_prints_no_password(db):
    User.objects.filter(username__in=[spec.username for spec in DEMO_USERS]).delete()
    out = StringIO()

    call_command("demo_logins", stdout=out)

    assert "not created" in out.getvalue()
    assert not any(spec.password in out.getvalue() for spec in DEMO_USERS)
