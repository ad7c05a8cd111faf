"""Carriers and shipping methods, moved from fulfillment to shipping without touching the data.

Only Django's model state moves: the tables keep their names (``fulfillment_carrier``,
``fulfillment_shippingmethod`` and the audit history ``fulfillment_historicalshippingmethod``),
their rows, constraints and indexes. The content types follow, so the permissions on them
keep their ids and the staff groups holding them keep them.
"""

import datetime
from decimal import Decimal

import django.db.models.deletion
import simple_history.models
from django.conf import settings
from django.db import migrations, models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

MODELS = ("carrier", "shippingmethod", "historicalshippingmethod")

SERVICE_LEVELS = [
    ("standard", "Standard"),
    ("express", "Express"),
    ("next_day", "Next day"),
    ("same_day", "Same day"),
    ("weekend", "Weekend delivery"),
    ("pickup", "Store pickup"),
]


def move_content_types(old: str, new: str):
    def run(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
        content_type = apps.get_model("contenttypes", "ContentType")
        content_type.objects.using(schema_editor.connection.alias).filter(
            app_label=old, model__in=MODELS
        ).update(app_label=new)

    return run


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("fulfillment", "0007_readable_labels"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Carrier",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("code", models.CharField(max_length=32, unique=True)),
                        ("name", models.CharField(max_length=100)),
                        (
                            "tracking_url_template",
                            models.CharField(
                                blank=True,
                                help_text="Use {tracking_number} where the number goes.",
                                max_length=300,
                            ),
                        ),
                        (
                            "webhook_secret",
                            models.CharField(
                                blank=True,
                                help_text="Shared secret the carrier sends in X-Carrier-Token with tracking events.",
                                max_length=128,
                            ),
                        ),
                        ("is_active", models.BooleanField(default=True)),
                    ],
                    options={
                        "db_table": "fulfillment_carrier",
                        "ordering": ["name"],
                    },
                ),
                migrations.CreateModel(
                    name="ShippingMethod",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("code", models.CharField(max_length=32, unique=True)),
                        ("name", models.CharField(max_length=100)),
                        ("service_level", models.CharField(choices=SERVICE_LEVELS, max_length=16)),
                        ("transit_days_min", models.PositiveSmallIntegerField(default=0)),
                        ("transit_days_max", models.PositiveSmallIntegerField(default=0)),
                        (
                            "cutoff_time",
                            models.TimeField(
                                default=datetime.time(14, 0),
                                help_text="Orders placed after this ship the next working day.",
                            ),
                        ),
                        ("operating_days", models.JSONField(default=list)),
                        (
                            "price",
                            models.DecimalField(decimal_places=2, default=Decimal("0"), max_digits=10),
                        ),
                        ("currency", models.CharField(default="USD", max_length=3)),
                        ("is_active", models.BooleanField(default=True)),
                        (
                            "carrier",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="methods",
                                to="shipping.carrier",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "fulfillment_shippingmethod",
                        "ordering": ["price", "code"],
                        "constraints": [
                            models.CheckConstraint(
                                condition=models.Q(("transit_days_max__gte", models.F("transit_days_min"))),
                                name="shipping_method_transit_range",
                            ),
                            models.CheckConstraint(
                                condition=models.Q(("price__gte", 0)), name="shipping_method_price_nonneg"
                            ),
                            models.CheckConstraint(
                                condition=models.Q(
                                    ("service_level", "pickup"), ("carrier__isnull", False), _connector="OR"
                                ),
                                name="shipping_method_carrier_unless_pickup",
                            ),
                        ],
                    },
                ),
                migrations.CreateModel(
                    name="HistoricalShippingMethod",
                    fields=[
                        (
                            "id",
                            models.BigIntegerField(
                                auto_created=True, blank=True, db_index=True, verbose_name="ID"
                            ),
                        ),
                        ("code", models.CharField(db_index=True, max_length=32)),
                        ("name", models.CharField(max_length=100)),
                        ("service_level", models.CharField(choices=SERVICE_LEVELS, max_length=16)),
                        ("transit_days_min", models.PositiveSmallIntegerField(default=0)),
                        ("transit_days_max", models.PositiveSmallIntegerField(default=0)),
                        (
                            "cutoff_time",
                            models.TimeField(
                                default=datetime.time(14, 0),
                                help_text="Orders placed after this ship the next working day.",
                            ),
                        ),
                        ("operating_days", models.JSONField(default=list)),
                        (
                            "price",
                            models.DecimalField(decimal_places=2, default=Decimal("0"), max_digits=10),
                        ),
                        ("currency", models.CharField(default="USD", max_length=3)),
                        ("is_active", models.BooleanField(default=True)),
                        ("history_id", models.AutoField(primary_key=True, serialize=False)),
                        ("history_date", models.DateTimeField(db_index=True)),
                        ("history_change_reason", models.CharField(max_length=100, null=True)),
                        (
                            "history_type",
                            models.CharField(
                                choices=[("+", "Created"), ("~", "Changed"), ("-", "Deleted")],
                                max_length=1,
                            ),
                        ),
                        (
                            "carrier",
                            models.ForeignKey(
                                blank=True,
                                db_constraint=False,
                                null=True,
                                on_delete=django.db.models.deletion.DO_NOTHING,
                                related_name="+",
                                to="shipping.carrier",
                            ),
                        ),
                        (
                            "history_user",
                            models.ForeignKey(
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "historical shipping method",
                        "verbose_name_plural": "historical shipping methods",
                        "db_table": "fulfillment_historicalshippingmethod",
                        "ordering": ("-history_date", "-history_id"),
                        "get_latest_by": ("history_date", "history_id"),
                    },
                    bases=(simple_history.models.HistoricalChanges, models.Model),
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(
            move_content_types("fulfillment", "shipping"),
            move_content_types("shipping", "fulfillment"),
            elidable=False,
        ),
    ]
