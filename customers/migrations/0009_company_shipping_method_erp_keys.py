"""A company's default shipping method (what its new drafts ship with), and a fourth
kind of API key: an ERP's, which records and receives purchase orders for every
location. The one-kind-of-owner CHECK is replaced by one that knows the new kind; the
three kinds before it keep their rows as they are (``is_erp`` is false on all of them).
"""

import django.db.models.deletion
from django.db import migrations, models

COMPANY_METHOD_HELP = (
    "What new draft orders for this company ship with. Empty: the method of its latest "
    "order, else the cheapest that ships."
)


def one_kind_of_owner() -> models.CheckConstraint:
    """Exactly one kind: company (with its buyer), vendor, storefront or ERP."""
    nobody = {"company__isnull": True, "buyer__isnull": True, "vendor__isnull": True}
    return models.CheckConstraint(
        condition=models.Q(
            company__isnull=False,
            buyer__isnull=False,
            vendor__isnull=True,
            is_storefront=False,
            is_erp=False,
        )
        | models.Q(
            company__isnull=True,
            buyer__isnull=True,
            vendor__isnull=False,
            is_storefront=False,
            is_erp=False,
        )
        | models.Q(**nobody, is_storefront=True, is_erp=False)
        | models.Q(**nobody, is_storefront=False, is_erp=True),
        name="api_key_one_kind_of_owner",
    )


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0008_search_indexes"),
        ("shipping", "0002_carrier_offers_return_pickup"),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="apikey", name="api_key_one_kind_of_owner"),
        migrations.AddField(
            model_name="apikey",
            name="is_erp",
            field=models.BooleanField(
                default=False,
                help_text="An ERP or back-office system: records purchase orders and their "
                "receipts for every location; places no orders.",
                verbose_name="ERP",
            ),
        ),
        migrations.AddConstraint(model_name="apikey", constraint=one_kind_of_owner()),
        migrations.AddField(
            model_name="company",
            name="default_shipping_method",
            field=models.ForeignKey(
                blank=True,
                help_text=COMPANY_METHOD_HELP,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="default_for_companies",
                to="shipping.shippingmethod",
            ),
        ),
        migrations.AddField(
            model_name="historicalcompany",
            name="default_shipping_method",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                help_text=COMPANY_METHOD_HELP,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="shipping.shippingmethod",
            ),
        ),
    ]
