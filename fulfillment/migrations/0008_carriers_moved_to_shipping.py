"""Carriers and shipping methods now belong to the shipping app; their tables stay where they are.

A shipment's carrier points at the moved model in Django's state only: the column and its
foreign key constraint do not change. The models leave fulfillment's state after every
reference to them (the order's shipping method too) has been re-pointed.

The content types moved with ``shipping.0001``. Migrating back to fulfillment 0007 alone
leaves the models in both apps' state for a while, and Django then creates fulfillment
content types (and permissions) for them again; coming forward, those duplicates of the
moved ones are dropped here, so the models have one content type each.
"""

import django.db.models.deletion
from django.db import migrations, models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

MOVED = ("carrier", "shippingmethod", "historicalshippingmethod")


def drop_duplicate_content_types(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    content_type = apps.get_model("contenttypes", "ContentType")
    rows = content_type.objects.using(schema_editor.connection.alias)
    moved = list(rows.filter(app_label="shipping", model__in=MOVED).values_list("model", flat=True))
    rows.filter(app_label="fulfillment", model__in=moved).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("fulfillment", "0007_readable_labels"),
        ("shipping", "0001_carriers_and_methods_moved"),
        ("orders", "0016_shipping_method_moved"),
        # Deleting a content type sets its admin log entries' to NULL.
        ("admin", "0003_logentry_add_action_flag_choices"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="shipment",
                    name="carrier",
                    field=models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        to="shipping.carrier",
                    ),
                ),
                migrations.DeleteModel(name="HistoricalShippingMethod"),
                migrations.DeleteModel(name="ShippingMethod"),
                migrations.DeleteModel(name="Carrier"),
            ],
            database_operations=[],
        ),
        migrations.RunPython(
            drop_duplicate_content_types, migrations.RunPython.noop, elidable=False
        ),
    ]
