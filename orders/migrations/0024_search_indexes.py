"""The console search's indexes on orders (``orders.search``).

PostgreSQL: trigram (GIN) indexes so that part of an e-mail address or of the ship-to
name is an index lookup, a b-tree on the ship-to phone's reversed digits
(``core.search.phone_key``) for a phone number in any format, and expression indexes
for the PO number and the external reference in any case. SQLite (the demo) searches
without them. The indexes are built concurrently: a large order table keeps taking
orders while they are built.
"""

from django.db import migrations


def expression_sql(model, expression, schema_editor):
    """The SQL of ``expression`` over ``model``'s table, constants inlined, as Django
    writes it in a query: an index serves only the very expression it is built on."""
    from django.db.models.sql import Query

    query = Query(model, alias_cols=False)
    compiler = query.get_compiler(connection=schema_editor.connection)
    sql, params = expression.resolve_expression(query).as_sql(compiler, schema_editor.connection)
    return sql % tuple(schema_editor.quote_value(p) for p in params)


def _indexes():
    """(index name, method, expression, operator class) of each index on orders."""
    from django.db.models.functions import Lower, Upper

    from core.search import Fold, phone_key

    return [
        ("order_email_trgm", "gin", Lower("email"), "gin_trgm_ops"),
        ("order_ship_name_trgm", "gin", Fold("ship_name"), "gin_trgm_ops"),
        # "Ends with these digits" as "the reversed digits start with": a b-tree range.
        ("order_ship_phone_key", "btree", phone_key("ship_phone"), "text_pattern_ops"),
        ("order_po_number_upper", "btree", Upper("po_number"), ""),
        ("order_external_reference_upper", "btree", Upper("external_reference"), ""),
    ]


def _concurrently(schema_editor) -> str:
    """Build and drop concurrently, unless a caller runs the migration inside a
    transaction (a test moving the schema back and forth), where PostgreSQL refuses it."""
    return "" if schema_editor.connection.in_atomic_block else "CONCURRENTLY "


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    order = apps.get_model("orders", "Order")
    for name, method, expression, opclass in _indexes():
        column = f"({expression_sql(order, expression, schema_editor)}) {opclass}".rstrip()
        schema_editor.execute(
            f"CREATE INDEX {_concurrently(schema_editor)}{name} ON {order._meta.db_table} USING {method} ({column})"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, *_ in _indexes():
        schema_editor.execute(f"DROP INDEX {_concurrently(schema_editor)}IF EXISTS {name}")


class Migration(migrations.Migration):
    # CREATE INDEX CONCURRENTLY cannot run in a transaction.
    atomic = False

    dependencies = [
        ("orders", "0023_notification_resend"),
        # The folding function and the trigram extension.
        ("customers", "0008_search_indexes"),
    ]

    operations = [migrations.RunPython(create, drop)]
