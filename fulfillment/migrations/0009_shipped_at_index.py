"""Shipments by the time they left, for the dashboard's shipping figures and the
fulfillment reports (``analytics``): a period's shipments are an index range instead of
a scan of every shipment.

PostgreSQL builds it concurrently (shipping goes on meanwhile); SQLite (the demo) reads
without it. It lives in the migration only, as the orders' search indexes do.
"""

from django.db import migrations

NAME = "shipment_shipped_at"


def _concurrently(schema_editor) -> str:
    """Concurrently, unless a caller runs the migration inside a transaction (a test
    moving the schema back and forth), where PostgreSQL refuses it."""
    return "" if schema_editor.connection.in_atomic_block else "CONCURRENTLY "


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f"CREATE INDEX {_concurrently(schema_editor)}IF NOT EXISTS {NAME} "
        "ON fulfillment_shipment (shipped_at)"
    )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP INDEX {_concurrently(schema_editor)}IF EXISTS {NAME}")


class Migration(migrations.Migration):
    # CREATE INDEX CONCURRENTLY cannot run in a transaction.
    atomic = False

    dependencies = [("fulfillment", "0008_carriers_moved_to_shipping")]

    operations = [migrations.RunPython(create, drop)]
