"""Carriers and shipping methods now belong to the shipping app; their tables stay where they are.

A shipment's carrier points at the moved model in Django's state only: the column and its
foreign key constraint do not change. The models leave fulfillment's state after every
reference to them (the order's shipping method too) has been re-pointed.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("fulfillment", "0007_readable_labels"),
        ("shipping", "0001_carriers_and_methods_moved"),
        ("orders", "0016_shipping_method_moved"),
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
    ]
