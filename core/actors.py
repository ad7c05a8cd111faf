"""Who did something: a staff user, an API client or the system itself.

Every event and ledger row records its actor with the same three columns
(``actor_kind``, ``actor_user``, ``actor_label``), filled from an ``Actor``.
"""

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import models

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser


class ActorKind(models.TextChoices):
    USER = "user", "Staff user"
    API = "api", "API client"
    CUSTOMER = "customer", "Customer"
    SYSTEM = "system", "System"


@dataclass(frozen=True)
class Actor:
    kind: str
    label: str
    user_id: int | None = None

    @classmethod
    def system(cls, label: str = "system") -> "Actor":
        return cls(kind=ActorKind.SYSTEM, label=label)

    @classmethod
    def for_user(cls, user: "AbstractBaseUser | AnonymousUser") -> "Actor":
        if not user.is_authenticated:
            raise ValueError("an anonymous user cannot act")
        return cls(kind=ActorKind.USER, label=user.get_username(), user_id=user.pk)

    @classmethod
    def api_client(cls, label: str) -> "Actor":
        return cls(kind=ActorKind.API, label=label)

    def as_fields(self) -> dict[str, Any]:
        return {"actor_kind": self.kind, "actor_user_id": self.user_id, "actor_label": self.label}


class ActorFields(models.Model):
    """Columns recording an ``Actor`` on an append-only row."""

    actor_kind = models.CharField(max_length=16, choices=ActorKind.choices)
    # PROTECT: append-only rows cannot be rewritten to forget who acted, so a staff
    # user who did something is deactivated, never deleted.
    actor_user = models.ForeignKey(
        "auth.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_label = models.CharField(max_length=150)

    class Meta:
        abstract = True

    @property
    def actor_display(self) -> str:
        return f"{self.get_actor_kind_display()}: {self.actor_label}"
