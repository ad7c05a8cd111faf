"""Every placement writes a row into each of these tables, and each index on them
costs an index insert per row: none may repeat what another index already serves."""

import pytest
from django.db import connection

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="reads pg_index"),
]

PLACEMENT_TABLES = (
    "orders_order",
    "orders_orderline",
    "orders_orderevent",
    "orders_orderhold",
    "oms_outboxevent",
    "orders_idempotencykey",
    "inventory_networkstock",
)


def _indexes(table: str) -> list[tuple[str, tuple[str, ...], bool, bool]]:
    """(name, keys, unique, covers every row) of each index on ``table``; a key is the
    access method with the column or expression and its operator class (a trigram index
    on an expression serves other searches than a b-tree on its column)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT i.indexrelid::regclass::text, "
            "ARRAY(SELECT a.amname || ':' || pg_get_indexdef(i.indexrelid, k, true) "
            "FROM generate_series(1, i.indnkeyatts) k), i.indisunique, i.indpred IS NULL "
            "FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "JOIN pg_am a ON a.oid = c.relam WHERE i.indrelid = %s::regclass ORDER BY 1",
            [table],
        )
        return [(name, tuple(keys), unique, whole) for name, keys, unique, whole in cursor]


def _serves(
    index: tuple[str, tuple[str, ...], bool, bool], other: tuple[str, tuple[str, ...], bool, bool]
) -> bool:
    """Whether ``other`` serves every lookup ``index`` serves (a LIKE twin counts:
    nothing searches these tables by prefix). A unique index is never redundant, nor
    is a partial one (it is smaller, and it is there for its condition)."""
    name, columns, unique, whole = index
    other_name, other_columns, other_unique, other_whole = other
    if unique or not whole or other_name == name or not other_whole:
        return False
    if other_columns[: len(columns)] != columns:
        return False
    # Of two indexes on the same columns, one is the repeat: the non-unique one, else
    # the one named last.
    return len(other_columns) > len(columns) or other_unique or name > other_name


def _repeats(table: str) -> list[str]:
    indexes = _indexes(table)
    found = []
    for index in indexes:
        served_by = next((other for other in indexes if _serves(index, other)), None)
        if served_by is not None:
            found.append(f"{index[0]} (served by {served_by[0]})")
    return found


@pytest.mark.parametrize("table", PLACEMENT_TABLES)
def test_no_index_of_a_placement_table_repeats_another(table):
    assert _repeats(table) == []


def test_the_check_finds_a_repeated_index():
    with connection.cursor() as cursor:
        cursor.execute('CREATE INDEX "orders_order_status_again" ON "orders_order" ("status")')
    assert _repeats("orders_order") == [
        "orders_order_status_again (served by orders_orde_status_7a533d_idx)"
    ]
