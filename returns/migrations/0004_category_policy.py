import django.db.models.deletion
from django.db import migrations, models
from django.db.models import Q


class Migration(migrations.Migration):
    dependencies = [("returns", "0003_resolution"), ("inventory", "0008_product_category")]

    operations = [
        migrations.RemoveConstraint(model_name="returnpolicy", name="return_policy_scope_target"),
        migrations.AddField(
            model_name="returnpolicy",
            name="category",
            field=models.ForeignKey(
                blank=True,
                help_text="The product category this rule covers (scope: one product category).",
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="inventory.productcategory",
            ),
        ),
        migrations.AlterField(
            model_name="returnpolicy",
            name="scope",
            field=models.CharField(
                choices=[
                    ("default", "Everyone (default)"),
                    ("category", "One product category"),
                    ("sku", "One product"),
                    ("company", "One company"),
                ],
                max_length=16,
            ),
        ),
        migrations.AddConstraint(
            model_name="returnpolicy",
            constraint=models.CheckConstraint(
                condition=(
                    Q(
                        scope="default",
                        product__isnull=True,
                        category__isnull=True,
                        company__isnull=True,
                    )
                    | Q(
                        scope="category",
                        product__isnull=True,
                        category__isnull=False,
                        company__isnull=True,
                    )
                    | Q(
                        scope="sku",
                        product__isnull=False,
                        category__isnull=True,
                        company__isnull=True,
                    )
                    | Q(
                        scope="company",
                        product__isnull=True,
                        category__isnull=True,
                        company__isnull=False,
                    )
                ),
                name="return_policy_scope_target",
            ),
        ),
        migrations.AddConstraint(
            model_name="returnpolicy",
            constraint=models.UniqueConstraint(
                condition=Q(is_active=True, category__isnull=False),
                fields=("category",),
                name="return_policy_one_active_per_category",
            ),
        ),
    ]
