"""The daily summary of the orders (``analytics.summary``) and the days it holds."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0002_export_jobs"),
        ("inventory", "0010_purchase_orders"),
    ]

    operations = [
        migrations.CreateModel(
            name="DailySummaryDay",
            fields=[
                ("day", models.DateField(primary_key=True, serialize=False)),
                ("time_zone", models.CharField(max_length=64)),
                ("refreshed_at", models.DateTimeField()),
            ],
            options={
                "indexes": [models.Index(fields=["refreshed_at"], name="summary_day_refreshed")],
            },
        ),
        migrations.CreateModel(
            name="DailyOrderSummary",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("day", models.DateField()),
                ("channel", models.CharField(max_length=16)),
                ("currency", models.CharField(max_length=3)),
                ("orders", models.PositiveIntegerField(default=0)),
                ("cancelled", models.PositiveIntegerField(default=0)),
                ("revenue", models.DecimalField(decimal_places=2, default=0, max_digits=16)),
                ("settled_lines", models.PositiveIntegerField(default=0)),
                ("complete_lines", models.PositiveIntegerField(default=0)),
                ("shipped_units", models.PositiveIntegerField(default=0)),
                ("returned_units", models.PositiveIntegerField(default=0)),
                (
                    "location",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="inventory.location",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        condition=models.Q(("location__isnull", False)),
                        fields=("day", "channel", "currency", "location"),
                        name="daily_summary_unique_at_location",
                    ),
                    models.UniqueConstraint(
                        condition=models.Q(("location__isnull", True)),
                        fields=("day", "channel", "currency"),
                        name="daily_summary_unique_everywhere",
                    ),
                ],
            },
        ),
    ]
