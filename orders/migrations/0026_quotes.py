"""Reserved; filled by the change that introduces it."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ('orders', '0025_order_notes'),
    ]

    operations: list[migrations.operations.base.Operation] = []
