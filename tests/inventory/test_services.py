"""The inventory services one by one: what each writes, and what each refuses.

Every refusal is checked with ``nothing_written``: counters, ledger rows, network
totals, reservations and location flags are exactly as before the call.
"""

import datetime as dt
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import IntegrityError, InternalError, connection, transaction
from django.db.models import F
from django.utils import timezone

from core.errors import Conflict, InvalidInput
from inventory import services
from inventory.errors import InsufficientStock, InvalidStockChange
from inventory.models import (
    Location,
    LocationKind,
    MovementReason,
    NetworkStock,
    Product,
    ReservationStatus,
    StockBucket,
    StockLevel,
    StockMovement,
    StockReservation,
)
from inventory.selectors import get_network_availability
from inventory.services import MAX_STOCK_QUANTITY
from tests.factories import LocationFactory, ProductFactory
from tests.inventory.ledger import allocate, assert_stock_consistent, nothing_written
from tests.inventory.legacy import legacy_reservation

pytestmark = pytest.mark.django_db

BAD_QUANTITIES = [0, -1, True, 2.0, "3", None, MAX_STOCK_QUANTITY + 1]


@pytest.fixture
def location() -> Location:
    return LocationFactory()


@pytest.fixture
def product() -> Product:
    return ProductFactory()


def level_of(location: Location, product: Product) -> StockLevel:
    return StockLevel.objects.get(location=location, product=product)


def network_of(product: Product) -> int:
    return NetworkStock.objects.get(product=product).available


def later(hours: int = 1) -> dt.datetime:
    return timezone.now() + dt.timedelta(hours=hours)


def stock(location: Location, product: Product, on_hand: int, actor, **extra: int) -> StockLevel:
    """Receive ``on_hand`` units, then allocate / reserve / keep back / expect as asked."""
    services.receive_stock(location=location, product=product, quantity=on_hand, actor=actor)
    if extra.get("allocated"):
        allocate(location, product, extra["allocated"], actor)
    if extra.get("reserved"):
        legacy_reservation(
            location=location, product=product, quantity=extra["reserved"], actor=actor
        )
    if extra.get("safety_stock"):
        services.set_safety_stock(
            location=location, product=product, quantity=extra["safety_stock"], actor=actor
        )
    if extra.get("incoming"):
        services.expect_stock(
            location=location, product=product, quantity=extra["incoming"], actor=actor
        )
    return level_of(location, product)


# --- receive / expect --------------------------------------------------------------


def test_receive_puts_units_on_hand_with_one_ledger_row(location, product, staff_actor):
    # when
    level = services.receive_stock(
        location=location,
        product=product,
        quantity=12,
        actor=staff_actor,
        reference="PO-77",
        note="dock 3",
    )

    # then
    assert level_of(location, product).on_hand == level.on_hand == 12
    row = StockMovement.objects.get()
    assert (row.bucket, row.delta, row.balance_after) == (StockBucket.ON_HAND, 12, 12)
    assert (row.reason, row.reference, row.note) == (MovementReason.RECEIPT, "PO-77", "dock 3")
    assert (row.actor_kind, row.actor_user_id, row.actor_label) == (
        "user",
        staff_actor.user_id,
        "operator",
    )
    assert network_of(product) == 12
    assert_stock_consistent([product.pk])


def test_receive_settles_expected_units_first(location, product, system_actor):
    # given 5 units expected
    services.expect_stock(location=location, product=product, quantity=5, actor=system_actor)
    assert network_of(product) == 0  # expected units are not promised

    # when 3, then 4 arrive
    services.receive_stock(location=location, product=product, quantity=3, actor=system_actor)
    first = level_of(location, product)
    services.receive_stock(location=location, product=product, quantity=4, actor=system_actor)

    # then incoming went 5 -> 2 -> 0 (never below), on hand 3 -> 7
    assert (first.on_hand, first.incoming) == (3, 2)
    level = level_of(location, product)
    assert (level.on_hand, level.incoming) == (7, 0)
    incoming_deltas = list(
        StockMovement.objects.filter(bucket=StockBucket.INCOMING)
        .order_by("id")
        .values_list("delta", "reason")
    )
    assert incoming_deltas == [
        (5, MovementReason.EXPECTED),
        (-3, MovementReason.RECEIPT),
        (-2, MovementReason.RECEIPT),
    ]
    assert network_of(product) == 7
    assert_stock_consistent([product.pk])


@pytest.mark.parametrize("quantity", BAD_QUANTITIES)
def test_receive_and_expect_refuse_a_bad_quantity(location, product, system_actor, quantity):
    stock(location, product, 3, system_actor)
    for service in (services.receive_stock, services.expect_stock):
        with nothing_written(), pytest.raises(InvalidStockChange):
            service(location=location, product=product, quantity=quantity, actor=system_actor)


def test_receive_refuses_to_pass_the_maximum(location, product, system_actor):
    stock(location, product, MAX_STOCK_QUANTITY - 1, system_actor)
    with nothing_written(), pytest.raises(InvalidStockChange):
        services.receive_stock(location=location, product=product, quantity=2, actor=system_actor)


def test_expect_records_incoming_without_promising_it(location, product, system_actor):
    level = services.expect_stock(
        location=location, product=product, quantity=9, actor=system_actor, reference="PO-9"
    )

    assert (level.incoming, level.on_hand) == (9, 0)
    assert StockMovement.objects.get().reference == "PO-9"
    assert network_of(product) == 0
    assert_stock_consistent([product.pk])


# --- adjust ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bucket", "delta", "network"),
    [
        (StockBucket.ON_HAND, 4, 14),
        (StockBucket.ON_HAND, -4, 6),
        (StockBucket.UNSELLABLE, 2, 10),
        (StockBucket.INCOMING, 6, 10),
    ],
)
def test_adjust_changes_one_bucket_with_the_reason_on_the_row(
    location, product, system_actor, bucket, delta, network
):
    # given 10 on hand
    stock(location, product, 10, system_actor)

    # when
    level = services.adjust_stock(
        location=location,
        product=product,
        bucket=bucket,
        delta=delta,
        reason="  found behind a shelf  ",
        actor=system_actor,
        reference="ADJ-1",
    )

    # then
    row = StockMovement.objects.order_by("-id").first()
    assert (row.bucket, row.delta, row.reason) == (bucket, delta, MovementReason.ADJUSTMENT)
    assert (row.note, row.reference) == ("found behind a shelf", "ADJ-1")
    assert getattr(level, bucket) == row.balance_after
    assert network_of(product) == network
    assert_stock_consistent([product.pk])


@pytest.mark.parametrize("reason", ["", "   ", "\n\t", None])
def test_adjust_requires_a_reason(location, product, system_actor, reason):
    stock(location, product, 10, system_actor)
    with nothing_written(), pytest.raises(InvalidStockChange):
        services.adjust_stock(
            location=location, product=product, delta=-1, reason=reason, actor=system_actor
        )


def test_adjust_refuses_a_result_below_zero(location, product, system_actor):
    stock(location, product, 3, system_actor, incoming=2)
    for bucket, delta in [("on_hand", -4), ("incoming", -3), ("unsellable", -1)]:
        with nothing_written(), pytest.raises(InvalidStockChange):
            services.adjust_stock(
                location=location,
                product=product,
                bucket=bucket,
                delta=delta,
                reason="lost",
                actor=system_actor,
            )


def test_adjust_refuses_on_hand_below_what_is_allocated_and_reserved(
    location, product, system_actor
):
    # given 5 on hand, 2 of them allocated and 2 reserved
    stock(location, product, 5, system_actor, allocated=2, reserved=2)

    # when / then taking 2 away would leave 3 on hand for 4 promised
    with nothing_written(), pytest.raises(InsufficientStock) as refused:
        services.adjust_stock(
            location=location, product=product, delta=-2, reason="lost", actor=system_actor
        )
    assert refused.value.code == "insufficient_stock"

    # but taking the one free unit is fine
    services.adjust_stock(
        location=location, product=product, delta=-1, reason="lost", actor=system_actor
    )
    assert level_of(location, product).on_hand == 4


@pytest.mark.parametrize("bucket", ["reserved", "allocated", "safety_stock", "bogus", ""])
def test_adjust_refuses_buckets_not_adjusted_by_hand(location, product, system_actor, bucket):
    stock(location, product, 5, system_actor)
    with nothing_written(), pytest.raises(InvalidStockChange):
        services.adjust_stock(
            location=location,
            product=product,
            bucket=bucket,
            delta=1,
            reason="why not",
            actor=system_actor,
        )


@pytest.mark.parametrize(
    "delta",
    [0, True, False, 1.0, "2", None, MAX_STOCK_QUANTITY + 1, -(MAX_STOCK_QUANTITY + 1)],
)
def test_adjust_refuses_a_bad_delta(location, product, system_actor, delta):
    stock(location, product, 5, system_actor)
    with nothing_written(), pytest.raises(InvalidStockChange):
        services.adjust_stock(
            location=location, product=product, delta=delta, reason="typo", actor=system_actor
        )


def test_adjust_refuses_a_result_above_the_maximum(location, product, system_actor):
    stock(location, product, 5, system_actor)
    with nothing_written(), pytest.raises(InvalidStockChange):
        services.adjust_stock(
            location=location,
            product=product,
            delta=MAX_STOCK_QUANTITY,
            reason="typo",
            actor=system_actor,
        )


# --- unsellable / safety stock -----------------------------------------------------


def test_mark_unsellable_moves_units_out_of_on_hand(location, product, system_actor):
    stock(location, product, 10, system_actor)

    level = services.mark_unsellable(
        location=location, product=product, quantity=3, reason="crushed", actor=system_actor
    )

    assert (level.on_hand, level.unsellable) == (7, 3)
    rows = list(StockMovement.objects.filter(reason=MovementReason.DAMAGE).order_by("id"))
    assert [(r.bucket, r.delta, r.note) for r in rows] == [
        (StockBucket.ON_HAND, -3, "crushed"),
        (StockBucket.UNSELLABLE, 3, "crushed"),
    ]
    assert network_of(product) == 7
    assert_stock_consistent([product.pk])


def test_mark_unsellable_refuses_promised_units_and_more_than_on_hand(
    location, product, system_actor
):
    stock(location, product, 5, system_actor, allocated=1, reserved=2)
    with nothing_written(), pytest.raises(InsufficientStock):
        services.mark_unsellable(
            location=location, product=product, quantity=3, reason="wet", actor=system_actor
        )
    with nothing_written(), pytest.raises(InvalidStockChange):
        services.mark_unsellable(
            location=location, product=product, quantity=6, reason="wet", actor=system_actor
        )
    with nothing_written(), pytest.raises(InvalidStockChange):
        services.mark_unsellable(
            location=location, product=product, quantity=1, reason=" ", actor=system_actor
        )


def test_safety_stock_is_held_back_from_the_network(location, product, system_actor):
    # given 10 on hand
    stock(location, product, 10, system_actor)

    # when 3 are kept back, then 15 (more than on hand), then none
    services.set_safety_stock(location=location, product=product, quantity=3, actor=system_actor)
    after_three = network_of(product)
    services.set_safety_stock(location=location, product=product, quantity=15, actor=system_actor)
    after_fifteen = network_of(product)
    services.set_safety_stock(location=location, product=product, quantity=0, actor=system_actor)

    # then the network drops by what is kept back, never below zero, and comes back
    assert (after_three, after_fifteen, network_of(product)) == (7, 0, 10)
    deltas = list(
        StockMovement.objects.filter(bucket=StockBucket.SAFETY_STOCK)
        .order_by("id")
        .values_list("delta", flat=True)
    )
    assert deltas == [3, 12, -15]
    assert_stock_consistent([product.pk])


def test_setting_the_same_safety_stock_writes_nothing(location, product, system_actor):
    stock(location, product, 10, system_actor, safety_stock=2)
    with nothing_written():
        services.set_safety_stock(
            location=location, product=product, quantity=2, actor=system_actor
        )


@pytest.mark.parametrize("quantity", [-1, True, 1.5, "2", None, MAX_STOCK_QUANTITY + 1])
def test_set_safety_stock_refuses_a_bad_quantity(location, product, system_actor, quantity):
    stock(location, product, 10, system_actor)
    with nothing_written(), pytest.raises(InvalidStockChange):
        services.set_safety_stock(
            location=location, product=product, quantity=quantity, actor=system_actor
        )


# --- transfer / cycle count ----------------------------------------------------------


def test_transfer_moves_units_between_locations_in_one_go(product, system_actor):
    source, destination = LocationFactory(), LocationFactory()
    stock(source, product, 10, system_actor)

    out_level, in_level = services.transfer_stock(
        source=source,
        destination=destination,
        product=product,
        quantity=4,
        reason="rebalance",
        actor=system_actor,
        reference="TR-1",
    )

    assert (out_level.on_hand, in_level.on_hand) == (6, 4)
    rows = StockMovement.objects.filter(reference="TR-1").order_by("id")
    assert [(r.location_id, r.delta, r.reason) for r in rows] == [
        (source.pk, -4, MovementReason.TRANSFER_OUT),
        (destination.pk, 4, MovementReason.TRANSFER_IN),
    ]
    assert network_of(product) == 10
    assert_stock_consistent([product.pk])


def test_transfer_to_an_inactive_location_takes_units_out_of_the_network(product, system_actor):
    source, closed = LocationFactory(), LocationFactory(is_active=False)
    stock(source, product, 10, system_actor)

    services.transfer_stock(
        source=source,
        destination=closed,
        product=product,
        quantity=4,
        reason="to the back room",
        actor=system_actor,
    )

    assert network_of(product) == 6
    assert_stock_consistent([product.pk])


def test_transfer_refusals(location, product, system_actor):
    # given 10 on hand of which 4 are allocated and 3 reserved: 3 are free to move
    other = LocationFactory()
    stock(location, product, 10, system_actor, allocated=4, reserved=3)

    def transfer(**overrides):
        args = {
            "source": location,
            "destination": other,
            "product": product,
            "quantity": 3,
            "reason": "rebalance",
            "actor": system_actor,
        } | overrides
        return services.transfer_stock(**args)

    # then the same location, more than is free, a missing reason and a bad quantity
    # are all refused
    with nothing_written(), pytest.raises(InvalidStockChange):
        transfer(destination=location)
    with nothing_written(), pytest.raises(InsufficientStock):
        transfer(quantity=4)
    with nothing_written(), pytest.raises(InvalidStockChange):
        transfer(reason="")
    with nothing_written(), pytest.raises(InvalidStockChange):
        transfer(quantity=0)
    # and exactly the free units can go
    transfer(quantity=3)
    assert (level_of(location, product).on_hand, level_of(other, product).on_hand) == (7, 3)


@pytest.mark.parametrize(("counted", "delta"), [(6, -4), (13, 3)])
def test_cycle_count_ledgers_the_difference(location, product, system_actor, counted, delta):
    stock(location, product, 10, system_actor)

    level = services.record_cycle_count(
        location=location, product=product, counted=counted, actor=system_actor, note="aisle 4"
    )

    assert level.on_hand == counted
    row = StockMovement.objects.get(reason=MovementReason.CYCLE_COUNT)
    assert (row.delta, row.balance_after, row.note) == (delta, counted, "aisle 4")
    assert network_of(product) == counted
    assert_stock_consistent([product.pk])


def test_cycle_count_matching_the_counter_writes_nothing(location, product, system_actor):
    stock(location, product, 10, system_actor)
    with nothing_written():
        services.record_cycle_count(
            location=location, product=product, counted=10, actor=system_actor
        )


def test_cycle_count_refuses_below_what_is_promised_and_bad_numbers(
    location, product, system_actor
):
    stock(location, product, 10, system_actor, allocated=2, reserved=4)
    with nothing_written(), pytest.raises(InsufficientStock):
        services.record_cycle_count(
            location=location, product=product, counted=5, actor=system_actor
        )
    for counted in (-1, True, 2.5, "7"):
        with nothing_written(), pytest.raises(InvalidStockChange):
            services.record_cycle_count(
                location=location, product=product, counted=counted, actor=system_actor
            )
    services.record_cycle_count(location=location, product=product, counted=6, actor=system_actor)
    assert level_of(location, product).on_hand == 6


# --- reservations -------------------------------------------------------------------


def test_location_reservations_are_no_longer_made():
    # Drafts and quotes reserve against the network; a reservation at one location
    # could take units that placed orders had committed, so nothing makes them, and
    # nothing needs to expire them.
    assert not hasattr(services, "reserve_stock")
    assert not hasattr(services, "release_expired_reservations")
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert not {task for task in scheduled if task.startswith("inventory.")}


def test_release_gives_units_back_once(location, product, system_actor):
    # given a reservation of 4 out of 10
    stock(location, product, 10, system_actor, reserved=4)
    reservation = StockReservation.objects.get()

    # when released
    released = services.release_reservation(reservation_id=reservation.pk, actor=system_actor)

    # then
    assert released is True
    reservation.refresh_from_db()
    assert reservation.status == ReservationStatus.RELEASED
    assert reservation.ended_at is not None
    assert level_of(location, product).reserved == 0
    row = StockMovement.objects.get(reason=MovementReason.RESERVATION_RELEASE)
    assert (row.delta, row.reference) == (-4, "QUOTE-0")
    assert network_of(product) == 10

    # and a second release (or an unknown id) answers False and writes nothing
    with nothing_written():
        again = services.release_reservation(reservation_id=reservation.pk, actor=system_actor)
        unknown = services.release_reservation(
            reservation_id=reservation.pk + 99, actor=system_actor
        )
    assert (again, unknown) == (False, False)
    assert_stock_consistent([product.pk])


# --- locations on and off the network -----------------------------------------------


def test_closing_and_reopening_a_location_moves_exactly_its_contribution(product, system_actor):
    # given a store promising 6 (12 on hand, 2 allocated, 3 reserved, 1 safety) and a
    # depot promising 20
    store, depot = LocationFactory(), LocationFactory()
    stock(store, product, 12, system_actor, allocated=2, reserved=3, safety_stock=1)
    stock(depot, product, 20, system_actor)
    assert network_of(product) == 26

    # when the store closes
    with transaction.atomic():
        movements = StockMovement.objects.count()
        services.set_location_active(location=store, active=False, actor=system_actor)
    closed = network_of(product)
    # and closing it again changes nothing
    services.set_location_active(location=store, active=False, actor=system_actor)
    closed_twice = network_of(product)
    # and it reopens
    services.set_location_active(location=store, active=True, actor=system_actor)

    # then the network lost and regained the store's 6; no ledger row was written
    assert (closed, closed_twice, network_of(product)) == (20, 20, 26)
    assert StockMovement.objects.count() == movements
    assert Location.objects.get(pk=store.pk).is_active is True
    assert_stock_consistent([product.pk])


def test_stock_changes_read_whether_the_location_is_active_from_the_database(
    location, product, system_actor
):
    # given a location closed through the service; our instance still says it is open
    services.set_location_active(location=location, active=False, actor=system_actor)
    assert location.is_active is True

    # when stock arrives there through the stale instance
    services.receive_stock(location=location, product=product, quantity=5, actor=system_actor)
    services.adjust_stock(
        location=location, product=product, delta=2, reason="found", actor=system_actor
    )

    # then a closed location still adds nothing to the network
    assert network_of(product) == 0
    assert_stock_consistent([product.pk])


# --- master data ---------------------------------------------------------------------

ADDRESS = {"line1": "1 Dock Road", "city": "Reno", "region": "NV", "postal_code": "89502"}


def test_create_location_geocodes_a_us_zip_offline():
    location = services.create_location(
        code=" reno-1 ",
        name="Reno DC",
        kind=LocationKind.DISTRIBUTION_CENTER,
        address={**ADDRESS, "country": "us"},
    )

    location.refresh_from_db()
    assert (location.code, location.name, location.country) == ("RENO-1", "Reno DC", "US")
    assert location.latitude is not None
    assert location.longitude is not None
    assert abs(location.latitude - Decimal("39.5")) < 1
    assert abs(location.longitude - Decimal("-119.8")) < 1


@pytest.mark.parametrize(
    ("address", "field"),
    [
        ({**ADDRESS, "country": "XX"}, "country"),
        ({**ADDRESS, "country": "US", "postal_code": "00000"}, "postal_code"),
        ({**ADDRESS, "country": "US", "postal_code": ""}, "postal_code"),
        ({**ADDRESS, "country": "US", "city": ""}, "city"),
    ],
)
def test_create_location_refuses_a_bad_address(address, field):
    with pytest.raises(InvalidInput) as refused:
        services.create_location(code="X1", name="X", kind=LocationKind.STORE, address=address)
    assert field in refused.value.details["fields"]
    assert not Location.objects.exists()


def test_create_location_refuses_a_taken_code_or_an_unknown_kind():
    LocationFactory(code="RENO-1")
    with pytest.raises(Conflict):
        services.create_location(
            code="reno-1", name="X", kind=LocationKind.STORE, address={**ADDRESS, "country": "US"}
        )
    for code, kind in (("NEW", "moon_base"), ("  ", LocationKind.STORE)):
        with pytest.raises(InvalidInput):
            services.create_location(
                code=code, name="X", kind=kind, address={**ADDRESS, "country": "US"}
            )
    assert Location.objects.count() == 1


def test_create_product_normalises_the_sku_and_opens_its_network_row():
    product = services.create_product(sku=" mug-01 ", name="Mug", list_price=Decimal("9.50"))

    assert product.sku == "MUG-01"
    assert NetworkStock.objects.get(product=product).available == 0


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"sku": "mug-01"}, Conflict),
        ({"sku": "   "}, InvalidInput),
        ({"sku": "X" * 65}, InvalidInput),
        ({"list_price": Decimal("-0.01")}, InvalidInput),
        ({"customization_fields": ["engraving"]}, InvalidInput),
    ],
)
def test_create_product_refusals(overrides, error):
    services.create_product(sku="MUG-01", name="Mug", list_price=Decimal("9.50"))
    args = {"sku": "MUG-02", "name": "Other", "list_price": Decimal("1.00")} | overrides

    with pytest.raises(error):
        services.create_product(**args)

    assert list(Product.objects.values_list("sku", flat=True)) == ["MUG-01"]
    assert NetworkStock.objects.count() == 1


def test_create_product_takes_only_a_dropship_vendor_as_vendor():
    warehouse = LocationFactory(kind=LocationKind.WAREHOUSE)
    vendor = LocationFactory(kind=LocationKind.DROPSHIP_VENDOR)

    with pytest.raises(InvalidInput):
        services.create_product(
            sku="A", name="A", list_price=Decimal("1"), dropship_vendor=warehouse
        )
    product = services.create_product(
        sku="B", name="B", list_price=Decimal("1"), dropship_vendor=vendor
    )

    assert product.dropship_vendor == vendor
    assert list(Product.objects.values_list("sku", flat=True)) == ["B"]


# --- availability ------------------------------------------------------------------


def test_network_availability_per_sku_and_per_active_location(system_actor):
    # given a SKU at two open locations and a closed one, with demand committed
    north = LocationFactory(code="NORTH", name="North")
    south = LocationFactory(code="SOUTH", name="South")
    closed = LocationFactory(code="CLOSED")
    mug = ProductFactory(sku="MUG")
    ProductFactory(sku="IDLE")
    stock(south, mug, 10, system_actor, reserved=2)
    stock(north, mug, 5, system_actor, safety_stock=1)
    stock(closed, mug, 50, system_actor)
    services.set_location_active(location=closed, active=False, actor=system_actor)
    NetworkStock.objects.filter(product=mug).update(committed=3)

    # when
    result = get_network_availability([" mug ", "idle", "NOPE"])

    # then unknown SKUs are left out, the closed location is not listed
    assert [(r.sku, r.available_to_promise) for r in result] == [("IDLE", 0), ("MUG", 9)]
    assert result[0].locations == []
    assert [
        (loc.location_code, loc.location_name, loc.available_to_promise, loc.on_hand)
        for loc in result[1].locations
    ] == [("NORTH", "North", 4, 5), ("SOUTH", "South", 8, 10)]


def test_network_availability_takes_two_queries_however_many_rows(
    system_actor, django_assert_num_queries
):
    locations = [LocationFactory() for _ in range(3)]
    products = [ProductFactory() for _ in range(4)]
    stock(locations[0], products[0], 1, system_actor)
    with django_assert_num_queries(2):
        get_network_availability([products[0].sku])

    for location in locations:
        for product in products:
            stock(location, product, 2, system_actor)
    with django_assert_num_queries(2):
        result = get_network_availability([p.sku for p in products])
    assert [len(r.locations) for r in result] == [3, 3, 3, 3]


# --- database guards -------------------------------------------------------------------


def test_the_database_refuses_to_rewrite_or_delete_ledger_rows(location, product, system_actor):
    stock(location, product, 5, system_actor)
    row = StockMovement.objects.get()

    with pytest.raises((IntegrityError, InternalError), match="append-only"), transaction.atomic():
        StockMovement.objects.filter(pk=row.pk).update(delta=50, balance_after=50)
    with pytest.raises((IntegrityError, InternalError), match="append-only"), transaction.atomic():
        StockMovement.objects.filter(pk=row.pk).delete()
    with (
        pytest.raises((IntegrityError, InternalError), match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM inventory_stockmovement WHERE id = %s", [row.pk])

    row.refresh_from_db()
    assert (row.delta, row.balance_after) == (5, 5)
    assert StockMovement.objects.count() == 1


@pytest.mark.parametrize(
    "change",
    [
        {"allocated": F("on_hand") + 1},
        {"reserved": F("on_hand") + 1},
        {"on_hand": -1},
        {"incoming": -1},
    ],
)
def test_the_database_refuses_impossible_stock_counters(location, product, system_actor, change):
    stock(location, product, 5, system_actor)

    with pytest.raises(IntegrityError), transaction.atomic():
        StockLevel.objects.filter(location=location, product=product).update(**change)

    level = level_of(location, product)
    assert (level.on_hand, level.allocated, level.reserved, level.incoming) == (5, 0, 0, 0)
