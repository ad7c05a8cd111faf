from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0007_refunds"),
    ]

    operations = []
