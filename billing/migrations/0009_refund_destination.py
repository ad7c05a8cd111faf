from django.db import migrations, models


class Migration(migrations.Migration):
    """A refund goes back the way the order was paid, or to the customer's store credit."""

    dependencies = [
        ("billing", "0008_dunning_reminders"),
    ]

    operations = [
        migrations.AddField(
            model_name="refund",
            name="destination",
            field=models.CharField(
                choices=[("original", "Original payment"), ("store_credit", "Store credit")],
                default="original",
                max_length=16,
            ),
        ),
        migrations.AlterField(
            model_name="refund",
            name="status",
            field=models.CharField(
                choices=[
                    ("pending", "Pending"),
                    ("refunded", "Refunded"),
                    ("credited", "Credited to the invoice"),
                    ("store_credit", "Credited as store credit"),
                    ("failed", "Failed"),
                ],
                default="pending",
                max_length=16,
            ),
        ),
    ]
