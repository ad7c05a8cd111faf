"""The notification log, moved from the project app to orders without touching the data.

Only Django's model state moves: the table keeps its name (``oms_notification``), its
rows, its unique index on ``dedupe_key`` and its foreign key to the order. The content
type follows, so permissions on it keep their ids.

While only one of the two apps is migrated back, the model is in both apps' state and
Django's post_migrate makes a second content type (and permissions) for it. The content
type that moves is the one that has always been there; one already waiting where it
goes is such a duplicate, dropped so that the model keeps one content type, its own.
"""

import django.db.models.deletion
from django.db import migrations, models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps


def move_content_type(old: str, new: str):
    def run(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
        content_type = apps.get_model("contenttypes", "ContentType")
        rows = content_type.objects.using(schema_editor.connection.alias)
        moving = rows.filter(app_label=old, model="notification")
        if moving.exists():
            rows.filter(app_label=new, model="notification").delete()
            moving.update(app_label=new)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        # Dropping a duplicate content type deletes its permissions and sets its admin
        # log entries' to NULL.
        ("auth", "0012_alter_user_first_name_max_length"),
        ("admin", "0003_logentry_add_action_flag_choices"),
        ("oms", "0003_outbox_event_moved_to_core"),
        ("orders", "0016_shipping_method_moved"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Notification",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("dedupe_key", models.CharField(max_length=200, unique=True)),
                        (
                            "channel",
                            models.CharField(
                                choices=[("email", "E-mail"), ("sms", "SMS")], max_length=8
                            ),
                        ),
                        ("event", models.CharField(max_length=32)),
                        ("recipient", models.CharField(max_length=254)),
                        ("subject", models.CharField(blank=True, max_length=200)),
                        (
                            "status",
                            models.CharField(
                                choices=[
                                    ("sending", "Sending"),
                                    ("sent", "Sent"),
                                    ("failed", "Failed"),
                                    ("skipped", "Skipped (customer opted out)"),
                                ],
                                max_length=16,
                            ),
                        ),
                        ("error", models.CharField(blank=True, max_length=300)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("claimed_at", models.DateTimeField(blank=True, null=True)),
                        ("sent_at", models.DateTimeField(blank=True, null=True)),
                        (
                            "order",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="notifications",
                                to="orders.order",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "oms_notification",
                        "ordering": ["-id"],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(
            move_content_type("oms", "orders"), move_content_type("orders", "oms"), elidable=False
        ),
    ]
