from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0004_storefront_api_keys"),
    ]

    operations = []
