from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0021_exchange_hold_and_return_steps"),
    ]

    operations = []
