from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("returns", "0004_category_policy")]

    operations = [
        migrations.AddField(
            model_name="returnrequest",
            name="pickup_confirmation",
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.AddField(
            model_name="returnrequest",
            name="pickup_date",
            field=models.DateField(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name="returnevent",
            name="type",
            field=models.CharField(
                choices=[
                    ("requested", "Requested"),
                    ("approved", "Approved"),
                    ("rejected", "Rejected"),
                    ("cancelled", "Cancelled"),
                    ("in_transit", "Sent back"),
                    ("tracking", "Carrier scan"),
                    ("pickup", "Pickup booked"),
                    ("received", "Units received"),
                    ("refunded", "Refunded"),
                    ("refund_blocked", "Refund not made"),
                    ("exchange", "Exchange"),
                    ("closed", "Closed"),
                ],
                max_length=16,
            ),
        ),
    ]
