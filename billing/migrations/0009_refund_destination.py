from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0008_dunning_reminders"),
    ]

    operations = []
