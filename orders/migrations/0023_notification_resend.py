from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("orders", "0022_exposure_counts_invoices"),
    ]

    operations = []
