from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("returns", "0002_seed_reasons_and_default_policy"),
    ]

    operations = []
