"""The failed log-ins that django-axes recorded, with an action that lifts a lockout; the
work queues page registers from ``oms.queues``."""

from axes.admin import AccessAttemptAdmin
from axes.models import AccessAttempt
from axes.utils import reset
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from . import queues  # noqa: F401 - registers the work queues page

# Axes registers its own admin for the model when its app loads; ``oms`` loads after it.
if admin.site.is_registered(AccessAttempt):
    admin.site.unregister(AccessAttempt)


@admin.register(AccessAttempt)
class LoginAttemptAdmin(AccessAttemptAdmin):
    actions = [*AccessAttemptAdmin.actions, "unlock"]

    @admin.action(
        description="Unlock: forget the failed log-ins of these users from these addresses",
        permissions=["delete"],
    )
    def unlock(self, request: HttpRequest, queryset: QuerySet[AccessAttempt]) -> None:
        pairs = sorted(set(queryset.values_list("username", "ip_address")), key=str)
        for username, ip_address in pairs:
            reset(ip=ip_address, username=username)
        unlocked = ", ".join(f"{username or '(no username)'} from {ip}" for username, ip in pairs)
        self.message_user(request, f"Unlocked: {unlocked}.", messages.SUCCESS)
