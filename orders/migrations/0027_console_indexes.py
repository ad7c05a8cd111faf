"""Indexes the console's order search reads without visiting the order table
(``orders.search``): a search gathers the ids of the orders it finds before it fetches
the page's rows, and these two give the ids of the broadest kinds of match from the index
alone (an index-only scan).

- ``order_customer_id``: the orders of the customers a name, e-mail, phone or company
  finds (a surname shared by thousands of customers finds tens of thousands of orders).
- ``order_line_sku_order``: the orders with a line of a SKU (a best seller is on
  thousands of orders). It replaces the lines' ``(sku)`` index, its first column.

PostgreSQL only, like the search's other indexes (SQLite, the demo, searches without
them). Built concurrently, so a large order table keeps taking orders meanwhile, unless
a caller runs the migration inside a transaction (a test moving the schema back and
forth), where PostgreSQL refuses it. Not in the models' ``Meta``: only PostgreSQL has
them.
"""

from django.db import migrations

# (index name, model, columns)
INDEXES = [
    ("order_customer_id", "Order", ("customer_id", "id")),
    ("order_line_sku_order", "OrderLine", ("sku", "order_id")),
]


def _concurrently(schema_editor) -> str:
    return "" if schema_editor.connection.in_atomic_block else "CONCURRENTLY "


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    quote = schema_editor.quote_name
    for name, model_name, columns in INDEXES:
        table = apps.get_model("orders", model_name)._meta.db_table
        schema_editor.execute(
            f"CREATE INDEX {_concurrently(schema_editor)}IF NOT EXISTS {name} "
            f"ON {quote(table)} ({', '.join(quote(c) for c in columns)})"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, *_ in INDEXES:
        schema_editor.execute(f"DROP INDEX {_concurrently(schema_editor)}IF EXISTS {name}")


class Migration(migrations.Migration):
    # CREATE INDEX CONCURRENTLY cannot run in a transaction.
    atomic = False

    dependencies = [("orders", "0026_quotes")]

    # The lines' old ``(sku)`` index is the first column of ``(sku, order_id)``: every
    # read it served, the new one serves, so it goes once the new one is built.
    operations = [
        migrations.RunPython(create, drop),
        migrations.RemoveIndex(model_name="orderline", name="orders_orde_sku_7b8ef1_idx"),
    ]
