from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("customers", "0008_search_indexes")]

    operations: list[migrations.operations.base.Operation] = []
