"""Companies can subscribe to "invoice.paid" (an invoice on terms paid in full)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("webhooks", "0002_received_webhook")]

    operations = [
        migrations.AlterField(
            model_name="webhookevent",
            name="type",
            field=models.CharField(
                choices=[
                    ("order.placed", "Order placed"),
                    ("order.on_hold", "Order on hold"),
                    ("order.released", "Order released"),
                    ("order.cancelled", "Order cancelled"),
                    ("fulfillment.shipped", "Fulfillment shipped"),
                    ("shipment.delivered", "Shipment delivered"),
                    ("return.updated", "Return updated"),
                    ("invoice.issued", "Invoice issued"),
                    ("invoice.paid", "Invoice paid"),
                ],
                max_length=32,
            ),
        ),
    ]
