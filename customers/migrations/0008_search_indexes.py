"""Reserved; filled by the change that introduces it."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ('customers', '0007_notification_settings'),
    ]

    operations: list[migrations.operations.base.Operation] = []
