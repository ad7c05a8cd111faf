"""The demo data set and the login printout.

Seeding writes a few thousand rows through the services, so the tests that read the
seeded data share one seed per module: it runs inside a transaction that is rolled
back when the module ends, and each test runs in a savepoint of its own within it.
(Nothing is relayed from the outbox inside that transaction, and the test settings
do not route on placement: the seed routes its live orders itself.)
"""

import stat
from collections import defaultdict
from io import StringIO

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import CommandError, call_command
from django.db import transaction
from django.db.models import F, Max, Sum, Value
from django.db.models.functions import Concat
from django.test import override_settings

from core import refcache
from core.geo import is_valid_us_zip
from core.models import OutboxEvent
from customers.api_keys import find_active_key
from customers.models import (
    Address,
    ApiKey,
    Company,
    Customer,
    NotificationPreference,
    PriceList,
    PriceListEntry,
)
from fulfillment.models import (
    FulfillmentOrder,
    RequestStatus,
    RoutingDecision,
    Shipment,
    ShipmentStatus,
    TrackingEvent,
)
from inventory.models import (
    Location,
    LocationKind,
    MovementReason,
    NetworkReservation,
    NetworkStock,
    Product,
    ReservationStatus,
    StaffLocation,
    StockBucket,
    StockLevel,
    StockMovement,
)
from oms.demo.builders import stock_plan
from oms.demo.catalog import product_specs
from oms.demo.common import SEED_ACTOR, customer_spec, newcomer_spec
from oms.demo.credentials import (
    PUBLISHED_WEBHOOK_SECRET_PREFIX,
    read_keys_file,
    webhook_secret_name,
)
from oms.demo.data import (
    COMPANIES,
    LOCATIONS,
    PRICE_LISTS,
    SALES_TAX_RATES,
    TAX_SHIPPING_STATES,
    ZIP_CODES,
)
from oms.demo.live import SHOWCASE, Fate, Kind, live_orders, live_script
from oms.demo.reference import demo_states
from oms.demo.returns import HISTORY_NOTE, OPEN_CLIENT_SCOPE, OPEN_RETURNS
from oms.demo.users import DEMO_USERS
from oms.integrity import check_integrity
from orders.models import (
    Channel,
    HoldKind,
    Order,
    OrderEvent,
    OrderEventType,
    OrderHold,
    OrderLine,
    OrderStatus,
    PaymentMethod,
    PaymentStatus,
    TaxRate,
)
from orders.models import ReturnStatus as OrderReturnStatus
from returns.models import ReturnEvent, ReturnLine, ReturnRequest, ReturnStatus
from shipping.models import Carrier, ShippingMethod

LIVE = 15
SMALL = {"orders": 40, "customers": 20, "live_orders": LIVE, "quiet": True}
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
    OrderHold,
    TaxRate,
    PriceList,
    PriceListEntry,
    ApiKey,
    FulfillmentOrder,
    RoutingDecision,
    Shipment,
    TrackingEvent,
    NetworkReservation,
    ReturnRequest,
    ReturnEvent,
)


def counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in COUNTED_MODELS}


def historical_orders():
    imported = OrderEvent.objects.filter(
        type=OrderEventType.IMPORTED, actor_label=SEED_ACTOR.label
    ).values("order_id")
    return Order.objects.filter(pk__in=imported)


def b2c_customers():
    """The regular B2C customers, without the live orders' first-time shoppers."""
    return Customer.objects.filter(company__isnull=True).exclude(email__contains=".new")


@pytest.fixture(scope="module")
def keys_path(tmp_path_factory):
    return tmp_path_factory.mktemp("demo") / "demo-api-keys.txt"


@pytest.fixture(scope="module")
def seeded_module(django_db_setup, django_db_blocker, keys_path):
    # Shipping methods and tax rates are cached per process; other modules' rows are gone.
    # The demo is seeded with DEBUG on, as `make run` does (see test_seed_guard).
    refcache.clear()
    with (
        override_settings(OMS_DEMO_KEYS_FILE=keys_path, DEBUG=True),
        django_db_blocker.unblock(),
        transaction.atomic(),
    ):
        call_command("seed_demo", **SMALL)
        yield
        transaction.set_rollback(True)
    refcache.clear()


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


def test_the_demo_lays_out_bins_and_assigns_its_warehouse_user(seeded):
    levels = StockLevel.objects.filter(location__code="DC-NJ").order_by("product__sku")
    bins = [level.bin_location for level in levels]

    assert levels.exists()
    assert not StockLevel.objects.filter(bin_location="").exists()
    # In SKU order along the aisles, so the pick list walks the location in order.
    assert bins == sorted(bins)
    assert bins[0] == "A-01-1"
    assert list(
        StaffLocation.objects.filter(user__username="warehouse").values_list(
            "location__code", flat=True
        )
    ) == ["DC-NJ"]


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
    assert b2c_customers().count() == 20
    assert Customer.objects.filter(company__isnull=False).count() >= len(COMPANIES)
    assert Company.objects.filter(tax_exempt=True).exists()
    # A company whose drafts start with the shipping method it agreed
    assert Company.objects.get(account_number="ACC-10002").default_shipping_method.code == (
        "EXPRESS"
    )
    orders = historical_orders()
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


def test_no_historical_card_order_waits_for_an_authorisation(seeded):
    # Paid before billing kept payments: completed ones read captured, cancelled voided.
    card = historical_orders().filter(payment_method=PaymentMethod.CARD)

    assert card.exists()
    assert not card.filter(payment_status=PaymentStatus.PENDING).exists()
    statuses = set(card.values_list("status", "payment_status"))
    assert statuses <= {
        (OrderStatus.COMPLETED, PaymentStatus.CAPTURED),
        (OrderStatus.CANCELLED, PaymentStatus.VOIDED),
    }


def test_no_order_shows_returned_units_without_return_requests(seeded):
    shows_returns = Order.objects.exclude(return_status=OrderReturnStatus.NONE)

    assert historical_orders().filter(pk__in=shows_returns).exists()
    assert not shows_returns.filter(return_requests__isnull=True).exists()
    # Each line's returned units are the units received by its returns.
    received = (
        ReturnLine.objects.exclude(request__status=ReturnStatus.CANCELLED)
        .values("order_line")
        .annotate(units=Sum("quantity_received"))
    )
    by_line = {row["order_line"]: row["units"] for row in received}
    returned = OrderLine.objects.filter(quantity_returned__gt=0)
    assert {line.pk: line.quantity_returned for line in returned} == {
        pk: units for pk, units in by_line.items() if units
    }
    violations = [v for v in check_integrity() if v.check != "outbox_backlog"]
    assert violations == []


def test_history_returns_are_closed_or_inspected_records_that_moved_no_stock(seeded):
    history = ReturnRequest.objects.filter(decision_note=HISTORY_NOTE)

    assert history.exists()
    assert set(history.values_list("status", flat=True)) <= {
        ReturnStatus.CLOSED,
        ReturnStatus.INSPECTED,
    }
    numbers = list(history.values_list("number", flat=True))
    assert not StockMovement.objects.filter(reference__in=numbers).exists()
    for rma in history.prefetch_related("lines", "events", "order__events"):
        assert rma.number.startswith("RMA-")
        assert rma.created_at <= rma.updated_at
        assert rma.created_at >= rma.order.placed_at
        assert [e.type for e in rma.events.all()][:3] == ["requested", "approved", "received"]
        steps = [e.type for e in rma.order.events.all() if e.payload.get("return") == rma.number]
        assert steps[:3] == [
            OrderEventType.RETURN_REQUESTED,
            OrderEventType.RETURN_APPROVED,
            OrderEventType.RETURN_RECEIVED,
        ]
        inspected = sum(i.quantity for line in rma.lines.all() for i in line.inspections.all())
        assert inspected == sum(line.quantity for line in rma.lines.all())


def test_open_returns_are_made_through_the_services_in_their_states(seeded):
    open_returns = ReturnRequest.objects.filter(client_scope=OPEN_CLIENT_SCOPE).order_by("pk")
    planned = dict(
        zip(
            [f"demo-return-{i}" for i in range(len(OPEN_RETURNS))],
            [state for state, _ in OPEN_RETURNS],
            strict=True,
        )
    )

    assert open_returns.count() >= 3  # the small data set has a few recent orders
    for rma in open_returns:
        state = planned[rma.idempotency_key]
        expected = {
            "received": {ReturnStatus.RECEIVED, ReturnStatus.INSPECTED},
        }.get(state, {state})
        assert rma.status in expected
        topics = set(
            OutboxEvent.objects.filter(payload__number=rma.number).values_list("topic", flat=True)
        )
        assert "return.requested" in topics
    restocked = StockMovement.objects.filter(
        reference__in=open_returns.values("number"),
        reason__in=[MovementReason.RETURN_RESTOCK, MovementReason.RETURN_DAMAGED],
    )
    received = open_returns.filter(
        status__in=[ReturnStatus.RECEIVED, ReturnStatus.INSPECTED, ReturnStatus.CLOSED]
    )
    assert restocked.count() == received.count()


# --- reference data: tax rates and contract prices -------------------------------------


def test_every_state_of_the_demo_has_its_tax_rate(seeded):
    rates = {rate.region: rate for rate in TaxRate.objects.filter(country="US")}

    assert set(demo_states()) <= set(rates)
    assert all(rates[state].rate == SALES_TAX_RATES[state] for state in demo_states())
    assert {s for s, r in rates.items() if r.taxes_shipping} == TAX_SHIPPING_STATES & set(rates)
    assert rates["OR"].rate == 0  # no sales tax in Oregon


def test_contract_price_lists_cover_about_40_skus_with_breaks_for_half_the_companies(seeded):
    entries = PriceListEntry.objects.select_related("product", "price_list")

    assert PriceList.objects.count() == len(PRICE_LISTS)
    assert 35 <= entries.values("product").distinct().count() <= 45
    assert entries.filter(min_quantity__gt=1).exists()
    assert all(e.unit_price < e.product.list_price for e in entries)
    with_list = Company.objects.filter(price_list__isnull=False).count()
    assert abs(with_list - len(COMPANIES) / 2) <= 2


def test_live_orders_of_contract_companies_are_priced_from_their_price_list(seeded):
    lines = OrderLine.objects.filter(
        order__in=Order.objects.exclude(pk__in=historical_orders()),
        order__company__price_list__isnull=False,
    ).select_related("order__company", "product")
    breaks = defaultdict(list)
    for entry in PriceListEntry.objects.order_by("min_quantity"):
        breaks[(entry.price_list_id, entry.product_id)].append(entry)

    contract_priced = 0
    for line in lines:
        expected = line.product.list_price
        for entry in breaks[(line.order.company.price_list_id, line.product_id)]:
            if entry.min_quantity <= line.quantity_ordered:
                expected = entry.unit_price
        assert line.unit_price == expected, line
        contract_priced += expected != line.product.list_price

    assert contract_priced > 0


# --- the live operation ------------------------------------------------------------------


def test_the_first_live_orders_show_every_kind_and_fate():
    scripts = [live_script(index) for index in range(LIVE)]

    assert live_script(40) == live_script(40)
    assert len(SHOWCASE) > LIVE
    assert {Kind.FRAUD_REVIEW, Kind.APPROVAL, Kind.BACKORDER, Kind.PICKUP} <= {
        s.kind for s in scripts
    }
    assert {Fate.SHIP, Fate.SHIP_PART, Fate.CANCEL, Fate.CANCEL_PART, Fate.OPEN} <= {
        s.fate for s in scripts
    }


def test_live_orders_come_from_every_channel_in_every_state(seeded):
    live = Order.objects.filter(pk__in=[item.order_id for item in live_orders(LIVE)])

    assert live.count() == LIVE
    assert {OrderStatus.PLACED, OrderStatus.PROCESSING, OrderStatus.COMPLETED} <= set(
        live.values_list("status", flat=True)
    )
    assert live.filter(status=OrderStatus.CANCELLED).exists()
    assert {Channel.WEB, Channel.B2B_API, Channel.AGENT, Channel.SALES, Channel.MARKETPLACE} <= (
        set(live.values_list("channel", flat=True))
    )
    assert not live.filter(channel=Channel.MARKETPLACE, external_reference="").exists()
    assert set(
        live.filter(channel=Channel.AGENT).values_list("placed_by__username", flat=True)
    ) == {"agent"}
    assert set(
        live.filter(channel=Channel.SALES).values_list("placed_by__username", flat=True)
    ) == {"sales"}
    assert live.filter(pickup_location__kind=LocationKind.STORE).exists()
    assert OrderLine.objects.filter(order__in=live, quantity_backordered__gt=0).exists()
    assert (
        OrderLine.objects.filter(order__in=live, quantity_cancelled__gt=0)
        .exclude(order__status=OrderStatus.CANCELLED)
        .exists()
    )  # a partial cancellation
    assert live.filter(tax_total__gt=0).exists()


def test_live_orders_trigger_the_hold_rules_they_are_meant_to(seeded):
    holds = OrderHold.objects.filter(released_at__isnull=True)

    fraud = holds.get(kind=HoldKind.FRAUD_REVIEW)
    assert fraud.order.customer.email == newcomer_spec(3).email
    assert "First order" in fraud.reason
    assert holds.filter(kind=HoldKind.B2B_APPROVAL).exists()
    assert set(holds.values_list("kind", flat=True)) == {
        HoldKind.FRAUD_REVIEW,
        HoldKind.B2B_APPROVAL,
    }  # no other order of the demo is held by accident
    assert not FulfillmentOrder.objects.filter(order__holds__in=holds).exists()


def test_live_orders_are_routed_shipped_tracked_and_picked_up(seeded):
    live = [item.order_id for item in live_orders(LIVE)]
    fos = FulfillmentOrder.objects.filter(order_id__in=live)
    shipments = Shipment.objects.filter(order_id__in=live)

    assert RoutingDecision.objects.filter(order_id__in=live).exists()
    assert fos.filter(status="open").exists()
    assert fos.filter(status="closed").exists()
    assert shipments.filter(carrier__code="SIM").exists()
    statuses = set(shipments.values_list("status", flat=True))
    assert ShipmentStatus.DELIVERED in statuses
    assert statuses & {ShipmentStatus.IN_TRANSIT, ShipmentStatus.OUT_FOR_DELIVERY}
    assert ShipmentStatus.PICKED_UP in statuses
    assert TrackingEvent.objects.filter(shipment__in=shipments).exists()
    assert fos.filter(is_pickup=True, ready_for_pickup_at__isnull=False).exists()
    assert not fos.filter(request_status=RequestStatus.SUBMITTED, shipments__isnull=False)


def test_drafts_are_left_open_some_holding_stock(seeded):
    drafts = Order.objects.filter(status=OrderStatus.DRAFT)

    assert 3 <= drafts.count() <= 5
    assert set(drafts.values_list("placed_by__username", flat=True)) == {"sales", "agent"}
    held = NetworkReservation.objects.filter(status=ReservationStatus.ACTIVE)
    assert set(held.values_list("reference", flat=True)) < set(
        drafts.values_list("number", flat=True)
    )


def assert_commitments_reconcile() -> None:
    """Network commitments are exactly the open, unallocated, not backordered units of
    placed and processing orders plus the drafts' active reservations; allocations at
    locations are exactly the orders' allocated units."""
    committed: dict[int, int] = defaultdict(int)
    allocated: dict[int, int] = defaultdict(int)
    for line in OrderLine.objects.select_related("order"):
        allocated[line.product_id] += line.quantity_allocated
        if line.order.status in (OrderStatus.PLACED, OrderStatus.PROCESSING):
            committed[line.product_id] += line.quantity_open - line.quantity_backordered
    for reservation in NetworkReservation.objects.filter(status=ReservationStatus.ACTIVE):
        committed[reservation.product_id] += reservation.quantity
    at_locations: dict[int, int] = defaultdict(int)
    for level in StockLevel.objects.all():
        at_locations[level.product_id] += level.allocated

    networks = NetworkStock.objects.all()
    assert {n.product_id: n.committed for n in networks} == {
        n.product_id: committed.get(n.product_id, 0) for n in networks
    }
    assert not [n for n in networks if n.committed > n.available]  # nothing oversold
    products = set(allocated) | set(at_locations)
    assert {p: at_locations.get(p, 0) for p in products} == {
        p: allocated.get(p, 0) for p in products
    }


def test_network_commitments_and_allocations_reconcile_with_the_orders(seeded):
    assert NetworkStock.objects.filter(committed__gt=0).exists()
    assert StockLevel.objects.filter(allocated__gt=0).exists()
    assert_commitments_reconcile()


# --- integration credentials --------------------------------------------------------------


def test_demo_api_keys_are_kept_in_a_private_file_and_work(seeded, keys_path):
    values = read_keys_file(keys_path)

    company_key = find_active_key(values["COMPANY_API_KEY"])
    vendor_key = find_active_key(values["VENDOR_API_KEY"])
    assert company_key is not None
    assert company_key.company.account_number == COMPANIES[0].account_number
    assert vendor_key is not None
    assert vendor_key.vendor.kind == LocationKind.DROPSHIP_VENDOR
    assert stat.S_IMODE(keys_path.stat().st_mode) == 0o600


def test_demo_carriers_get_a_random_webhook_secret_kept_in_the_keys_file(seeded, keys_path):
    values = read_keys_file(keys_path)
    secrets = {c.code: c.webhook_secret for c in Carrier.objects.all()}

    assert all(values[webhook_secret_name(code)] == secret for code, secret in secrets.items())
    assert all(len(secret) >= 40 for secret in secrets.values())
    assert len(set(secrets.values())) == len(secrets)
    assert not any(s.startswith(PUBLISHED_WEBHOOK_SECRET_PREFIX) for s in secrets.values())


def test_a_secret_an_operator_set_is_kept_and_a_published_one_replaced(seeded, keys_path):
    Carrier.objects.filter(code="SIM").update(webhook_secret="the-operators-own")
    Carrier.objects.filter(code="PARCELX").update(webhook_secret="demo-webhook-parcelx")
    keys = keys_path.read_text()  # the database rolls back after the test, the file not
    out = StringIO()
    try:
        call_command("seed_demo", orders=40, customers=20, live_orders=LIVE, stdout=out)

        assert Carrier.objects.get(code="SIM").webhook_secret == "the-operators-own"
        renewed = Carrier.objects.get(code="PARCELX").webhook_secret
        assert renewed != "demo-webhook-parcelx"
        assert read_keys_file(keys_path)[webhook_secret_name("PARCELX")] == renewed
        assert renewed in out.getvalue()
        assert "the-operators-own" not in out.getvalue()
    finally:
        keys_path.write_text(keys)


def last_changes() -> dict[str, object]:
    """When each table with a change stamp last changed, and the newest ledger row."""
    stamped = (Order, StockLevel, NetworkStock, FulfillmentOrder, Company, Customer)
    changes: dict[str, object] = {
        model.__name__: model.objects.aggregate(Max("updated_at"))["updated_at__max"]
        for model in stamped
    }
    changes["movement"] = StockMovement.objects.aggregate(Max("pk"))["pk__max"]
    changes["shipments"] = list(Shipment.objects.values_list("pk", "status").order_by("pk"))
    changes["carriers"] = list(Carrier.objects.values_list("code", "webhook_secret"))
    return changes


def test_second_run_writes_nothing_and_says_so(seeded, keys_path):
    before = counts()
    changed = last_changes()
    keys = keys_path.read_text()
    out = StringIO()

    call_command("seed_demo", orders=40, customers=20, live_orders=LIVE, stdout=out)

    assert counts() == before
    assert last_changes() == changed
    assert keys_path.read_text() == keys
    assert "Nothing to do" in out.getvalue()


def test_asking_for_more_adds_only_the_missing_rows(seeded):
    numbers = set(Order.objects.values_list("number", flat=True))
    movements = StockMovement.objects.count()
    live = Order.objects.exclude(pk__in=historical_orders()).count()

    call_command("seed_demo", orders=45, customers=22, live_orders=LIVE, quiet=True)

    assert historical_orders().count() == 45
    assert Order.objects.exclude(pk__in=historical_orders()).count() == live
    assert numbers <= set(Order.objects.values_list("number", flat=True))
    assert b2c_customers().count() == 22
    assert StockMovement.objects.count() == movements


def test_asking_for_more_live_orders_places_and_works_only_the_new_ones(seeded):
    before = {item.order_id for item in live_orders(LIVE)}

    call_command("seed_demo", **{**SMALL, "live_orders": LIVE + 3})

    after = live_orders(LIVE + 10)
    assert len(after) == LIVE + 3
    assert before == {item.order_id for item in after[:LIVE]}
    assert_commitments_reconcile()


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
    with pytest.raises(CommandError):
        call_command("seed_demo", live_orders=-1, quiet=True)

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


def test_demo_logins_prints_the_api_keys_and_an_order_example(seeded, keys_path):
    values = read_keys_file(keys_path)
    out = StringIO()

    call_command("demo_logins", url="http://oms.test:8000", stdout=out)

    text = out.getvalue()
    assert values["COMPANY_API_KEY"] in text
    assert values["VENDOR_API_KEY"] in text
    assert "curl -sS -X POST http://oms.test:8000/api/v1/orders/" in text
    assert f"Authorization: Bearer {values['COMPANY_API_KEY']}" in text
    assert "Idempotency-Key:" in text
    assert f"X-Carrier-Token: {values[webhook_secret_name('SIM')]}" in text
    assert values[webhook_secret_name("PARCELX")] in text


def test_demo_logins_prints_no_revoked_or_missing_key(seeded, keys_path):
    values = read_keys_file(keys_path)
    ApiKey.objects.filter(company__isnull=False).update(revoked_at="2026-01-01T00:00:00Z")
    Carrier.objects.filter(code="SIM").update(webhook_secret="an-operators-secret")
    out = StringIO()

    call_command("demo_logins", stdout=out)

    text = out.getvalue()
    assert values["COMPANY_API_KEY"] not in text
    assert values["VENDOR_API_KEY"] in text
    assert "curl -sS -X POST http://127.0.0.1:8000/api/v1/orders/" not in text
    assert "an-operators-secret" not in text


def test_demo_logins_without_the_demo_users_prints_no_password(db):
    # Renamed rather than deleted: when this runs inside the module's seed, the demo
    # users are the actors of append-only ledger rows, which refuse the SET NULL a
    # deletion would cascade to them.
    User.objects.filter(username__in=[spec.username for spec in DEMO_USERS]).update(
        username=Concat(F("username"), Value("-gone"))
    )
    out = StringIO()

    call_command("demo_logins", stdout=out)

    assert "not created" in out.getvalue()
    assert not any(spec.password in out.getvalue() for spec in DEMO_USERS)
