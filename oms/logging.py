"""Structured logs (docs/operations.md, "Observability").

Every log line carries the request id, the order, the API client and the Celery task it
belongs to (``core.logging_context``):

- ``RequestContextMiddleware`` gives each request its id (the caller's ``X-Request-ID``
  when it sends a usable one, else a new one), answers it in ``X-Request-ID``, binds
  the order of order URLs and the API client once authenticated, and writes one line
  per request (``oms.request``);
- the outbox carries the request's fields into the events it writes, and Celery's task
  hooks (``connect_celery_hooks``) bind the task's name and id, plus the fields of the
  request that sent the task directly (message headers);
- ``ContextFilter`` puts the fields on each record; ``JsonFormatter`` writes one JSON
  object per line (production), ``TextFormatter`` a readable line (the demo).
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from django.http import HttpRequest, HttpResponse

from core import logging_context

REQUEST_ID_HEADER = "X-Request-ID"
# A caller's id is kept when it is short and plain; anything else gets a new one, so a
# log line never carries a caller's arbitrary text.
USABLE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,100}")
# The message header that carries a request's fields into a task it sends directly.
TASK_HEADER = "oms_log"

request_logger = logging.getLogger("oms.request")
task_logger = logging.getLogger("oms.task")


def new_request_id() -> str:
    return uuid.uuid4().hex


def api_client_of(request: HttpRequest) -> str | None:
    """The API client that sent the request, once the API has authenticated it. Reads
    only what is set already: the console's lazy user is never loaded for a log line."""
    # Imported here: the formatters of this module are loaded with the logging
    # settings, before the app registry is ready.
    from customers.api.authentication import ApiClient  # noqa: PLC0415 - see above

    user = request.__dict__.get("user")
    if type(user) is ApiClient:
        return user.actor.label
    return None


class RequestContextMiddleware:
    """Binds the request's id (and, as they become known, its order and API client) for
    every log line the request writes and every task it causes; logs the request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        sent = request.headers.get(REQUEST_ID_HEADER, "")
        request_id = sent if USABLE_REQUEST_ID.fullmatch(sent) else new_request_id()
        started = time.perf_counter()
        token = logging_context.bind(request_id=request_id)
        client_token = logging_context.add_source(lambda: _client_fields(request))
        try:
            response = self.get_response(request)
            response[REQUEST_ID_HEADER] = request_id
            elapsed_ms = (time.perf_counter() - started) * 1000
            request_logger.info(
                "%s %s %s %.1fms",
                request.method,
                request.path,
                response.status_code,
                elapsed_ms,
                extra={
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "duration_ms": round(elapsed_ms, 1),
                },
            )
            return response
        finally:
            logging_context.remove_source(client_token)
            logging_context.reset(token)

    def process_view(
        self, request: HttpRequest, view: Any, args: Any, kwargs: dict[str, Any]
    ) -> None:
        # Order URLs name the order by its number (/api/v1/orders/<number>/...).
        number = kwargs.get("number")
        if isinstance(number, str) and number:
            # Left bound until __call__ resets the whole request's context.
            logging_context.bind(order=number)


def _client_fields(request: HttpRequest) -> dict[str, str]:
    client = api_client_of(request)
    return {"api_client": client} if client else {}


class ContextFilter(logging.Filter):
    """Puts the bound fields on each record ("-" when unknown), for the formatters."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = logging_context.current()
        for field in logging_context.FIELDS:
            if not hasattr(record, field):
                setattr(record, field, context.get(field, "-"))
        return True


class TextFormatter(logging.Formatter):
    """One readable line: time, level, logger, the bound fields that are known, message."""

    def format(self, record: logging.LogRecord) -> str:
        fields = " ".join(
            f"{field}={value}"
            for field in logging_context.FIELDS
            if (value := getattr(record, field, "-")) not in ("-", None)
        )
        head, separator, rest = super().format(record).partition(" | ")
        if not separator:
            return f"{head} [{fields}]" if fields else head
        return f"{head} [{fields}] {rest}" if fields else f"{head} {rest}"


# Attributes every LogRecord has; anything else came in through ``extra``.
_RECORD_ATTRIBUTES = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "taskName",
}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, the bound
    fields, anything passed in ``extra``, and the traceback of an exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key in _RECORD_ATTRIBUTES or key.startswith("_"):
                continue
            if key in logging_context.FIELDS and value in ("-", None):
                continue
            entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


# --- Celery task hooks -------------------------------------------------------------
# By task id (an inline task may run inside another): the token that restores the
# context bound before the task, and when the task started.
_task_tokens: dict[str, tuple[Any, float]] = {}


def task_published(headers: dict[str, Any] | None = None, **_: Any) -> None:
    """A task sent during a request (or a task) takes its fields along."""
    carried = logging_context.carried()
    if carried and headers is not None:
        headers[TASK_HEADER] = carried


def task_started(task_id: str | None = None, task: Any = None, **_: Any) -> None:
    if not task_id or task is None:
        return
    sent = getattr(task.request, TASK_HEADER, None)
    fields = sent if isinstance(sent, dict) else {}
    token = logging_context.bind(**fields, task=task.name, task_id=task_id)
    _task_tokens[task_id] = (token, time.perf_counter())


def task_finished(task_id: str | None = None, state: str | None = None, **_: Any) -> None:
    """One line per task run (Celery's own success line is left out, LOGGING), with
    the task's fields still bound; then the context is as it was before the task."""
    entry = _task_tokens.pop(task_id or "", None)
    if entry is None:
        return
    token, started = entry
    elapsed_ms = (time.perf_counter() - started) * 1000
    task_logger.info(
        "%s %.1fms",
        state or "UNKNOWN",
        elapsed_ms,
        extra={"state": state, "duration_ms": round(elapsed_ms, 1)},
    )
    logging_context.reset(token)


def connect_celery_hooks() -> None:
    """Bind each task's fields for its log lines; carry a request's into the tasks it
    sends. Workers keep the project's logging (CELERY_WORKER_HIJACK_ROOT_LOGGER)."""
    from celery import signals  # noqa: PLC0415 - Celery's own hooks, wired at start-up

    signals.before_task_publish.connect(
        task_published, weak=False, dispatch_uid="oms-logging-publish"
    )
    signals.task_prerun.connect(task_started, weak=False, dispatch_uid="oms-logging-prerun")
    signals.task_postrun.connect(task_finished, weak=False, dispatch_uid="oms-logging-postrun")
