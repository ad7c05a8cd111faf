"""The payment reminders' log (``billing.dunning_models``): one row per invoice and
stage, unique; and the aging report's proxy, which has no table."""

from decimal import Decimal

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0007_refunds"),
        ("customers", "0004_storefront_api_keys"),
    ]

    operations = [
        migrations.CreateModel(
            name="AgingReport",
            fields=[],
            options={
                "verbose_name": "aging report",
                "verbose_name_plural": "aging report",
                "proxy": True,
                "default_permissions": (),
                "indexes": [],
                "constraints": [],
            },
            bases=("billing.invoice",),
        ),
        migrations.CreateModel(
            name="DunningReminder",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "stage",
                    models.CharField(
                        choices=[
                            ("before_due", "Before the due date"),
                            ("at_due", "On the due date"),
                            ("overdue_7", "7 days overdue"),
                            ("overdue_30", "30 days overdue"),
                        ],
                        max_length=16,
                    ),
                ),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("pending", "Being sent"),
                            ("sent", "Sent"),
                            ("skipped", "Skipped"),
                            ("cancelled", "Not sent: paid meanwhile"),
                        ],
                        default="pending",
                        max_length=16,
                    ),
                ),
                ("stage_date", models.DateField(help_text="The day this stage applied from.")),
                ("currency", models.CharField(max_length=3)),
                (
                    "amount_due",
                    models.DecimalField(
                        decimal_places=2,
                        default=Decimal("0"),
                        help_text="What was still owed on the invoice when the stage was decided.",
                        max_digits=14,
                    ),
                ),
                ("recipient", models.CharField(blank=True, max_length=254)),
                (
                    "notification_key",
                    models.CharField(
                        blank=True,
                        help_text="The key of the e-mail's claim on the notification log.",
                        max_length=200,
                    ),
                ),
                ("last_error", models.CharField(blank=True, max_length=300)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("sent_at", models.DateTimeField(blank=True, null=True)),
                (
                    "company",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="dunning_reminders",
                        to="customers.company",
                    ),
                ),
                (
                    "invoice",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="reminders",
                        to="billing.invoice",
                    ),
                ),
            ],
            options={
                "verbose_name": "payment reminder",
                "ordering": ["invoice_id", "stage_date", "id"],
                "indexes": [
                    models.Index(fields=["company", "-created_at"], name="dunning_company_created"),
                    models.Index(
                        condition=models.Q(("status", "pending")),
                        fields=["created_at"],
                        name="dunning_pending",
                    ),
                ],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("invoice", "stage"), name="dunning_invoice_stage_once"
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            models.Q(("sent_at__isnull", False), ("status", "sent")),
                            models.Q(
                                models.Q(("status", "sent"), _negated=True),
                                ("sent_at__isnull", True),
                            ),
                            _connector="OR",
                        ),
                        name="dunning_sent_when_sent_at",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("amount_due__gte", 0)), name="dunning_amount_nonneg"
                    ),
                ],
            },
        ),
    ]
