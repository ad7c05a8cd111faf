"""Drop the order tables' indexes that repeat others, so a 3-line placement writes
eleven index entries fewer: the single-column status, customer and company indexes of
orders and the order indexes of lines and timeline events (each leads a composite or
unique index already), and the LIKE twins of number, status and channel (searches are
exact). The channel index stays,
renamed as a Meta index.

Only indexes change in the database: the foreign keys and their constraints are kept
as they are, so the migration takes no lock longer than a DROP INDEX.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

DROPPED = {
    # index name: its definition, to put it back on reversal
    "orders_order_status_445594e5": 'ON "orders_order" ("status")',
    "orders_order_status_445594e5_like": 'ON "orders_order" ("status" varchar_pattern_ops)',
    "orders_order_channel_dc2c61a7_like": 'ON "orders_order" ("channel" varchar_pattern_ops)',
    "orders_order_number_abc9e0f2_like": 'ON "orders_order" ("number" varchar_pattern_ops)',
    "orders_order_customer_id_0b76f6a4": 'ON "orders_order" ("customer_id")',
    "orders_order_company_id_fbc7ca11": 'ON "orders_order" ("company_id")',
    "orders_orderevent_order_id_b26297f3": 'ON "orders_orderevent" ("order_id")',
    "orders_orderline_order_id_17f8f3ef": 'ON "orders_orderline" ("order_id")',
}
CHANNEL_BEFORE = "orders_order_channel_dc2c61a7"
CHANNEL_AFTER = "orders_orde_channel_491f77_idx"


def drop_duplicates(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for name in DROPPED:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')
    _rename_channel_index(schema_editor, vendor, CHANNEL_BEFORE, CHANNEL_AFTER)


def restore_duplicates(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for name, definition in DROPPED.items():
        if vendor != "postgresql" and "varchar_pattern_ops" in definition:
            continue
        schema_editor.execute(f'CREATE INDEX IF NOT EXISTS "{name}" {definition}')
    _rename_channel_index(schema_editor, vendor, CHANNEL_AFTER, CHANNEL_BEFORE)


def _rename_channel_index(schema_editor, vendor, old, new):
    if vendor == "postgresql":
        schema_editor.execute(f'ALTER INDEX IF EXISTS "{old}" RENAME TO "{new}"')
    else:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{old}"')
        schema_editor.execute(f'CREATE INDEX IF NOT EXISTS "{new}" ON "orders_order" ("channel")')


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0004_storefront_api_keys"),
        ("fulfillment", "0005_work_queue_indexes"),
        ("inventory", "0004_actor_user_protected"),
        ("orders", "0012_company_exposure"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(drop_duplicates, restore_duplicates)],
            state_operations=[
                migrations.AlterField(
                    model_name="order",
                    name="channel",
                    field=models.CharField(
                        choices=[
                            ("web", "Web storefront"),
                            ("b2b_api", "B2B API"),
                            ("agent", "Agent (admin)"),
                            ("sales", "Sales rep (admin)"),
                            ("marketplace", "Marketplace"),
                            ("import", "File import"),
                        ],
                        max_length=16,
                    ),
                ),
                migrations.AlterField(
                    model_name="order",
                    name="company",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="orders",
                        to="customers.company",
                    ),
                ),
                migrations.AlterField(
                    model_name="order",
                    name="customer",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="orders",
                        to="customers.customer",
                    ),
                ),
                migrations.AlterField(
                    model_name="order",
                    name="status",
                    field=models.CharField(
                        choices=[
                            ("draft", "Draft"),
                            ("placed", "Placed"),
                            ("processing", "Processing"),
                            ("completed", "Completed"),
                            ("cancelled", "Cancelled"),
                        ],
                        default="draft",
                        max_length=16,
                    ),
                ),
                migrations.AlterField(
                    model_name="orderline",
                    name="order",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="lines",
                        to="orders.order",
                    ),
                ),
                migrations.AlterField(
                    model_name="orderevent",
                    name="order",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="events",
                        to="orders.order",
                    ),
                ),
                migrations.AddIndex(
                    model_name="order",
                    index=models.Index(fields=["channel"], name="orders_orde_channel_491f77_idx"),
                ),
            ],
        ),
    ]
