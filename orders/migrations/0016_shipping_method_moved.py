"""An order's shipping method now lives in the shipping app; its column and data stay."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0015_readable_labels"),
        ("shipping", "0001_carriers_and_methods_moved"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="order",
                    name="shipping_method",
                    field=models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="orders",
                        to="shipping.shippingmethod",
                    ),
                ),
            ],
            database_operations=[],
        ),
    ]
