from django.db import migrations

# The exposure function and triggers as this migration created them from ``orders.sql``
# (open orders counted at their grand total). Frozen here since the module's text
# changed (0022 counts invoices on terms, with a column this migration predates): a
# migration runs the text of its own time.
FUNCTION_BODY = """
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

TRIGGERS = [
    "DROP TRIGGER IF EXISTS orders_order_exposure_insert ON orders_order",
    "CREATE CONSTRAINT TRIGGER orders_order_exposure_insert AFTER INSERT ON orders_order DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NEW.company_id IS NOT NULL AND NEW.status IN ('placed', 'processing')) EXECUTE FUNCTION orders_track_company_exposure()",  # noqa: E501
    "DROP TRIGGER IF EXISTS orders_order_exposure_update ON orders_order",
    "CREATE CONSTRAINT TRIGGER orders_order_exposure_update AFTER UPDATE OF status, grand_total, company_id ON orders_order DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN ((OLD.status, OLD.grand_total, OLD.company_id) IS DISTINCT FROM (NEW.status, NEW.grand_total, NEW.company_id)) EXECUTE FUNCTION orders_track_company_exposure()",  # noqa: E501
    "DROP TRIGGER IF EXISTS orders_order_exposure_delete ON orders_order",
    "CREATE CONSTRAINT TRIGGER orders_order_exposure_delete AFTER DELETE ON orders_order DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (OLD.company_id IS NOT NULL AND OLD.status IN ('placed', 'processing')) EXECUTE FUNCTION orders_track_company_exposure()",  # noqa: E501
]


def create_from_module(apps, schema_editor):
    """The exposure trigger function and its triggers, as ``orders.sql`` wrote them from
    ``EXPOSURE_STATUSES`` then. The function keeps the rule 0012 froze."""
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        "CREATE OR REPLACE FUNCTION orders_track_company_exposure() RETURNS trigger AS "
        f"$${FUNCTION_BODY}$$ LANGUAGE plpgsql"
    )
    for statement in TRIGGERS:
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    """The credit exposure trigger is written from ``orders.sql`` (one statement of
    the rule); 0012 keeps its frozen copy. Going back leaves the function in place: it
    applies the same rule as 0012's."""

    dependencies = [
        ("orders", "0017_notification_log_moved"),
    ]

    operations = [
        migrations.RunPython(create_from_module, migrations.RunPython.noop),
    ]
