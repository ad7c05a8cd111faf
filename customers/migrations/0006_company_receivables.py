from django.db import migrations


class Migration(migrations.Migration):
    """Nothing to do: reserved for a receivables column on the company, which the
    credit rule reads from ``orders.OpenReceivable`` instead (orders 0022). Later
    migrations of this app depend on it, so it stays."""

    dependencies = [
        ("customers", "0005_store_credit"),
    ]

    operations = []
