from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("shipping", "0001_carriers_and_methods_moved")]

    operations = [
        migrations.AddField(
            model_name="carrier",
            name="offers_return_pickup",
            field=models.BooleanField(
                default=False,
                help_text="The carrier collects return parcels at the customer's address.",
            ),
        ),
    ]
