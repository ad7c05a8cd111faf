from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0005_store_credit"),
    ]

    operations = []
