"""Refuse a NUL byte in the URL before anything looks it up.

PostgreSQL cannot hold NUL in text, so a path or query string carrying one
(``/api/v1/orders/%00/``, ``?sku=%00``) would reach the database as a lookup and fail
there. No URL of ours has a use for it: the request is refused at the door, as
problem+json under ``/api/`` and as a plain 400 elsewhere.
"""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest

from .errors import is_api_request, problem_response

NUL_DETAIL = "The URL contains a NUL character (%00), which no address here accepts."


def url_has_nul(request: HttpRequest) -> bool:
    # The query string is still percent-encoded; the path is already decoded.
    query = request.META.get("QUERY_STRING", "")
    return "\x00" in request.path or "%00" in query or "\x00" in query


class RefuseNulInUrlMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if url_has_nul(request):
            if is_api_request(request):
                return problem_response(
                    status_code=400, code="malformed_request", detail=NUL_DETAIL
                )
            return HttpResponseBadRequest(NUL_DETAIL, content_type="text/plain; charset=utf-8")
        return self.get_response(request)
