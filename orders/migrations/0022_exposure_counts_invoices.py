from decimal import Decimal

import django.db.models.deletion
from django.db import migrations, models

from orders import sql

# The trigger function as 0018 created it (open orders counted at their grand total),
# to put back when going back.
PREVIOUS_BODY = """
DECLARE
    my_slot smallint := mod(txid_current(), 8)::smallint;
    removed numeric := 0;
    added numeric := 0;
BEGIN
    IF TG_OP <> 'INSERT' AND OLD.company_id IS NOT NULL AND OLD.status IN ('placed', 'processing') THEN
        removed := OLD.grand_total;
    END IF;
    IF TG_OP <> 'DELETE' AND NEW.company_id IS NOT NULL AND NEW.status IN ('placed', 'processing') THEN
        added := NEW.grand_total;
    END IF;
    IF TG_OP = 'UPDATE' AND OLD.company_id IS NOT DISTINCT FROM NEW.company_id THEN
        added := added - removed;
        removed := 0;
    END IF;
    IF removed <> 0 THEN
        INSERT INTO orders_companyexposure (company_id, slot, open_orders_total)
        VALUES (OLD.company_id, my_slot, -removed)
        ON CONFLICT (company_id, slot) DO UPDATE SET open_orders_total =
            orders_companyexposure.open_orders_total + EXCLUDED.open_orders_total;
    END IF;
    IF added <> 0 THEN
        INSERT INTO orders_companyexposure (company_id, slot, open_orders_total)
        VALUES (NEW.company_id, my_slot, added)
        ON CONFLICT (company_id, slot) DO UPDATE SET open_orders_total =
            orders_companyexposure.open_orders_total + EXCLUDED.open_orders_total;
    END IF;
    RETURN NULL;
END;
"""  # noqa: E501 - the function's source, as PostgreSQL stores it

PREVIOUS_UPDATE_TRIGGER = (
    "CREATE CONSTRAINT TRIGGER orders_order_exposure_update AFTER UPDATE OF status, "
    "grand_total, company_id ON orders_order DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
    "WHEN ((OLD.status, OLD.grand_total, OLD.company_id) IS DISTINCT FROM "
    "(NEW.status, NEW.grand_total, NEW.company_id)) "
    "EXECUTE FUNCTION orders_track_company_exposure()"
)


def create_from_module(apps, schema_editor):
    """The exposure function and triggers from ``orders.sql``: an open order counts
    what it has not invoiced on terms yet. Every order has nothing invoiced on terms
    when this runs (the column is new), so the slots' sums stay right; billing's
    migration then fills the column and the receivables, through the trigger."""
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(sql.exposure_function_sql())
    for statement in sql.exposure_triggers_sql():
        schema_editor.execute(statement)


def restore_previous(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f"CREATE OR REPLACE FUNCTION {sql.EXPOSURE_FUNCTION}() RETURNS trigger AS "
        f"$${PREVIOUS_BODY}$$ LANGUAGE plpgsql"
    )
    schema_editor.execute("DROP TRIGGER IF EXISTS orders_order_exposure_update ON orders_order")
    schema_editor.execute(PREVIOUS_UPDATE_TRIGGER)


class Migration(migrations.Migration):
    """The credit exposure counts unpaid invoices on terms once: an open order counts
    what it has not invoiced on terms (``Order.invoiced_on_terms``, kept by billing),
    and the invoices' balances are ``OpenReceivable`` rows. Going back, billing's
    migration has emptied the column (and the slots hold the orders' totals again)."""

    dependencies = [
        ("customers", "0005_store_credit"),
        ("orders", "0021_exchange_hold_and_return_steps"),
    ]

    operations = [
        migrations.AddField(
            model_name="order",
            name="invoiced_on_terms",
            field=models.DecimalField(
                decimal_places=2, default=Decimal("0"), editable=False, max_digits=14
            ),
        ),
        migrations.CreateModel(
            name="OpenReceivable",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("invoice_number", models.CharField(max_length=32, unique=True)),
                ("due_date", models.DateField()),
                ("balance_due", models.DecimalField(decimal_places=2, max_digits=14)),
                (
                    "company",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="open_receivables",
                        to="customers.company",
                    ),
                ),
            ],
            options={
                "indexes": [
                    models.Index(fields=["company", "due_date"], name="open_receivable_company_due")
                ],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("balance_due__gt", 0)),
                        name="open_receivable_balance_positive",
                    )
                ],
            },
        ),
        migrations.RunPython(create_from_module, restore_previous),
    ]
