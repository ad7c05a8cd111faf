"""Each staff user's console settings: time zone and date style."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0001_outbox_event_moved"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="StaffPreference",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "time_zone",
                    models.CharField(
                        blank=True,
                        help_text="An IANA zone such as Europe/Paris; empty: the site's.",
                        max_length=64,
                    ),
                ),
                (
                    "date_style",
                    models.CharField(
                        choices=[
                            ("iso", "2026-03-31 14:05 (year first)"),
                            ("european", "31/03/2026 14:05 (day first)"),
                            ("us", "03/31/2026 2:05 PM (month first)"),
                        ],
                        default="iso",
                        max_length=16,
                    ),
                ),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "user",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="staff_preference",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
        ),
    ]
