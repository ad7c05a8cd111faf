from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("orders", "0027_console_indexes")]

    operations: list[migrations.operations.base.Operation] = []
