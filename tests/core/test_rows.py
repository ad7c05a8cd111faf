"""The hand-written inserts of the hot paths: keys, values and database-computed fields
come back as the ORM would set them, several groups go in one statement on
PostgreSQL, and a failing statement writes none of its groups."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from core import rows
from core.models import OutboxEvent
from customers.models import Company
from inventory.models import Product
from orders.models import Order
from orders.numbering import next_order_number_sql
from tests.factories import CustomerFactory, ShippingMethodFactory

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


def test_insert_groups_sets_every_key_in_insertion_order():
    products = _products("ROWS-1", "ROWS-2", "ROWS-3")
    events = [OutboxEvent(topic="order.placed", payload={"order_id": n}) for n in (7, 8)]
    companies = [Company(account_number="ROWS-C1", name="Rows Ltd")]

    rows.insert_groups(products, [], events, companies)

    stored = {p.pk: (p.sku, p.list_price, p.customization_fields) for p in Product.objects.all()}
    assert stored == {p.pk: (p.sku, Decimal("12.50"), p.customization_fields) for p in products}
    assert {e.pk: e.payload for e in OutboxEvent.objects.all()} == {
        events[0].pk: {"order_id": 7},
        events[1].pk: {"order_id": 8},
    }
    assert Company.objects.get(pk=companies[0].pk).account_number == "ROWS-C1"
    assert all(not obj._state.adding for obj in [*products, *events, *companies])


@on_postgresql
def test_insert_groups_is_one_statement_on_postgresql():
    products = _products("ROWS-1", "ROWS-2")
    events = [OutboxEvent(topic="order.placed", payload={})]
    with CaptureQueriesContext(connection) as ctx:
        rows.insert_groups(products, events)
    assert len(ctx.captured_queries) == 1
    assert Product.objects.count() == 2
    assert OutboxEvent.objects.count() == 1


@on_postgresql
def test_a_failing_group_writes_no_group():
    Product.objects.create(sku="ROWS-2", name="Taken", list_price=Decimal("1.00"))
    products = _products("ROWS-1", "ROWS-2")  # ROWS-2 breaks the unique SKU
    events = [OutboxEvent(topic="order.placed", payload={})]

    with pytest.raises(IntegrityError), transaction.atomic():
        rows.insert_groups(events, products)

    assert list(Product.objects.values_list("sku", flat=True)) == ["ROWS-2"]
    assert not OutboxEvent.objects.exists()
    assert all(obj.pk is None for obj in [*products, *events])


def test_insert_groups_with_one_group_is_a_plain_insert():
    products = _products("ROWS-1")
    with CaptureQueriesContext(connection) as ctx:
        rows.insert_groups([], products, [])
    assert len(ctx.captured_queries) == 1
    assert Product.objects.get().pk == products[0].pk


def test_only_text_and_integer_fields_can_be_computed():
    with pytest.raises(ValueError, match="list_price cannot be computed"):
        rows.insert(_products("ROWS-1"), computed={"list_price": "1"})
    with pytest.raises(ValueError, match="nope cannot be computed"):
        rows.insert(_products("ROWS-1"), computed={"nope": "1"})
    assert not Product.objects.exists()


def _unsaved_order() -> Order:
    customer = CustomerFactory()
    method = ShippingMethodFactory()
    return Order(
        channel="b2b_api",
        customer=customer,
        company=customer.company,
        shipping_method=method,
        currency=method.currency,
    )


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
def test_an_order_insert_takes_its_number_from_the_sequence(order_sequence, next_value, number):
    order_sequence(next_value)
    first, second = _unsaved_order(), _unsaved_order()

    with CaptureQueriesContext(connection) as ctx:
        rows.insert([first], computed={"number": next_order_number_sql()})
    rows.insert([second], computed={"number": next_order_number_sql()})

    assert len(ctx.captured_queries) == 1
    assert first.number == number
    assert Order.objects.get(pk=first.pk).number == number
    assert second.number == f"SO-{next_value + 1:07d}"
