from django.db import migrations

# The columns a pending ledger row takes once, when it is finished
# (billing.models.TRANSACTION_FINISH_COLUMNS); every other column never changes.
FINISH_COLUMNS = (
    "outcome",
    "error_code",
    "error_message",
    "provider_reference",
    "raw_response",
    "finished_at",
)


def create_guard(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        """
        CREATE OR REPLACE FUNCTION billing_payment_ledger_append_only() RETURNS trigger AS $$
        BEGIN
            IF TG_OP = 'UPDATE'
               AND OLD.outcome = 'pending'
               AND NEW.outcome <> 'pending'
               AND (to_jsonb(NEW) - TG_ARGV) = (to_jsonb(OLD) - TG_ARGV) THEN
                RETURN NEW;
            END IF;
            RAISE EXCEPTION USING
                MESSAGE = 'the payment ledger is append-only: ' || TG_OP
                    || ' of transaction ' || OLD.id || ' refused',
                ERRCODE = 'restrict_violation';
        END;
        $$ LANGUAGE plpgsql;
        """
    )
    arguments = ", ".join(f"'{column}'" for column in FINISH_COLUMNS)
    schema_editor.execute(
        "CREATE TRIGGER billing_paymenttransaction_append_only "
        "BEFORE UPDATE OR DELETE ON billing_paymenttransaction "
        f"FOR EACH ROW EXECUTE FUNCTION billing_payment_ledger_append_only({arguments})"
    )


def drop_guard(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        "DROP TRIGGER IF EXISTS billing_paymenttransaction_append_only "
        "ON billing_paymenttransaction"
    )
    schema_editor.execute("DROP FUNCTION IF EXISTS billing_payment_ledger_append_only()")


class Migration(migrations.Migration):
    """The payment ledger is append-only, like the stock ledger: a pending attempt is
    finished once (its outcome and the provider's answer); its amount, kind and
    idempotency key never change, and no row is deleted."""

    dependencies = [("billing", "0004_payments")]

    operations = [migrations.RunPython(create_guard, drop_guard)]
