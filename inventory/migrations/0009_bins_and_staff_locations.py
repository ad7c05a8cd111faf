"""Reserved; filled by the change that introduces it."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ('inventory', '0008_product_category'),
    ]

    operations: list[migrations.operations.base.Operation] = []
