from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _sync_staff_groups(sender: AppConfig, **kwargs: Any) -> None:
    # oms.roles imports auth models, which cannot load while this module is imported
    # (the app registry is not ready yet).
    from oms.roles import sync_staff_groups  # noqa: PLC0415 - app registry, see above

    sync_staff_groups(using=kwargs.get("using", "default"))


class OmsConfig(AppConfig):
    name = "oms"
    verbose_name = "OMS"

    def ready(self) -> None:
        # Groups are code, not data: after every migrate they are brought back to the
        # permission sets in ``oms.roles``. ``oms`` is the last installed app, so every
        # other app's permissions exist by the time this runs.
        post_migrate.connect(_sync_staff_groups, sender=self, dispatch_uid="oms-sync-groups")
        # Messages about an order carry links to the customer's pages (status,
        # preferences, one-click unsubscribe), which sit above the apps that send them.
        from orders.notifications import register_message_links  # noqa: PLC0415 - registry
        from selfservice.preferences import message_links  # noqa: PLC0415 - registry

        register_message_links(message_links)
        # Every task's log lines carry its id and its request's; its run is timed
        # (Celery's own task hooks: the apps use none).
        from oms import logging as oms_logging  # noqa: PLC0415 - app registry
        from oms import metrics  # noqa: PLC0415 - app registry

        oms_logging.connect_celery_hooks()
        metrics.connect_celery_hooks()
