"""The console search's indexes on customers and companies (``customers.search``).

PostgreSQL: the ``pg_trgm`` and ``unaccent`` extensions, the immutable folding function
the name indexes are built on (``core.search.Fold``), trigram (GIN) indexes so part of
a name or an e-mail address is an index lookup, and a b-tree on the phone's reversed
digits (``core.search.phone_key``) for a phone number in any format. SQLite (the demo) searches
without them. The indexes are built concurrently: customers keep being written to
while a large table is indexed.
"""

from django.db import migrations

FOLD_FUNCTION_SQL = """
CREATE OR REPLACE FUNCTION oms_search_fold(text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$ SELECT lower(public.unaccent('public.unaccent'::regdictionary, $1)) $$
"""

EXTENSIONS = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public",
    "CREATE EXTENSION IF NOT EXISTS unaccent SCHEMA public",
]


def expression_sql(model, expression, schema_editor):
    """The SQL of ``expression`` over ``model``'s table, constants inlined, as Django
    writes it in a query: an index serves only the very expression it is built on."""
    from django.db.models.sql import Query

    query = Query(model, alias_cols=False)
    compiler = query.get_compiler(connection=schema_editor.connection)
    sql, params = expression.resolve_expression(query).as_sql(compiler, schema_editor.connection)
    return sql % tuple(schema_editor.quote_value(p) for p in params)


def _indexes(apps):
    """(model, index name, method, expression, operator class) of each index."""
    from django.db.models import Value
    from django.db.models.functions import Concat, Lower

    from core.search import Fold, phone_key

    customer = apps.get_model("customers", "Customer")
    company = apps.get_model("customers", "Company")
    name = Fold(Concat("first_name", Value(" "), "last_name"))
    return [
        (customer, "customer_email_trgm", "gin", Lower("email"), "gin_trgm_ops"),
        (customer, "customer_name_trgm", "gin", name, "gin_trgm_ops"),
        # "Ends with these digits" as "the reversed digits start with": a b-tree range.
        (customer, "customer_phone_key", "btree", phone_key("phone"), "text_pattern_ops"),
        (company, "company_name_trgm", "gin", Fold("name"), "gin_trgm_ops"),
    ]


def _concurrently(schema_editor) -> str:
    """Build and drop concurrently, unless a caller runs the migration inside a
    transaction (a test moving the schema back and forth), where PostgreSQL refuses it."""
    return "" if schema_editor.connection.in_atomic_block else "CONCURRENTLY "


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for statement in EXTENSIONS:
        schema_editor.execute(statement)
    schema_editor.execute(FOLD_FUNCTION_SQL)
    for model, name, method, expression, opclass in _indexes(apps):
        column = f"({expression_sql(model, expression, schema_editor)}) {opclass}"
        schema_editor.execute(
            f"CREATE INDEX {_concurrently(schema_editor)}{name} ON {model._meta.db_table} USING {method} ({column})"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for _model, name, *_ in _indexes(apps):
        schema_editor.execute(f"DROP INDEX {_concurrently(schema_editor)}IF EXISTS {name}")
    schema_editor.execute("DROP FUNCTION IF EXISTS oms_search_fold(text)")


class Migration(migrations.Migration):
    # CREATE INDEX CONCURRENTLY cannot run in a transaction.
    atomic = False

    dependencies = [
        ("customers", "0007_notification_settings"),
    ]

    operations = [migrations.RunPython(create, drop)]
