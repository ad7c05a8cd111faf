"""Reserved; filled by the change that introduces it."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ('inventory', '0009_bins_and_staff_locations'),
    ]

    operations: list[migrations.operations.base.Operation] = []
