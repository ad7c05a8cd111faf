"""What an integrity check reports: one ``Violation`` per broken invariant.

Each app checks its own tables (``inventory.integrity``, ``orders.integrity``,
``fulfillment.integrity``); ``oms.integrity`` runs them all for the
``check_integrity`` command.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Violation:
    """One broken invariant: ``check`` names the kind (stable, for scripts and alerts),
    ``subject`` the row it was found on, ``detail`` what is wrong, in words."""

    check: str
    subject: str
    detail: str

    def __str__(self) -> str:
        return f"{self.check}: {self.subject}: {self.detail}"
