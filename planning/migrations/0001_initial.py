"""Reserved; filled by the change that introduces it."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ('inventory', '0010_purchase_orders'),
        ('orders', '0026_quotes'),
    ]

    operations: list[migrations.operations.base.Operation] = []
