"""Reserved; filled by the change that introduces it."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ('core', '0002_staff_preferences'),
    ]

    operations: list[migrations.operations.base.Operation] = []
