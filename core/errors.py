"""Domain errors. Each carries a stable ``code`` that the API and admin show as-is."""

from typing import Any


class DomainError(Exception):
    """A rule of the business was broken; nothing was written."""

    code = "domain_error"
    status = 400

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class InvalidInput(DomainError):
    code = "invalid_input"
    status = 400


class NotFound(DomainError):
    code = "not_found"
    status = 404


class NotAllowed(DomainError):
    """The caller is known but this decision is not theirs to take."""

    code = "not_allowed"
    status = 403


class Conflict(DomainError):
    code = "conflict"
    status = 409


class InvalidTransition(Conflict):
    code = "invalid_transition"
