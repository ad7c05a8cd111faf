from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("analytics", "0002_export_jobs")]

    operations: list[migrations.operations.base.Operation] = []
