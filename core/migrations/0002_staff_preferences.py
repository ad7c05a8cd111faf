"""Reserved; filled by the change that introduces it."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ('core', '0001_outbox_event_moved'),
    ]

    operations: list[migrations.operations.base.Operation] = []
