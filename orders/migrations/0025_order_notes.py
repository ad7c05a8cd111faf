"""Reserved; filled by the change that introduces it."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ('orders', '0024_search_indexes'),
    ]

    operations: list[migrations.operations.base.Operation] = []
