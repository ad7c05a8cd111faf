from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0009_refund_destination"),
    ]

    operations = []
