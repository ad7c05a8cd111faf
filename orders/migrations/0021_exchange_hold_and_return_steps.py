from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0020_return_event_types"),
    ]

    operations = []
