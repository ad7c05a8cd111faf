"""OpenAPI description of the API's own conventions, for drf-spectacular: the
problem+json error responses every operation may give. (The bearer key's scheme is
described where the key is checked: ``customers.api.schema``.)

Each operation's 2xx responses come from its view. Its errors are added here by a
postprocessing hook, so that the schema names every status the API really answers
(schemathesis holds it to that in ``tests/api/test_fuzz.py``):

- every operation: 400 (bad input, a NUL in the URL), 401, 406 (an ``Accept`` the API
  cannot answer) and 429;
- with the bearer key: 403 (a key of the wrong kind for the endpoint);
- with a path parameter: 404 (unknown, or another tenant's);
- with a request body: 413 (over the upload limit) and 415 (not JSON);
- what a view declares with ``@problem_responses(409, 422)``: its domain refusals.
"""

from collections.abc import Callable
from typing import Any, TypeVar

from drf_spectacular.utils import extend_schema

from .errors import PROBLEM_CONTENT_TYPE

F = TypeVar("F", bound=Callable[..., Any])

PROBLEMS_EXTENSION = "x-oms-problems"  # carries a view's own codes to the hook
# The security scheme of the API key: an operation that requires it may answer 403.
KEY_SCHEME_NAME = "ApiKey"

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "An RFC 9457 problem. `code` is stable: branch on it, not on `title` "
    "or `detail`. Some codes add members (`fields`, `skus`, `lines`).",
    "properties": {
        "type": {"type": "string", "example": "/problems/insufficient_stock"},
        "title": {"type": "string", "example": "Conflict"},
        "status": {"type": "integer", "example": 409},
        "code": {"type": "string", "example": "insufficient_stock"},
        "detail": {"type": "string"},
        "fields": {"description": "`invalid_input` and friends: what is wrong, by field."},
    },
    "required": ["type", "title", "status", "code"],
}

STATUS_DESCRIPTIONS = {
    400: "Bad input: `malformed_request` (not JSON, nested too deep, NUL in text or in the "
    "URL), `invalid_input` (fields missing or wrong, an unknown address; `fields` names "
    "them), `idempotency_key_required`, `unknown_sku`.",
    401: "`not_authenticated`: no key, or an unknown or revoked one.",
    403: "`permission_denied`: the key is not of the kind this endpoint serves "
    "(company, storefront, vendor, ERP); `location_not_allowed`: a location's key naming "
    "another location; `not_an_approver`.",
    404: "`not_found`: unknown, or another tenant's.",
    406: "`not_acceptable`: the API answers JSON only.",
    409: "A conflict with the object's state (`insufficient_stock`, `order_not_cancellable`, "
    "`order_not_editable`, `fulfillment_started`, `order_on_hold`, `hold_not_open`, ...).",
    413: "`request_too_large`: the body is over the upload limit; `batch_too_large`: more "
    "orders than a batch takes.",
    415: "`unsupported_media_type`: send `application/json`.",
    422: "Well-formed but not acceptable: `invalid_order`, `unknown_shipping_method`, "
    "`po_number_required`, `idempotency_key_reused`, `invalid_batch`.",
    429: "`throttled`: over the rate; `Retry-After` says when to retry.",
}
HTTP_METHODS = {"get", "put", "patch", "post", "delete", "head", "options", "trace"}


def problem_responses(*codes: int) -> Callable[[F], F]:
    """Declare the domain refusals (409, 422, ...) a view method may answer; the
    generic ones are added to every operation by ``add_problem_responses``."""
    unknown = set(codes) - set(STATUS_DESCRIPTIONS)
    if unknown:
        raise ValueError(f"Describe status {sorted(unknown)} in STATUS_DESCRIPTIONS first.")
    return extend_schema(extensions={PROBLEMS_EXTENSION: sorted(codes)})


def _problem(status: int) -> dict[str, Any]:
    return {
        "description": STATUS_DESCRIPTIONS[status],
        "content": {PROBLEM_CONTENT_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


def _codes(operation: dict[str, Any], *, key_auth: bool) -> set[int]:
    codes = {400, 401, 406, 429, *operation.pop(PROBLEMS_EXTENSION, [])}
    if key_auth:
        codes.add(403)
    if any(p.get("in") == "path" for p in operation.get("parameters", [])):
        codes.add(404)
    if "requestBody" in operation:
        codes |= {413, 415}
    return codes


def add_problem_responses(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: the error responses of every operation."""
    result.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    for operations in result.get("paths", {}).values():
        for method, operation in operations.items():
            if method not in HTTP_METHODS:
                continue
            key_auth = any(KEY_SCHEME_NAME in option for option in operation.get("security", []))
            responses = operation.setdefault("responses", {})
            for status in sorted(_codes(operation, key_auth=key_auth)):
                responses.setdefault(str(status), _problem(status))
    return result
