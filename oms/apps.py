from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _sync_staff_groups(sender: AppConfig, **kwargs: Any) -> None:
    from oms.roles import sync_staff_groups

    sync_staff_groups(using=kwargs.get("using", "default"))


class OmsConfig(AppConfig):
    name = "oms"
    verbose_name = "OMS"

    def ready(self) -> None:
        from oms.api import schema  # noqa: F401 - registers the API key scheme

        # Groups are code, not data: after every migrate they are brought back to the
        # permission sets in ``oms.roles``. ``oms`` is the last installed app, so every
        # other app's permissions exist by the time this runs.
        post_migrate.connect(_sync_staff_groups, sender=self, dispatch_uid="oms-sync-groups")
