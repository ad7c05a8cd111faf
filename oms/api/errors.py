"""Every API error is ``application/problem+json`` (RFC 9457) with a stable ``code``."""

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from oms.core.errors import DomainError

PROBLEM_CONTENT_TYPE = "application/problem+json"

DRF_CODES = {
    exceptions.ParseError: "malformed_request",
    exceptions.AuthenticationFailed: "not_authenticated",
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "throttled",
    exceptions.ValidationError: "invalid_input",
}


def problem(*, status_code: int, code: str, title: str, detail: str = "", **extra: Any) -> Response:
    body = {
        "type": f"/problems/{code}",
        "title": title,
        "status": status_code,
        "code": code,
        **({"detail": detail} if detail else {}),
        **extra,
    }
    return Response(body, status=status_code, content_type=PROBLEM_CONTENT_TYPE)


def _title(status_code: int) -> str:
    from http import HTTPStatus

    return HTTPStatus(status_code).phrase


def handle_exception(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DomainError):
        return problem(
            status_code=exc.status,
            code=exc.code,
            title=_title(exc.status),
            detail=exc.message,
            **{k: v for k, v in exc.details.items() if k not in ("shortages",)},
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = exception_handler(exc, context)
    if response is None or not isinstance(exc, exceptions.APIException):
        return response
    code = next((c for cls, c in DRF_CODES.items() if isinstance(exc, cls)), "error")
    extra: dict[str, Any] = {}
    if isinstance(exc, exceptions.ValidationError):
        detail = "The request is not valid."
        extra["fields"] = exc.detail
    else:
        detail = str(exc.detail)
    if isinstance(exc, exceptions.ParseError):
        detail = f"The request body could not be parsed: {exc.detail}"
    result = problem(
        status_code=response.status_code,
        code=code,
        title=_title(response.status_code),
        detail=detail,
        **extra,
    )
    for header, value in response.items():
        if header.lower() in ("retry-after", "www-authenticate", "allow"):
            result[header] = value
    if response.status_code == status.HTTP_429_TOO_MANY_REQUESTS and "Retry-After" not in result:
        result["Retry-After"] = "1"
    return result
