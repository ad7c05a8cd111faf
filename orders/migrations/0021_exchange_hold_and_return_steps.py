from django.db import migrations, models


class Migration(migrations.Migration):
    """The exchange hold and the return's tracking, refund and exchange steps on the
    order's timeline (choices only)."""

    dependencies = [
        ("orders", "0020_return_event_types"),
    ]

    operations = [
        migrations.AlterField(
            model_name="orderevent",
            name="type",
            field=models.CharField(
                choices=[
                    ("created", "Draft created"),
                    ("placed", "Placed"),
                    ("status_changed", "Status changed"),
                    ("hold_placed", "Hold placed"),
                    ("hold_released", "Hold released"),
                    ("edited", "Edited"),
                    ("cancelled", "Cancelled"),
                    ("lines_cancelled", "Lines cancelled"),
                    ("routed", "Routed"),
                    ("shipped", "Shipped"),
                    ("delivered", "Delivered"),
                    ("note", "Note"),
                    ("notification_sent", "Notification sent"),
                    ("imported", "Imported"),
                    ("return_requested", "Return requested"),
                    ("return_approved", "Return approved"),
                    ("return_rejected", "Return rejected"),
                    ("return_cancelled", "Return cancelled"),
                    ("return_in_transit", "Return sent back"),
                    ("return_received", "Return received"),
                    ("return_closed", "Return closed"),
                    ("return_tracking", "Return parcel scanned"),
                    ("return_refunded", "Return refunded"),
                    ("return_exchange", "Return exchanged"),
                ],
                max_length=32,
            ),
        ),
        migrations.AlterField(
            model_name="orderhold",
            name="kind",
            field=models.CharField(
                choices=[
                    ("fraud_review", "Fraud review"),
                    ("payment", "Payment"),
                    ("credit_limit", "Credit limit"),
                    ("address", "Incomplete address"),
                    ("b2b_approval", "B2B approval"),
                    ("manual", "Manual"),
                    ("exchange", "Exchange awaiting return"),
                ],
                max_length=16,
            ),
        ),
    ]
