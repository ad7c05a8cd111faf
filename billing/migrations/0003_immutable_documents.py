from django.db import migrations

# Table -> columns that may still change once the row is written; every other column
# is frozen (billing.models.INVOICE_MUTABLE_COLUMNS, CREDIT_NOTE_MUTABLE_COLUMNS).
GUARDED = {
    "billing_invoice": ("status", "amount_paid", "paid_at", "pdf"),
    "billing_invoiceline": (),
    "billing_creditnote": ("pdf",),
    "billing_creditnoteline": (),
}


def create_guard(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    # The row as JSON minus the mutable columns must not change: a column added later
    # is frozen too unless it is added to the trigger's arguments.
    schema_editor.execute(
        """
        CREATE OR REPLACE FUNCTION billing_refuse_document_rewrite() RETURNS trigger AS $$
        BEGIN
            IF TG_OP = 'UPDATE'
               AND (to_jsonb(NEW) - TG_ARGV) = (to_jsonb(OLD) - TG_ARGV) THEN
                RETURN NEW;
            END IF;
            RAISE EXCEPTION USING
                MESSAGE = 'issued documents are immutable: ' || TG_OP || ' on ' || TG_TABLE_NAME,
                ERRCODE = 'restrict_violation';
        END;
        $$ LANGUAGE plpgsql;
        """
    )
    for table, mutable in GUARDED.items():
        arguments = ", ".join(f"'{column}'" for column in mutable)
        schema_editor.execute(
            f"CREATE TRIGGER {table}_immutable BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION billing_refuse_document_rewrite({arguments})"
        )


def drop_guard(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in GUARDED:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_immutable ON {table}")
    schema_editor.execute("DROP FUNCTION IF EXISTS billing_refuse_document_rewrite()")


class Migration(migrations.Migration):
    """Issued invoices and credit notes cannot be rewritten or deleted: PostgreSQL
    refuses it, as it does for the stock ledger. Corrections are new credit notes."""

    dependencies = [("billing", "0002_payment_terms_rules")]

    operations = [migrations.RunPython(create_guard, drop_guard)]
