"""The notification log now belongs to orders; its table stays where it is.

The content type moved with ``orders.0017``. Migrating oms back to 0003 alone leaves the
model in both apps' state for a while, and Django then creates an oms content type (and
permissions) for it again; coming forward, that duplicate of the moved one is dropped
here, so the model has one content type. Its reverse does nothing.
"""

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps


def drop_duplicate_content_type(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    content_type = apps.get_model("contenttypes", "ContentType")
    rows = content_type.objects.using(schema_editor.connection.alias)
    if rows.filter(app_label="orders", model="notification").exists():
        rows.filter(app_label="oms", model="notification").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("oms", "0003_outbox_event_moved_to_core"),
        ("orders", "0017_notification_log_moved"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="Notification")],
            database_operations=[],
        ),
        migrations.RunPython(
            drop_duplicate_content_type, migrations.RunPython.noop, elidable=False
        ),
    ]
