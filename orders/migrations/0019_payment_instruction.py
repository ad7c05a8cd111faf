from django.db import migrations, models


def methods_from_terms(apps, schema_editor):
    """Orders placed before orders carried a payment method: a company on terms paid
    by invoice (nothing to collect by card), everyone else by card (nothing was ever
    authorised: pending), as invoicing decided until now."""
    Order = apps.get_model("orders", "Order")
    Order.objects.filter(company__isnull=False).exclude(company__payment_terms="prepaid").update(
        payment_method="invoice", payment_status="none"
    )


class Migration(migrations.Migration):
    """The payment instruction of an order (method, provider token or storefront
    authorisation) and its derived payment status, filtered on in the console."""

    dependencies = [
        ("customers", "0004_storefront_api_keys"),
        ("orders", "0018_exposure_rule_from_sql_module"),
    ]

    operations = [
        migrations.AddField(
            model_name="order",
            name="payment_authorisation",
            field=models.CharField(
                blank=True,
                help_text="An authorisation the storefront already made with the provider.",
                max_length=255,
            ),
        ),
        migrations.AddField(
            model_name="order",
            name="payment_method",
            field=models.CharField(
                choices=[
                    ("card", "Card"),
                    ("invoice", "Invoice (payment terms)"),
                    ("store_credit", "Store credit"),
                ],
                default="card",
                max_length=16,
            ),
        ),
        migrations.AddField(
            model_name="order",
            name="payment_status",
            field=models.CharField(
                choices=[
                    ("none", "Not paid by card"),
                    ("pending", "Pending"),
                    ("authorised", "Authorised"),
                    ("partially_captured", "Partially captured"),
                    ("captured", "Captured"),
                    ("partially_refunded", "Partially refunded"),
                    ("refunded", "Refunded"),
                    ("voided", "Voided"),
                    ("failed", "Failed"),
                ],
                default="pending",
                max_length=24,
            ),
        ),
        migrations.AddField(
            model_name="order",
            name="payment_token",
            field=models.CharField(
                blank=True, help_text="The provider's opaque token of the card.", max_length=255
            ),
        ),
        migrations.AddIndex(
            model_name="order",
            index=models.Index(fields=["payment_status"], name="orders_orde_payment_bc131d_idx"),
        ),
        migrations.RunPython(methods_from_terms, migrations.RunPython.noop),
    ]
