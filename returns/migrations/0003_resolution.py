from decimal import Decimal

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    """Resolutions (refund, exchange, store credit), refunds made, the policy's refund
    without return and trusted exchanges, and the return parcel's tracking."""

    dependencies = [
        ("billing", "0007_refunds"),
        ("inventory", "0007_return_reasons"),
        ("orders", "0021_exchange_hold_and_return_steps"),
        ("returns", "0002_seed_reasons_and_default_policy"),
        ("shipping", "0001_carriers_and_methods_moved"),
    ]

    operations = [
        migrations.CreateModel(
            name="ReturnExchangeLine",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("sku", models.CharField(max_length=64)),
                ("quantity", models.PositiveIntegerField()),
                (
                    "unit_price",
                    models.DecimalField(
                        decimal_places=2,
                        help_text="The replacement's price when asked for (the order charges nothing).",
                        max_digits=12,
                    ),
                ),
            ],
            options={
                "ordering": ["request_id", "id"],
            },
        ),
        migrations.CreateModel(
            name="ReturnRefund",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("key", models.CharField(max_length=100, unique=True)),
                ("amount", models.DecimalField(decimal_places=2, max_digits=12)),
                (
                    "restocking_fee",
                    models.DecimalField(decimal_places=2, default=Decimal("0"), max_digits=12),
                ),
                ("units", models.JSONField(default=list, help_text="The units refunded, per SKU.")),
                ("created_at", models.DateTimeField(auto_now_add=True)),
            ],
            options={
                "ordering": ["id"],
            },
        ),
        migrations.CreateModel(
            name="ReturnTrackingEvent",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("status", models.CharField(max_length=20)),
                ("occurred_at", models.DateTimeField()),
                ("external_id", models.CharField(max_length=100)),
                ("description", models.CharField(blank=True, max_length=300)),
                ("location", models.CharField(blank=True, max_length=120)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
            ],
            options={
                "ordering": ["occurred_at", "id"],
            },
        ),
        migrations.AddField(
            model_name="returnline",
            name="quantity_refunded",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="returnpolicy",
            name="refund_without_return_below",
            field=models.DecimalField(
                blank=True,
                decimal_places=2,
                help_text="A refund request worth less than this is refunded when it is approved and the customer keeps the items (empty: the items always come back first).",
                max_digits=12,
                null=True,
            ),
        ),
        migrations.AddField(
            model_name="returnpolicy",
            name="trust_exchanges",
            field=models.BooleanField(
                default=False,
                help_text="An exchange's replacement ships as soon as the return is approved, without waiting for the returned items.",
            ),
        ),
        migrations.AddField(
            model_name="returnrequest",
            name="carrier",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="shipping.carrier",
            ),
        ),
        migrations.AddField(
            model_name="returnrequest",
            name="delivered_at",
            field=models.DateTimeField(
                blank=True, help_text="When the carrier delivered the parcel to us.", null=True
            ),
        ),
        migrations.AddField(
            model_name="returnrequest",
            name="exchange_order",
            field=models.OneToOneField(
                blank=True,
                help_text="The replacement order of an exchange.",
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="exchange_for",
                to="orders.order",
            ),
        ),
        migrations.AddField(
            model_name="returnrequest",
            name="keep_items",
            field=models.BooleanField(default=False),
        ),
        migrations.AddField(
            model_name="returnrequest",
            name="resolution",
            field=models.CharField(
                choices=[
                    ("refund", "Refund to the original payment"),
                    ("exchange", "Exchange for a replacement"),
                    ("store_credit", "Store credit"),
                ],
                default="refund",
                max_length=16,
            ),
        ),
        migrations.AddField(
            model_name="returnrequest",
            name="tracking_number",
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.AddField(
            model_name="returnrequest",
            name="tracking_status",
            field=models.CharField(blank=True, max_length=20),
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
                    ("received", "Units received"),
                    ("refunded", "Refunded"),
                    ("refund_blocked", "Refund not made"),
                    ("exchange", "Exchange"),
                    ("closed", "Closed"),
                ],
                max_length=16,
            ),
        ),
        migrations.AddConstraint(
            model_name="returnline",
            constraint=models.CheckConstraint(
                condition=models.Q(("quantity_refunded__lte", models.F("quantity"))),
                name="return_line_refunded_within_quantity",
            ),
        ),
        migrations.AddConstraint(
            model_name="returnrequest",
            constraint=models.UniqueConstraint(
                condition=models.Q(("tracking_number", ""), _negated=True),
                fields=("carrier", "tracking_number"),
                name="return_request_tracking_number_unique",
            ),
        ),
        migrations.AddConstraint(
            model_name="returnrequest",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("tracking_number", ""), ("carrier__isnull", False), _connector="OR"
                ),
                name="return_request_tracking_has_carrier",
            ),
        ),
        migrations.AddField(
            model_name="returnexchangeline",
            name="product",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="inventory.product",
            ),
        ),
        migrations.AddField(
            model_name="returnexchangeline",
            name="request",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="exchange_lines",
                to="returns.returnrequest",
            ),
        ),
        migrations.AddField(
            model_name="returnrefund",
            name="refund",
            field=models.OneToOneField(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="return_refund",
                to="billing.refund",
            ),
        ),
        migrations.AddField(
            model_name="returnrefund",
            name="request",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="refunds",
                to="returns.returnrequest",
            ),
        ),
        migrations.AddField(
            model_name="returntrackingevent",
            name="request",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="tracking_events",
                to="returns.returnrequest",
            ),
        ),
        migrations.AddConstraint(
            model_name="returnexchangeline",
            constraint=models.CheckConstraint(
                condition=models.Q(("quantity__gt", 0)), name="return_exchange_line_qty_positive"
            ),
        ),
        migrations.AddConstraint(
            model_name="returnexchangeline",
            constraint=models.UniqueConstraint(
                fields=("request", "product"), name="return_exchange_line_product_unique"
            ),
        ),
        migrations.AddConstraint(
            model_name="returnrefund",
            constraint=models.CheckConstraint(
                condition=models.Q(("amount__gte", 0), ("restocking_fee__gte", 0)),
                name="return_refund_amounts_nonneg",
            ),
        ),
        migrations.AddConstraint(
            model_name="returntrackingevent",
            constraint=models.UniqueConstraint(
                fields=("request", "external_id"), name="return_tracking_event_unique"
            ),
        ),
    ]
