from django.db import migrations

TABLES = ("inventory_stockmovement",)


def create_guard(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        """
        CREATE OR REPLACE FUNCTION oms_refuse_ledger_rewrite() RETURNS trigger AS $$
        BEGIN
            RAISE EXCEPTION USING
                MESSAGE = 'ledger rows are append-only: ' || TG_OP || ' on ' || TG_TABLE_NAME,
                ERRCODE = 'restrict_violation';
        END;
        $$ LANGUAGE plpgsql;
        """
    )
    for table in TABLES:
        schema_editor.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION oms_refuse_ledger_rewrite()"
        )


def drop_guard(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
    schema_editor.execute("DROP FUNCTION IF EXISTS oms_refuse_ledger_rewrite()")


class Migration(migrations.Migration):
    """The stock ledger can only grow: PostgreSQL refuses UPDATE and DELETE on it."""

    dependencies = [("inventory", "0001_initial")]

    operations = [migrations.RunPython(create_guard, drop_guard)]
