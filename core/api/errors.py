"""Every API error is ``application/problem+json`` (RFC 9457) with a stable ``code``.

DRF views answer through ``handle_exception``; what fails before or outside a view
(a URL that matches nothing, a body over the upload limit, a NUL byte in the URL, an
unexpected error) answers through ``problem_response`` and the project's error
handlers, so a client of ``/api/`` never gets an HTML page.
"""

import json
import logging
from http import HTTPStatus
from typing import Any

from django.conf import settings
from django.core.exceptions import (
    PermissionDenied,
    RequestDataTooBig,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from core.errors import DomainError

logger = logging.getLogger(__name__)

PROBLEM_CONTENT_TYPE = "application/problem+json"
# Seconds a client should wait before retrying when the database cannot be reached
# (restarting, failing over, out of connections). CONN_HEALTH_CHECKS replaces a dead
# connection on the next request, so the service recovers on its own once it is back.
DATABASE_RETRY_AFTER_SECONDS = 5
API_PREFIX = "/api/"


class RequestTooLarge(exceptions.APIException):
    """The body is over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (or holds too many fields or
    files): nothing of it is read further."""

    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "request_too_large"


# Django refuses these while reading a body; each means "too much", not "malformed".
TOO_LARGE = (RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent)

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
    RequestTooLarge: "request_too_large",
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
    return HTTPStatus(status_code).phrase


def problem_response(*, status_code: int, code: str, detail: str = "") -> HttpResponse:
    """A problem as a plain Django response, for answers given outside DRF's views."""
    body = {
        "type": f"/problems/{code}",
        "title": _title(status_code),
        "status": status_code,
        "code": code,
        **({"detail": detail} if detail else {}),
    }
    return HttpResponse(json.dumps(body), status=status_code, content_type=PROBLEM_CONTENT_TYPE)


def is_api_request(request: HttpRequest) -> bool:
    return request.path_info.startswith(API_PREFIX)


def too_large_detail() -> str:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    size = f" (at most {limit:,} bytes)" if limit else ""
    return f"The request body is too large{size}."


# --- the project's error handlers (``handler400`` and friends in ``oms.urls``) ------


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if not is_api_request(request):
        return defaults.bad_request(request, exception)
    if isinstance(exception, TOO_LARGE):
        return problem_response(
            status_code=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
            code="request_too_large",
            detail=too_large_detail(),
        )
    return problem_response(
        status_code=status.HTTP_400_BAD_REQUEST,
        code="malformed_request",
        detail="The request could not be read.",
    )


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if not is_api_request(request):
        return defaults.page_not_found(request, exception)
    return problem_response(
        status_code=status.HTTP_404_NOT_FOUND,
        code="not_found",
        detail="There is no such endpoint.",
    )


def server_error(request: HttpRequest) -> HttpResponse:
    if not is_api_request(request):
        return defaults.server_error(request)
    return problem_response(
        status_code=status.HTTP_500_INTERNAL_SERVER_ERROR,
        code="server_error",
        detail="Something went wrong on our side; it has been logged.",
    )


def database_unavailable(exc: Exception) -> Response:
    """503 with Retry-After for a database that cannot be reached or dropped the
    connection: the transaction was rolled back, and the same request (with the same
    Idempotency-Key) can be sent again."""
    logger.warning("database unavailable: %s: %s", exc.__class__.__name__, exc)
    result = problem(
        status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
        code="service_unavailable",
        title=_title(status.HTTP_503_SERVICE_UNAVAILABLE),
        detail=(
            "The service cannot reach its database just now. Send the request again in "
            f"{DATABASE_RETRY_AFTER_SECONDS} seconds, with the same Idempotency-Key for "
            "an order, so that it is placed once."
        ),
    )
    result["Retry-After"] = str(DATABASE_RETRY_AFTER_SECONDS)
    return result


def handle_exception(exc: Exception, context: dict[str, Any]) -> Response | None:
    # OperationalError: the server is down, restarting or refused the connection (a
    # deadlock or serialization failure, transient too, lands here as well);
    # InterfaceError: the connection was already closed under us.
    if isinstance(exc, OperationalError | InterfaceError):
        return database_unavailable(exc)
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
    elif isinstance(exc, TOO_LARGE):
        exc = RequestTooLarge(too_large_detail())
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
