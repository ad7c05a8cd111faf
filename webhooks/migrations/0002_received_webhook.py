import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("webhooks", "0001_initial")]

    operations = [
        migrations.CreateModel(
            name="ReceivedWebhook",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("webhook_id", models.CharField(max_length=64, verbose_name="webhook-id")),
                ("event_type", models.CharField(max_length=32)),
                ("body", models.JSONField(default=dict)),
                ("received_at", models.DateTimeField(auto_now_add=True, db_index=True)),
                (
                    "subscription",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="webhooks.webhooksubscription",
                    ),
                ),
            ],
            options={
                "verbose_name": "delivery received by the demo receiver",
                "verbose_name_plural": "deliveries received by the demo receiver",
                "ordering": ["-received_at", "-id"],
            },
        ),
    ]
