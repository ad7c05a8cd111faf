"""The hand-written inserts of the hot paths: keys and values come back as the ORM
would set them, several rows go in one statement, and a failing statement writes
nothing. Order numbers come from the sequence."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from core import rows
from core.models import OutboxEvent
from inventory.models import Product
from orders.numbering import next_order_number

pytestmark = pytest.mark.django_db

on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="PostgreSQL statements and sequences"
)


def _products(*skus: str) -> list[Product]:
    return [
        Product(
            sku=sku,
            name=f"Product {sku}",
            list_price=Decimal("12.50"),
            is_customizable=sku.endswith("1"),
            customization_fields=["engraving"] if sku.endswith("1") else [],
        )
        for sku in skus
    ]


@pytest.mark.parametrize("count", [1, 3])
def test_insert_sets_every_key_in_insertion_order_in_one_statement(count):
    products = _products(*(f"ROWS-{n}" for n in range(1, count + 1)))

    with CaptureQueriesContext(connection) as ctx:
        rows.insert(products)

    assert len(ctx.captured_queries) == 1
    stored = {p.pk: (p.sku, p.list_price, p.customization_fields) for p in Product.objects.all()}
    assert stored == {p.pk: (p.sku, Decimal("12.50"), p.customization_fields) for p in products}
    assert [p.pk for p in products] == sorted(p.pk for p in products)
    assert all(not p._state.adding for p in products)


def test_json_values_are_stored_as_the_orm_would():
    events = [OutboxEvent(topic="order.placed", payload={"order_id": n}) for n in (7, 8)]
    rows.insert(events)
    assert {e.pk: e.payload for e in OutboxEvent.objects.all()} == {
        events[0].pk: {"order_id": 7},
        events[1].pk: {"order_id": 8},
    }


def test_nothing_to_insert_runs_no_statement():
    with CaptureQueriesContext(connection) as ctx:
        rows.insert([])
    assert not ctx.captured_queries


def test_a_failing_insert_writes_no_row():
    Product.objects.create(sku="ROWS-2", name="Taken", list_price=Decimal("1.00"))
    products = _products("ROWS-1", "ROWS-2")  # ROWS-2 breaks the unique SKU

    with pytest.raises(IntegrityError), transaction.atomic():
        rows.insert(products)

    assert list(Product.objects.values_list("sku", flat=True)) == ["ROWS-2"]
    assert all(p.pk is None for p in products)


@pytest.fixture
def order_sequence():
    """Moves order_number_seq for a test and puts it back (sequences ignore rollbacks)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT last_value, is_called FROM order_number_seq")
        last_value, is_called = cursor.fetchone()

    def move_to(value: int) -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT setval('order_number_seq', %s, false)", [value])

    yield move_to
    with connection.cursor() as cursor:
        cursor.execute("SELECT setval('order_number_seq', %s, %s)", [last_value, is_called])


@on_postgresql
@pytest.mark.parametrize(
    ("next_value", "number"),
    [(42, "SO-0000042"), (1_000_001, "SO-1000001"), (123_456_789, "SO-123456789")],
)
def test_order_numbers_come_from_the_sequence(order_sequence, next_value, number):
    order_sequence(next_value)
    assert next_order_number() == number
    assert next_order_number() == f"SO-{next_value + 1:07d}"
