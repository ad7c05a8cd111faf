from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("orders", "0026_quotes")]

    operations: list[migrations.operations.base.Operation] = []
