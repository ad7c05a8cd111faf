"""Indexes for the dashboard and the reports (``analytics``) on orders.

- ``order_placed_at``: every figure over a period reads the orders placed in it; without
  this index a month's orders are a scan of the whole table. It carries the ids, so the
  range of ids of a period's orders (which bounds the scan of their lines) is read from
  the index alone.
- ``order_line_backordered``: the backorders figure reads the lines still waiting for
  stock, a handful among millions (partial, so it costs a placement nothing until a line
  is backordered).

PostgreSQL builds them concurrently (a large order table keeps taking orders meanwhile);
SQLite (the demo, a few thousand orders) reads without them. They live in the migration
only, as the search indexes do (``0024_search_indexes``).
"""

from django.db import migrations

INDEXES = (
    ("order_placed_at", "orders_order", "(placed_at) INCLUDE (id)", ""),
    (
        "order_line_backordered",
        "orders_orderline",
        "(order_id)",
        "WHERE quantity_backordered > 0",
    ),
)


def _concurrently(schema_editor) -> str:
    """Build and drop concurrently, unless a caller runs the migration inside a
    transaction (a test moving the schema back and forth), where PostgreSQL refuses it."""
    return "" if schema_editor.connection.in_atomic_block else "CONCURRENTLY "


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, table, columns, where in INDEXES:
        schema_editor.execute(
            f"CREATE INDEX {_concurrently(schema_editor)}IF NOT EXISTS {name} "
            f"ON {table} {columns} {where}".rstrip()
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, *_ in INDEXES:
        schema_editor.execute(f"DROP INDEX {_concurrently(schema_editor)}IF EXISTS {name}")


class Migration(migrations.Migration):
    # CREATE INDEX CONCURRENTLY cannot run in a transaction.
    atomic = False

    dependencies = [("orders", "0027_console_indexes")]

    operations = [migrations.RunPython(create, drop)]
