from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("fulfillment", "0008_carriers_moved_to_shipping")]

    operations: list[migrations.operations.base.Operation] = []
