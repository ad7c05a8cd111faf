from django.db import migrations

from orders import sql


def create_from_module(apps, schema_editor):
    """The exposure trigger function and its triggers, from ``orders.sql``: the credit
    rule's statuses are stated once, in ``orders.sql.EXPOSURE_STATUSES``. The function
    keeps the rule 0012 froze; only its text now comes from the module."""
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(sql.exposure_function_sql())
    for statement in sql.exposure_triggers_sql():
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
