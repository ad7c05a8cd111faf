from decimal import Decimal

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

ENTRIES = "customers_storecreditentry"


def create_guard(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        """
        CREATE OR REPLACE FUNCTION customers_store_credit_append_only() RETURNS trigger AS $$
        BEGIN
            RAISE EXCEPTION USING
                MESSAGE = 'the store credit ledger is append-only: ' || TG_OP
                    || ' of entry ' || OLD.id || ' refused',
                ERRCODE = 'restrict_violation';
        END;
        $$ LANGUAGE plpgsql;
        """
    )
    schema_editor.execute(
        f"CREATE TRIGGER {ENTRIES}_append_only BEFORE UPDATE OR DELETE ON {ENTRIES} "
        "FOR EACH ROW EXECUTE FUNCTION customers_store_credit_append_only()"
    )


def drop_guard(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP TRIGGER IF EXISTS {ENTRIES}_append_only ON {ENTRIES}")
    schema_editor.execute("DROP FUNCTION IF EXISTS customers_store_credit_append_only()")


class Migration(migrations.Migration):
    """Store credit: a balance per customer (never below zero) and its append-only
    ledger (PostgreSQL refuses UPDATE and DELETE of entries, as on the stock ledger)."""

    dependencies = [
        ("customers", "0004_storefront_api_keys"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="StoreCreditAccount",
            fields=[
                (
                    "customer",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.PROTECT,
                        primary_key=True,
                        related_name="store_credit",
                        serialize=False,
                        to="customers.customer",
                    ),
                ),
                ("currency", models.CharField(default="USD", max_length=3)),
                (
                    "balance",
                    models.DecimalField(decimal_places=2, default=Decimal("0"), max_digits=14),
                ),
                ("updated_at", models.DateTimeField(auto_now=True)),
            ],
            options={
                "verbose_name": "store credit account",
                "permissions": [("adjust_store_credit", "Can grant and adjust store credit")],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("balance__gte", 0)),
                        name="store_credit_balance_nonneg",
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="StoreCreditEntry",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "actor_kind",
                    models.CharField(
                        choices=[
                            ("user", "Staff user"),
                            ("api", "API client"),
                            ("customer", "Customer"),
                            ("system", "System"),
                        ],
                        max_length=16,
                    ),
                ),
                ("actor_label", models.CharField(max_length=150)),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("return", "Granted for a return"),
                            ("goodwill", "Granted as goodwill"),
                            ("refund", "Refund as store credit"),
                            ("spent", "Spent on an order"),
                            ("given_back", "Given back (order cancelled or edited)"),
                            ("adjusted", "Adjusted by finance"),
                        ],
                        max_length=16,
                    ),
                ),
                ("amount", models.DecimalField(decimal_places=2, max_digits=14)),
                ("balance_after", models.DecimalField(decimal_places=2, max_digits=14)),
                ("currency", models.CharField(max_length=3)),
                ("order_number", models.CharField(blank=True, max_length=32)),
                ("reference", models.CharField(blank=True, max_length=64)),
                ("reason", models.CharField(blank=True, max_length=300)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "account",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="entries",
                        to="customers.storecreditaccount",
                    ),
                ),
                (
                    "actor_user",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name": "store credit entry",
                "verbose_name_plural": "store credit entries",
                "ordering": ["-created_at", "-id"],
                "indexes": [
                    models.Index(
                        fields=["account", "-created_at"], name="store_credit_entry_account"
                    ),
                    models.Index(
                        condition=models.Q(("order_number", ""), _negated=True),
                        fields=["order_number"],
                        name="store_credit_entry_order",
                    ),
                ],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("balance_after__gte", 0)),
                        name="store_credit_entry_balance_nonneg",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            models.Q(
                                ("amount__gt", 0),
                                ("kind__in", ("return", "goodwill", "refund", "given_back")),
                            ),
                            models.Q(("amount__lt", 0), ("kind", "spent")),
                            models.Q(("kind", "adjusted"), models.Q(("amount", 0), _negated=True)),
                            _connector="OR",
                        ),
                        name="store_credit_entry_sign_by_kind",
                    ),
                ],
            },
        ),
        migrations.RunPython(create_guard, drop_guard),
    ]
