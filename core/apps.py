from django.apps import AppConfig


class CoreConfig(AppConfig):
    """The ground every app stands on. Its one table is the outbox."""

    name = "core"
    verbose_name = "Core"
